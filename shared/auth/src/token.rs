//! JWTs: the seed's claims, minted for development and verified with the algorithm pinned, the
//! signature checked, `exp` required, issuer and audience checked and clock skew bounded. The key
//! comes from configuration, never from the token.

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
}

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
    /// `JWT_LEEWAY_SECS` ≤ 300), naming the bad one.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<AuthConfig, String> {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let secret = get("JWT_SECRET").ok_or("JWT_SECRET is not set")?;
        if secret.len() < 32 {
            return Err("JWT_SECRET must be at least 32 bytes".into());
        }
        let leeway_secs = match get("JWT_LEEWAY_SECS") {
            None => 30,
            Some(v) => v.parse().ok().filter(|s| *s <= 300).ok_or(format!("JWT_LEEWAY_SECS `{v}` is not 0 to 300"))?,
        };
        Ok(AuthConfig {
            secret: secret.into_bytes(),
            issuer: get("JWT_ISSUER").unwrap_or_else(|| "settlepaisa".into()),
            audience: get("JWT_AUDIENCE").unwrap_or_else(|| "settlepaisa-ops".into()),
            leeway_secs,
        })
    }

    fn validation(&self) -> Validation {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.leeway = self.leeway_secs.min(300);
        v.validate_exp = true;
        v
    }

    /// Checks a bearer token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let data = decode::<Claims>(token, &DecodingKey::from_secret(&self.secret), &self.validation()).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => AuthError::Expired,
                other => AuthError::Invalid(format!("{other:?}")),
            },
        )?;
        let claims = data.claims;
        if claims.role.is_merchant() && claims.merchant_id.as_deref().is_none_or(str::is_empty) {
            return Err(AuthError::MerchantWithoutMerchantId);
        }
        Ok(claims)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AuthConfig {
        AuthConfig {
            secret: b"local-dev-secret".to_vec(),
            issuer: "settlepaisa".into(),
            audience: "ops-dashboard".into(),
            leeway_secs: 30,
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
