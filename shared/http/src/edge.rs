//! The edge every API request passes: a request id, the route's access, the caller, and errors
//! rendered once in the seed's format.
//!
//! [`render`] wraps the whole router (so 404 and 405 come out in the seed's format too) and
//! [`authorize`] wraps each matched route (it needs the route's declared path).

use crate::caller::{self, Caller};
use crate::error::ApiError;
use crate::routes::{self, Access};
use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use lambda_http::request::RequestContext;
use std::sync::atomic::{AtomicU64, Ordering};

/// The id of the request: API Gateway's when it has one, else generated here.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Adds the edge to a router of handlers. `limits`: the stack whose per-user rate limits apply
/// (every deployed function passes its context; `None` only in tests of the edge itself).
pub fn wrap(router: Router, limits: Option<&'static settlepaisa_store::Context>) -> Router {
    let router = match limits {
        Some(ctx) => router.route_layer(axum::middleware::from_fn_with_state(ctx, crate::user_limits::limit)),
        None => router,
    };
    // Layers added later run first: the caller is known before its limit is looked up.
    router
        .route_layer(axum::middleware::from_fn(authorize))
        .fallback(|| async { ApiError::not_found("no such route; see docs/openapi.yaml for the API") })
        .layer(axum::middleware::from_fn(render))
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn gateway_context(req: &Request) -> Option<&lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext> {
    match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => Some(ctx),
        _ => None,
    }
}

fn new_request_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("req_{:012x}{:04x}", (nanos as u64) & 0xffff_ffff_ffff, SEQ.fetch_add(1, Ordering::Relaxed) & 0xffff)
}

