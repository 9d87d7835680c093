//! Per-user rate limits at the edge: after the caller is known, one token from the bucket of
//! (user, route class) in the rate limits table; over the limit, 429 in the seed's format with
//! `Retry-After`. Public and webhook routes have no user: the gateway's per-route throttling
//! bounds them (infra/template.yaml, docs/rate-limits.md).
//!
//! When the table cannot be reached the request goes through (logged): a limiter that fails
//! closed would turn a DynamoDB blip into an outage of the whole API.

use crate::caller::Caller;
use crate::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use settlepaisa_auth::rate_limit::RouteClass;

pub async fn limit(State(ctx): State<&'static settlepaisa_store::Context>, req: Request, next: Next) -> Response {
    let Some(caller) = req.extensions().get::<Caller>() else { return next.run(req).await };
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str()).unwrap_or_default();
    let class = RouteClass::of(req.method().as_str(), path);
    let Some(limit) = ctx.user_rate_limits.of(class) else { return next.run(req).await };
    let key = format!("{}#{}", caller.user_id, class.as_str());
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let table = &ctx.resources.rate_limits_table;
    match settlepaisa_store::rate_limits::take(&ctx.clients.dynamodb, table, &key, limit, now_ms).await {
        Ok(None) => next.run(req).await,
        Ok(Some(secs)) => {
            tracing::info!(user = caller.user_id, class = class.as_str(), retry_after = secs, "rate limited");
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITED",
                format!(
                    "too many {} requests: {} a minute (bursts of {}) per user; retry after {secs} s",
                    class.as_str(),
                    limit.per_minute,
                    limit.burst
                ),
            )
            .meta("retryAfterSeconds", secs)
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate limits table unreachable; the request goes through");
            next.run(req).await
        }
    }
}
