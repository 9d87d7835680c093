//! JWTs: the seed's claims, minted for development and verified with the algorithm pinned, the
//! signature checked, `exp` required, issuer and audience checked and clock skew bounded. The key
//! comes from configuration, never from the token.
//!
//! Token times are held to what an issuer that follows the seed produces: a token lives at most
//! `JWT_MAX_LIFETIME_SECS` (the seed's 8 h), is not issued (`iat`) or valid from (`nbf`) in the
//! future beyond the leeway, and a header with a `crit` list is refused, since this verifier
//! understands no extension (RFC 7515 §4.1.11).

use crate::permissions::Role;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// The seed's token payload, plus the registered claims we check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    /// `null` for internal users; a merchant user's own merchant.
    pub merchant_id: Option<String>,
    /// Informational: authorization uses the role's permissions, not this list.
    #[serde(default)]
    pub permissions: Vec<String>,
    pub exp: u64,
    pub iat: u64,
    pub iss: String,
    pub aud: String,
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// HS256 signing secret (a secret reference in AWS, an environment value locally).
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    /// Accepted clock skew, seconds (at most 300).
    pub leeway_secs: u64,
    /// The longest a token may live (`exp − iat`), seconds.
    pub max_lifetime_secs: u64,
}

/// The seed's tokens live 8 hours.
pub const DEFAULT_MAX_LIFETIME_SECS: u64 = 8 * 3600;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("a merchant user's token must name its merchant")]
    MerchantWithoutMerchantId,
}

/// The signing key used when none is configured: the local stack's and tests' only.
pub const LOCAL_DEVELOPMENT_SECRET: &str = "settlepaisa-local-development-secret";

