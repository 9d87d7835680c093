//! The Lambda authorizer of the HTTP API (payload 2.0, simple responses).
//!
//! It checks the bearer token — HS256 only, signature, `exp`, issuer, audience, bounded skew,
//! key from configuration — and answers with its verdict in the context (see
//! `settlepaisa_http::caller` for why a refusal travels as a verdict instead of a bare 403).
//! API Gateway calls it on every request (the template gives it no identity source and no cache),
//! with or without an `Authorization` header.

use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request};
use settlepaisa_auth::{AuthConfig, AuthError};

/// The token of an `Authorization: Bearer <jwt>` header.
pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| AuthError::Invalid("no Authorization header; send `Authorization: Bearer <jwt>`".into()))?;
    match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(AuthError::Invalid("the Authorization header is not `Bearer <jwt>`".into())),
    }
}

/// The verdict for one request's `Authorization` header.
pub fn decide(config: &AuthConfig, authorization: Option<&str>) -> serde_json::Value {
    let result = bearer(authorization).and_then(|token| config.verify(token));
    if let Err(e) = &result {
        tracing::info!(reason = %e, "token refused");
    }
    settlepaisa_http::caller::verdict(&result, config.leeway())
}

pub fn handle(
    config: &AuthConfig,
    event: &ApiGatewayV2CustomAuthorizerV2Request,
) -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let header = event
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .or_else(|| event.identity_source.as_ref().and_then(|s| s.first()).map(String::as_str));
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = decide(config, header);
    response
}

/// The answer when the signing key cannot be had: a refusal for the edge to turn into a 401.
pub fn refuse_all() -> ApiGatewayV2CustomAuthorizerSimpleResponse {
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = settlepaisa_http::caller::verdict(&Err(AuthError::Invalid("signing key unavailable".into())), 0);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_auth::Role;

    fn config() -> AuthConfig {
        AuthConfig::from_lookup(&|k| (k == "JWT_SECRET").then(|| "k".repeat(32))).unwrap()
    }

    fn event(authorization: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
        serde_json::from_value(serde_json::json!({
            "version": "2.0", "type": "REQUEST", "routeKey": "GET /api/overview",
            "identitySource": [authorization],
            "headers": {"authorization": authorization},
            "requestContext": {"http": {"method": "GET", "path": "/api/overview"}, "requestId": "r1"}
        }))
        .unwrap()
    }

    #[test]
    fn a_good_token_passes_its_claims() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let token = config().mint("u1", Role::SpFinance, None, now, 3600);
        let r = handle(&config(), &event(&format!("Bearer {token}")));
        assert!(r.is_authorized);
        assert_eq!(r.context["verdict"], "allow");
        assert_eq!(r.context["role"], "sp-finance");
    }

    #[test]
    fn bad_headers_get_a_deny_verdict_with_a_reason() {
        let future = config().mint("u1", Role::SpFinance, None, 1_900_000_000, 3600);
        for header in ["", "Basic abc", "Bearer ", "Bearer not.a.jwt", &format!("Bearer {future}")] {
            let r = handle(&config(), &event(header));
            assert_eq!(r.context["verdict"], "deny", "{header}");
            assert!(r.context["reason"].as_str().is_some_and(|s| !s.is_empty()));
        }
    }
}