async fn render(mut req: Request, next: Next) -> Response {
    let id = gateway_context(&req)
        .and_then(|c| c.request_id.clone())
        .or_else(|| req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string))
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestId(id.clone()));
    // Everything logged while serving the request carries its id.
    let span = tracing::info_span!("request", request_id = id.as_str());
    let mut response = tracing::Instrument::instrument(next.run(req), span).await;
    let mut error = response.extensions_mut().remove::<ApiError>();
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if error.is_none() && !is_json && (status.is_client_error() || status.is_server_error()) {
        // Errors axum answers itself — a wrong method (no body), a path segment that is not UTF-8
        // or a body it refused (plain text) — in the seed's format too. A handler's own JSON body
        // (a 503 health report) is left as it is.
        let text = match axum::body::to_bytes(std::mem::take(response.body_mut()), 4_096).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_string(),
            Err(_) => String::new(),
        };
        error = Some(match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                ApiError::new(status, "METHOD_NOT_ALLOWED", "this route does not take that method")
            }
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                status,
                "PAYLOAD_TOO_LARGE",
                "the body is too large; upload files through POST /api/jobs/{id}/upload",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
                status,
                "UNSUPPORTED_MEDIA_TYPE",
                "send the body as JSON with `Content-Type: application/json`",
            ),
            StatusCode::BAD_REQUEST if !text.is_empty() => {
                ApiError::bad_request(format!("the request is not acceptable: {text}"))
            }
            _ => ApiError::new(status, "REQUEST_FAILED", status.canonical_reason().unwrap_or("request failed")),
        });
    }
    if let Some(error) = error {
        let timestamp = settlepaisa_recon::date::format_utc(now_secs() as i64);
        let mut rendered = (error.status, axum::Json(error.body(&id, &timestamp))).into_response();
        for name in [header::CACHE_CONTROL, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
            if let Some(v) = response.headers().get(&name) {
                rendered.headers_mut().insert(name, v.clone());
            }
        }
        // axum's own 405 lists HEAD beside GET; the gateway routes only declared methods.
        if let Some(allow) = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()) {
            let declared: Vec<&str> = allow.split(',').map(str::trim).filter(|m| *m != "HEAD").collect();
            if let Ok(v) = HeaderValue::from_str(&declared.join(", ")) {
                rendered.headers_mut().insert(header::ALLOW, v);
            }
        }
        if error.status == StatusCode::UNAUTHORIZED {
            rendered.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response = rendered;
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

async fn authorize(mut req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_default();
    let Some(spec) = routes::find(req.method().as_str(), &path) else {
        let declared: Vec<&str> = routes::ROUTES.iter().filter(|r| r.path == path).map(|r| r.method).collect();
        if !declared.is_empty() {
            // HEAD is not declared, so not served (API Gateway routes only the declared methods)
            // and not advertised.
            let mut response = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                "this route does not take that method",
            )
            .into_response();
            if let Ok(allow) = HeaderValue::from_str(&declared.join(", ")) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            return response;
        }
        // A handler mounted without a declared access is never served.
        return ApiError::internal(format!("route {} {path} is not in the route table", req.method())).into_response();
    };
    let needs = match spec.access {
        Access::Public | Access::Webhook => return next.run(req).await,
        Access::Internal(p) => (p, None),
        Access::InternalOrMerchant { internal, merchant } => (internal, Some(merchant)),
    };
    let verdict = gateway_context(&req)
        .and_then(|c| c.authorizer.as_ref())
        .map(|a| a.fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<serde_json::Map<_, _>>());
    let caller: Caller = match caller::from_verdict(verdict.as_ref(), now_secs()) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let allowed = match (caller.is_merchant(), needs) {
        (false, (internal, _)) => caller.require(internal),
        (true, (_, Some(merchant))) => caller.require(merchant),
        (true, (internal, None)) => caller.require(internal),
    };
    if let Err(e) = allowed {
        return e.into_response();
    }
    tracing::debug!(function = spec.function, user = caller.user_id, role = caller.role.as_str(), "authorized");
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    /// A router with a declared internal route, a declared merchant route and an undeclared one,
    /// and a request carrying `verdict` the way API Gateway passes the authorizer's context.
    async fn call(path: &str, verdict: Option<serde_json::Value>) -> (StatusCode, serde_json::Value) {
        let ok = || async { axum::Json(serde_json::json!({ "ok": true })) };
        let app = wrap(
            Router::new()
                .route("/api/sources", get(ok))
                .route(
                    "/api/overview",
                    get(|c: axum::Extension<Caller>| async move {
                        axum::Json(serde_json::json!({ "merchant": c.merchant_id }))
                    }),
                )
                .route("/api/jobs/{id}", get(|axum::extract::Path(id): axum::extract::Path<String>| async move { id }))
                .route("/api/undeclared", get(ok)),
            None,
        );
        let mut context = serde_json::json!({ "requestId": "gw-1", "http": { "method": "GET", "path": path } });
        if let Some(v) = verdict {
            context["authorizer"] = serde_json::json!({ "lambda": v });
        }
        let ctx = serde_json::from_value(context).unwrap();
        let mut req = axum::http::Request::builder().uri(path).body(Body::empty()).unwrap();
        req.extensions_mut().insert(RequestContext::ApiGatewayV2(ctx));
        let response = app.oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    fn allow(role: &str, merchant: Option<&str>) -> serde_json::Value {
        serde_json::json!({ "verdict": "allow", "userId": "u", "role": role, "merchantId": merchant, "validUntil": now_secs() + 600 })
    }

    #[tokio::test]
    async fn the_route_table_decides_and_errors_carry_the_gateway_request_id() {
        assert_eq!(call("/api/sources", Some(allow("sp-finance", None))).await.0, StatusCode::OK);
        let (status, body) = call("/api/jobs/%FF", Some(allow("sp-ops", None))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("VALIDATION_FAILED")));
        assert_eq!(body["error"]["requestId"], "gw-1", "axum's plain-text path rejection, in the seed's format");
        let (status, body) = call("/api/sources", Some(allow("merchant-admin", Some("M1")))).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("INSUFFICIENT_PERMISSIONS")));
        assert_eq!(body["error"]["requestId"], "gw-1");
        let (status, body) = call("/api/overview", Some(allow("merchant-admin", Some("M1")))).await;
        assert_eq!((status, body["merchant"].as_str()), (StatusCode::OK, Some("M1")));
        let (status, body) =
            call("/api/sources", Some(serde_json::json!({ "verdict": "deny", "reason": "the token has expired" })))
                .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"]["message"], crate::caller::UNAUTHENTICATED);
        assert_eq!(call("/api/sources", None).await.0, StatusCode::UNAUTHORIZED, "no verdict: fail closed");
        let (status, body) = call("/api/undeclared", Some(allow("sp-ops", None))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "a route outside the table is never served: {body}");
        assert_eq!(call("/api/nothing-here", Some(allow("sp-ops", None))).await.0, StatusCode::NOT_FOUND);
    }
}