impl AuthConfig {
    /// From settings (`JWT_SECRET`, at least 32 bytes, required; `JWT_ISSUER`, `JWT_AUDIENCE`,
    /// `JWT_LEEWAY_SECS` ≤ 300, `JWT_MAX_LIFETIME_SECS` 60 to 86,400), naming the bad one.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<AuthConfig, String> {
        let secret = lookup("JWT_SECRET").filter(|v| !v.is_empty()).ok_or("JWT_SECRET is not set")?;
        AuthConfig::settings(lookup)?.with_secret(secret.into_bytes())
    }

    /// Every setting but the key, which comes from elsewhere (Secrets Manager in AWS): see
    /// [`AuthConfig::with_secret`].
    pub fn settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<AuthConfig, String> {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let leeway_secs = match get("JWT_LEEWAY_SECS") {
            None => 30,
            Some(v) => v.parse().ok().filter(|s| *s <= 300).ok_or(format!("JWT_LEEWAY_SECS `{v}` is not 0 to 300"))?,
        };
        let max_lifetime_secs = match get("JWT_MAX_LIFETIME_SECS") {
            None => DEFAULT_MAX_LIFETIME_SECS,
            Some(v) => v
                .parse()
                .ok()
                .filter(|s| (60..=86_400).contains(s))
                .ok_or(format!("JWT_MAX_LIFETIME_SECS `{v}` is not 60 to 86400"))?,
        };
        Ok(AuthConfig {
            secret: Vec::new(),
            issuer: get("JWT_ISSUER").unwrap_or_else(|| "settlepaisa".into()),
            audience: get("JWT_AUDIENCE").unwrap_or_else(|| "settlepaisa-ops".into()),
            leeway_secs,
            max_lifetime_secs,
        })
    }

    /// These settings with `secret` as the HS256 key (at least 32 bytes).
    pub fn with_secret(self, secret: Vec<u8>) -> Result<AuthConfig, String> {
        if secret.len() < 32 {
            return Err("JWT_SECRET must be at least 32 bytes".into());
        }
        Ok(AuthConfig { secret, ..self })
    }

    fn validation(&self) -> Validation {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.leeway = self.leeway();
        v.validate_exp = true;
        v.validate_nbf = true;
        v
    }

    /// The accepted clock skew, applied to every time check (here and at the edge).
    pub fn leeway(&self) -> u64 {
        self.leeway_secs.min(300)
    }

    /// Checks a bearer token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        refuse_critical_extensions(token)?;
        let data = decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &self.validation()).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                other => AuthError::Invalid(format!("{other:?}")),
            },
        )?;
        let claims = data.claims;
        self.check_times(&claims, now_secs())?;
        if claims.role.is_merchant() && claims.merchant_id.as_deref().is_none_or(str::is_empty) {
            return Err(AuthError::MerchantWithoutMerchantId);
        }
        Ok(claims)
    }

    /// `iat` not ahead of `now`, and a lifetime (from `iat`, and from `now`) within the maximum,
    /// each with the leeway. `exp` and `nbf` against `now` are the JWT library's checks.
    fn check_times(&self, claims: &Claims, now: u64) -> Result<(), AuthError> {
        let leeway = self.leeway();
        if claims.iat > now.saturating_add(leeway) {
            return Err(AuthError::Invalid("iat is in the future".into()));
        }
        let lifetime = claims.exp.checked_sub(claims.iat);
        if lifetime.is_none_or(|l| l > self.max_lifetime_secs)
            || claims.exp > now.saturating_add(self.max_lifetime_secs).saturating_add(leeway)
        {
            return Err(AuthError::Invalid(format!(
                "the token lives longer than {} s (exp − iat)",
                self.max_lifetime_secs
            )));
        }
        Ok(())
    }

    /// A signed token for `role` (development and tests; production tokens come from the IdP).
    pub fn mint(&self, user_id: &str, role: Role, merchant_id: Option<&str>, now: u64, ttl_secs: u64) -> String {
        let claims = Claims {
            user_id: user_id.into(),
            email: format!("{user_id}@settlepaisa.local"),
            role,
            merchant_id: merchant_id.map(str::to_string),
            permissions: role.permissions().iter().map(|p| p.as_str()).collect(),
            exp: now + ttl_secs,
            iat: now,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&self.secret)).unwrap_or_default()
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A header naming extensions the recipient must understand (`crit`) is refused: none is
/// understood here. The header is read before the signature is checked, and reading it decides
/// nothing else.
fn refuse_critical_extensions(token: &str) -> Result<(), AuthError> {
    use base64::Engine;
    let bad = || AuthError::Invalid("the token header is not base64url JSON".into());
    let header = token.split('.').next().ok_or_else(bad)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).map_err(|_| bad())?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if header.contains_key("crit") {
        return Err(AuthError::Invalid("the token header lists critical extensions (crit)".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AuthConfig {
        AuthConfig {
            secret: b"local-dev-secret".to_vec(),
            issuer: "settlepaisa".into(),
            audience: "ops-dashboard".into(),
            leeway_secs: 30,
            max_lifetime_secs: DEFAULT_MAX_LIFETIME_SECS,
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    #[test]
    fn a_minted_token_verifies_with_its_claims() {
        let token = cfg().mint("u1", Role::SpOps, None, now(), 3600);
        let claims = cfg().verify(&token).unwrap();
        assert_eq!(claims.role, Role::SpOps);
        assert!(claims.permissions.contains(&"exceptions:resolve".to_string()));
    }

    #[test]
    fn bad_tokens_are_refused() {
        let c = cfg();
        assert_eq!(c.verify(&c.mint("u1", Role::SpOps, None, now() - 7200, 3600)), Err(AuthError::Expired));
        let other = AuthConfig { secret: b"another".to_vec(), ..cfg() };
        assert!(matches!(c.verify(&other.mint("u1", Role::SpOps, None, now(), 3600)), Err(AuthError::Invalid(_))));
        let wrong_iss = AuthConfig { issuer: "evil".into(), ..cfg() };
        assert!(c.verify(&wrong_iss.mint("u1", Role::SpOps, None, now(), 3600)).is_err());
        let wrong_aud = AuthConfig { audience: "other-app".into(), ..cfg() };
        assert!(c.verify(&wrong_aud.mint("u1", Role::SpOps, None, now(), 3600)).is_err());
        assert_eq!(
            c.verify(&c.mint("m1", Role::MerchantAdmin, None, now(), 3600)),
            Err(AuthError::MerchantWithoutMerchantId)
        );
        assert!(c.verify(&c.mint("m1", Role::MerchantAdmin, Some("MERCH001"), now(), 3600)).is_ok());
        assert!(c.verify("not.a.token").is_err());
    }

    /// A token with these claims (over a minted one's), signed with the config's key and `header`.
    fn signed(c: &AuthConfig, header: serde_json::Value, claims: serde_json::Value) -> String {
        use base64::Engine;
        let mut body = serde_json::to_value(Claims {
            user_id: "u1".into(),
            email: "u1@x".into(),
            role: Role::SpOps,
            merchant_id: None,
            permissions: vec![],
            exp: now() + 600,
            iat: now(),
            iss: c.issuer.clone(),
            aud: c.audience.clone(),
        })
        .unwrap();
        for (k, v) in claims.as_object().unwrap() {
            body[k] = v.clone();
        }
        let b64 = |v: &serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let signing_input = format!("{}.{}", b64(&header), b64(&body));
        let key = EncodingKey::from_secret(&c.secret);
        let sig = jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::HS256).unwrap();
        format!("{signing_input}.{sig}")
    }

    #[test]
    fn token_times_beyond_the_seed_are_refused() {
        let c = cfg();
        let hs = serde_json::json!({ "alg": "HS256", "typ": "JWT" });
        let t = now();
        assert!(c.verify(&signed(&c, hs.clone(), serde_json::json!({}))).is_ok(), "the helper signs a good token");
        for (what, claims) in [
            ("exp ten years ahead", serde_json::json!({ "exp": t + 10 * 365 * 86_400 })),
            ("exp 2^64 − 1", serde_json::json!({ "exp": u64::MAX })),
            ("iat a year ahead", serde_json::json!({ "iat": t + 365 * 86_400, "exp": t + 365 * 86_400 + 60 })),
            ("nbf a day ahead", serde_json::json!({ "nbf": t + 86_400 })),
            ("exp before iat", serde_json::json!({ "iat": t, "exp": t - 1 })),
            ("9 hours", serde_json::json!({ "iat": t - 60, "exp": t + 9 * 3600 - 60 })),
        ] {
            assert!(
                matches!(c.verify(&signed(&c, hs.clone(), claims)), Err(AuthError::Invalid(_))),
                "{what} must be refused"
            );
        }
        // Within the leeway either way: accepted.
        assert!(c.verify(&signed(&c, hs.clone(), serde_json::json!({ "iat": t + 20, "nbf": t + 20 }))).is_ok());
        assert!(c.verify(&signed(&c, hs.clone(), serde_json::json!({ "iat": t - 3600, "exp": t + 7 * 3600 }))).is_ok());
        let crit = serde_json::json!({ "alg": "HS256", "typ": "JWT", "crit": ["exp"] });
        assert!(matches!(c.verify(&signed(&c, crit, serde_json::json!({}))), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn alg_none_is_refused() {
        let c = cfg();
        let token = c.mint("u1", Role::SpOps, None, now(), 3600);
        let payload = token.split('.').nth(1).unwrap();
        // {"alg":"none","typ":"JWT"}
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        assert!(c.verify(&unsigned).is_err());
    }
}
