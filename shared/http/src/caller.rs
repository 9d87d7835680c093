//! Who is calling, as the authorizer vouched for it, and what that caller may see.
//!
//! API Gateway (HTTP API) answers an authorizer's `isAuthorized: false` with a bare 403 that cannot
//! be reshaped, so the authorizer always lets the call through with its *verdict* in the context —
//! the verified claims, or why the token was refused — and the edge turns a refusal into a 401 in
//! the seed's format. A request without any verdict is refused: the edge fails closed.
//!
//! Every refusal answers the same [`UNAUTHENTICATED`] message: which check failed (a parser's
//! complaint, a missing claim, a wrong issuer) helps an attacker more than a client, so the
//! reason goes to the logs with the request id.

use crate::error::ApiError;
use serde_json::{json, Map, Value};
use settlepaisa_auth::{AuthError, Claims, Permission, Role};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    /// Set for merchant users only.
    pub merchant_id: Option<String>,
    /// The token's expiry plus the authorizer's leeway (epoch seconds): a verdict is not used
    /// past it, with the same leeway the authorizer applied.
    pub valid_until: u64,
}

/// What every 401 says.
pub const UNAUTHENTICATED: &str =
    "send a valid bearer token for this API: `Authorization: Bearer <jwt>`, signed by its issuer and not expired";

/// The authorizer's context for a verified token (valid until `exp` + `leeway_secs`), or for a
/// refused one.
pub fn verdict(result: &Result<Claims, AuthError>, leeway_secs: u64) -> Value {
    match result {
        Ok(c) => {
            let mut ctx = json!({
                "verdict": "allow",
                "userId": c.user_id,
                "email": c.email,
                "role": c.role.as_str(),
                "validUntil": c.exp.saturating_add(leeway_secs),
            });
            if let Some(m) = &c.merchant_id {
                ctx["merchantId"] = json!(m);
            }
            ctx
        }
        Err(e) => json!({ "verdict": "deny", "reason": e.to_string() }),
    }
}

/// The caller from the authorizer's context; 401 when there is none or it refused the token.
pub fn from_verdict(ctx: Option<&Map<String, Value>>, now: u64) -> Result<Caller, ApiError> {
    let refuse = |reason: &str| {
        tracing::info!(reason, "request refused: 401");
        ApiError::unauthorized(UNAUTHENTICATED)
    };
    let Some(ctx) = ctx.filter(|c| !c.is_empty()) else {
        return Err(refuse("no authorizer verdict"));
    };
    let text = |k: &str| ctx.get(k).and_then(Value::as_str).map(str::to_string);
    if text("verdict").as_deref() != Some("allow") {
        return Err(refuse(&text("reason").unwrap_or_else(|| "the token was refused".into())));
    }
    let role = text("role").as_deref().and_then(Role::parse).ok_or_else(|| refuse("the token names no known role"))?;
    // Context values may arrive as strings or numbers depending on the gateway's serialization.
    let valid_until =
        ctx.get("validUntil").and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))).unwrap_or(0);
    // The library accepts until `now > exp + leeway`; so does the edge.
    if valid_until < now {
        return Err(refuse("the token has expired"));
    }
    let merchant_id = text("merchantId").filter(|m| !m.is_empty());
    if role.is_merchant() && merchant_id.is_none() {
        return Err(refuse("a merchant user's token must name its merchant"));
    }
    Ok(Caller {
        user_id: text("userId").unwrap_or_default(),
        email: text("email").unwrap_or_default(),
        role,
        merchant_id: if role.is_merchant() { merchant_id } else { None },
        valid_until,
    })
}

impl Caller {
    pub fn is_merchant(&self) -> bool {
        self.role.is_merchant()
    }

    /// 403 unless the caller's role has `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("role {} does not have {}", self.role.as_str(), permission.as_str()))
                .meta("requiredPermission", permission.as_str()))
        }
    }

    /// The merchant whose data a request may read. Staff read what they ask for (all merchants
    /// when they name none); a merchant user reads its own merchant, and naming another is refused
    /// without saying anything about it.
    pub fn merchant_scope(&self, requested: Option<&str>) -> Result<Option<String>, ApiError> {
        if requested.is_some_and(str::is_empty) {
            return Err(ApiError::bad_request("merchantId is empty; leave it out for every merchant"));
        }
        match (&self.merchant_id, requested) {
            (None, requested) => Ok(requested.map(str::to_string)),
            (Some(own), None) => Ok(Some(own.clone())),
            (Some(own), Some(asked)) if asked == own => Ok(Some(own.clone())),
            (Some(_), Some(_)) => Err(ApiError::forbidden("a merchant user can only read its own merchant's data")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: Role, merchant: Option<&str>) -> Claims {
        Claims {
            user_id: "u1".into(),
            email: "u1@x".into(),
            role,
            merchant_id: merchant.map(str::to_string),
            permissions: vec![],
            exp: 2_000,
            iat: 1_000,
            iss: "i".into(),
            aud: "a".into(),
        }
    }

    fn round_trip(result: Result<Claims, AuthError>, now: u64) -> Result<Caller, ApiError> {
        let v = verdict(&result, 30);
        from_verdict(v.as_object(), now)
    }

    #[test]
    fn verified_claims_survive_the_gateway() {
        let c = round_trip(Ok(claims(Role::MerchantAdmin, Some("M1"))), 1_500).unwrap();
        assert_eq!((c.role, c.merchant_id.as_deref(), c.user_id.as_str()), (Role::MerchantAdmin, Some("M1"), "u1"));
    }

    #[test]
    fn refused_missing_and_outlived_verdicts_are_401_with_one_message() {
        for result in [
            round_trip(Err(AuthError::Expired), 1_500),
            round_trip(Err(AuthError::Invalid("Json(Error(\"unknown variant `none`\"))".into())), 1_500),
            round_trip(Ok(claims(Role::SpOps, None)), 2_031),
            from_verdict(None, 0),
            from_verdict(Some(&Map::new()), 0),
        ] {
            let e = result.unwrap_err();
            assert_eq!((e.status.as_u16(), e.message.as_str()), (401, UNAUTHENTICATED));
        }
    }

    #[test]
    fn the_edge_applies_the_authorizers_leeway() {
        // exp 2,000 with 30 s of leeway: usable through 2,030, as the JWT library accepts it
        // (expired once now > exp + leeway).
        assert!(round_trip(Ok(claims(Role::SpOps, None)), 2_030).is_ok());
        assert!(round_trip(Ok(claims(Role::SpOps, None)), 2_031).is_err());
    }

    #[test]
    fn merchant_users_are_confined_and_staff_are_not() {
        let m = round_trip(Ok(claims(Role::MerchantAdmin, Some("M1"))), 1_500).unwrap();
        assert_eq!(m.merchant_scope(None).unwrap().as_deref(), Some("M1"));
        assert_eq!(m.merchant_scope(Some("M1")).unwrap().as_deref(), Some("M1"));
        let refused = m.merchant_scope(Some("M2")).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(!refused.message.contains("M2"));
        let ops = round_trip(Ok(claims(Role::SpOps, Some("M9"))), 1_500).unwrap();
        assert_eq!(ops.merchant_id, None, "staff are never confined by a stray merchantId");
        assert_eq!(ops.merchant_scope(Some("M2")).unwrap().as_deref(), Some("M2"));
        assert_eq!(ops.merchant_scope(None).unwrap(), None);
    }
}
