//! Pagination cursors, signed. A cursor is the store's position (JSON) and an HMAC-SHA256 over
//! that position *and* what the page was asked for: the caller (user, role, merchant), the route
//! and every filter. A cursor replayed by another caller, on another route or with other filters,
//! or altered in any byte, is a 400 — never a query the store refuses, never a read of someone
//! else's position.
//!
//! The key is `CURSOR_SECRET` (at least 32 bytes; the stack generates it in AWS and gives it to the
//! listing functions only). A process that was not given one (the local stack, tests) signs with a
//! random key of its own, which is what a single process needs. In Lambda, instances must agree:
//! [`configure_from_env`] leaves a function without the secret unable to make or open a cursor
//! (500, logged), never falling back to a key of its own.

use crate::caller::Caller;
use crate::error::ApiError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::sync::OnceLock;

/// Bytes of the tag kept (128 bits).
const TAG_BYTES: usize = 16;
/// A cursor longer than this was not made here.
const MAX_CURSOR_CHARS: usize = 2_048;

/// The signing key, or its absence in a Lambda function that was given none.
static KEY: OnceLock<Option<Vec<u8>>> = OnceLock::new();

/// Sets the signing key from `CURSOR_SECRET` at a Lambda function's start: a function without it
/// (unset or empty) serves every route but a listing's cursors; a secret too short is an error
/// naming it.
pub fn configure_from_env() -> Result<(), String> {
    match std::env::var("CURSOR_SECRET").ok().filter(|s| !s.is_empty()) {
        Some(secret) => configure(secret.as_bytes()),
        None => {
            let _ = KEY.set(None);
            Ok(())
        }
    }
}

/// A Lambda function that issues no cursors: any it is asked to sign is a 500.
pub fn configure_none() {
    let _ = KEY.set(None);
}

/// Sets the signing key (at least 32 bytes). A key already set stays.
pub fn configure(secret: &[u8]) -> Result<(), String> {
    if secret.len() < 32 {
        return Err("CURSOR_SECRET must be at least 32 bytes".into());
    }
    let _ = KEY.set(Some(secret.to_vec()));
    Ok(())
}

fn key() -> Result<&'static [u8], ApiError> {
    KEY.get_or_init(|| Some((0..32).map(|_| fastrand::u8(..)).collect()))
        .as_deref()
        .ok_or_else(|| ApiError::internal("CURSOR_SECRET is not configured for this function"))
}

/// What a page was asked for: the caller, the route and the filters, in a fixed order.
#[derive(Clone, Debug)]
pub struct Scope(String);

impl Scope {
    pub fn new(caller: &Caller, route: &str) -> Scope {
        Scope(format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}",
            caller.user_id,
            caller.role.as_str(),
            caller.merchant_id.as_deref().unwrap_or(""),
            route
        ))
    }

    /// Adds a filter (absent and empty are different filters).
    pub fn filter(mut self, name: &str, value: Option<impl std::fmt::Display>) -> Scope {
        match value {
            Some(v) => self.0.push_str(&format!("\u{1e}{name}={v}")),
            None => self.0.push_str(&format!("\u{1e}{name}")),
        }
        self
    }

    fn mac(&self, payload: &str) -> Result<Hmac<Sha256>, ApiError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key()?).map_err(ApiError::internal)?;
        mac.update(b"settlepaisa-cursor-v1\n");
        mac.update(self.0.as_bytes());
        mac.update(b"\n");
        mac.update(payload.as_bytes());
        Ok(mac)
    }
}

/// The cursor for `position` under `scope`.
pub fn seal(scope: &Scope, position: &Value) -> Result<String, ApiError> {
    let payload = position.to_string();
    let tag = scope.mac(&payload)?.finalize().into_bytes();
    Ok(format!("{}.{}", URL_SAFE_NO_PAD.encode(&payload), URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])))
}

/// The position a cursor holds, if this API made it for this scope.
pub fn open(scope: &Scope, cursor: &str) -> Result<Value, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "cursor is not one this API returned for this request; send the same filters, or start again without it",
        )
    };
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(bad());
    }
    let (payload, tag) = cursor.split_once('.').ok_or_else(bad)?;
    let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?).map_err(|_| bad())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| bad())?;
    if tag.len() != TAG_BYTES {
        return Err(bad());
    }
    // Constant time, over the kept prefix.
    scope.mac(&payload)?.verify_truncated_left(&tag).map_err(|_| bad())?;
    serde_json::from_str(&payload).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_auth::Role;

    fn caller(user: &str, role: Role, merchant: Option<&str>) -> Caller {
        Caller {
            user_id: user.into(),
            email: String::new(),
            role,
            merchant_id: merchant.map(str::to_string),
            valid_until: u64::MAX,
        }
    }

    #[test]
    fn a_cursor_opens_only_for_its_caller_route_and_filters() {
        let ops = caller("u1", Role::SpOps, None);
        let scope =
            Scope::new(&ops, "list-transactions").filter("status", Some("captured")).filter("merchantId", None::<&str>);
        let position = serde_json::json!({ "p": "2026-10-01#03", "k": { "txn_id": { "S": "T1" } } });
        let cursor = seal(&scope, &position).unwrap();
        assert_eq!(open(&scope, &cursor).unwrap(), position);
        let others = [
            Scope::new(&caller("u2", Role::SpOps, None), "list-transactions")
                .filter("status", Some("captured"))
                .filter("merchantId", None::<&str>),
            Scope::new(&caller("u1", Role::MerchantAdmin, Some("M1")), "list-transactions")
                .filter("status", Some("captured"))
                .filter("merchantId", None::<&str>),
            Scope::new(&ops, "list-job-exceptions")
                .filter("status", Some("captured"))
                .filter("merchantId", None::<&str>),
            Scope::new(&ops, "list-transactions").filter("status", None::<&str>).filter("merchantId", None::<&str>),
            Scope::new(&ops, "list-transactions").filter("status", Some("captured")).filter("merchantId", Some("")),
        ];
        for other in &others {
            assert_eq!(open(other, &cursor).unwrap_err().status, 400, "{other:?}");
        }
    }

    #[test]
    fn altered_and_foreign_cursors_are_400() {
        let scope = Scope::new(&caller("u1", Role::SpOps, None), "r");
        let cursor = seal(&scope, &serde_json::json!({ "p": 1 })).unwrap();
        let (payload, tag) = cursor.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(r#"{"p":2}"#);
        for bad in [
            String::new(),
            "zz".into(),
            "7b22".into(),
            payload.to_string(),
            format!("{forged_payload}.{tag}"),
            format!("{payload}.{}", &tag[..tag.len() - 2]),
            format!("{payload}."),
            format!("{payload}.{tag}A"),
            "a".repeat(5_000),
        ] {
            assert_eq!(open(&scope, &bad).unwrap_err().status, 400, "{bad}");
        }
    }
}
