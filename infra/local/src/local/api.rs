//! The HTTP API on one local port: every route of every service through the same authorizer and
//! handlers the Lambda functions run, behind a small stand-in for API Gateway (request id, the
//! Lambda authorizer on every protected request — the template gives it no identity source and
//! no cache —, the request context the functions read).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use settlepaisa_auth::AuthConfig;
use settlepaisa_http::routes::{RouteSpec, ROUTES};
use settlepaisa_pipeline::Context;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The template's `FrontendOrigin` default: the seed's dashboard on port 5174.
pub const DEFAULT_FRONTEND_ORIGIN: &str = "http://localhost:5174";

#[derive(Clone)]
struct Gateway {
    auth: Arc<AuthConfig>,
    /// The one origin CORS admits, as the template's `CorsConfiguration` does.
    origin: Arc<str>,
}

/// Every service's routes, wrapped once by the edge, behind the gateway.
pub fn router(ctx: &'static Context, auth: AuthConfig) -> Router {
    let routes = Router::new()
        .merge(settlepaisa_overview::routes(ctx, None))
        .merge(settlepaisa_recon_api::routes(ctx, None))
        .merge(settlepaisa_mock_pg::routes(ctx, None))
        .merge(settlepaisa_mock_bank::routes(ctx, None))
        .merge(settlepaisa_settlement::api::routes(ctx, None))
        .merge(settlepaisa_merchant::routes(ctx, None))
        .merge(settlepaisa_chargeback::routes(ctx, None))
        .merge(settlepaisa_pg_ingestion::routes(ctx, None))
        .merge(settlepaisa_connectors::routes(ctx, None))
        .merge(settlepaisa_governance::routes(ctx, None));
    let origin = std::env::var("FRONTEND_ORIGIN")
        .ok()
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| DEFAULT_FRONTEND_ORIGIN.into());
    let gateway = Gateway { auth: Arc::new(auth), origin: origin.into() };
    settlepaisa_http::edge::wrap(routes, Some(ctx)).layer(axum::middleware::from_fn_with_state(gateway, gateway_layer))
}

/// [`router`] behind the stage's throttling as the template declares it (`DefaultRouteSettings`,
/// each route's `RouteSettings`): a token bucket per route shared by every caller, a 429 with
/// API Gateway's own body when it is empty, before the authorizer or any function runs. What
/// `settlepaisa local up` serves.
pub fn throttled_router(ctx: &'static Context, auth: AuthConfig, spec: &super::template::StackSpec) -> Router {
    let mut by_route = std::collections::HashMap::new();
    for f in &spec.functions {
        for e in &f.events {
            if let super::template::EventSpec::Http { method, path, throttle: Some(t), .. } = e {
                by_route.insert(format!("{method} {path}"), *t);
            }
        }
    }
    let throttles =
        RouteThrottles { default: spec.default_throttle, by_route: Arc::new(by_route), buckets: Default::default() };
    router(ctx, auth).layer(axum::middleware::from_fn_with_state(throttles, throttle_layer))
}

#[derive(Clone)]
struct RouteThrottles {
    default: Option<super::template::Throttle>,
    by_route: Arc<std::collections::HashMap<String, super::template::Throttle>>,
    /// Route key → (tokens, when last filled).
    buckets: Arc<std::sync::Mutex<std::collections::HashMap<String, (f64, std::time::Instant)>>>,
}

async fn throttle_layer(State(t): State<RouteThrottles>, req: Request, next: Next) -> Response {
    let key = route_of(req.method().as_str(), req.uri().path())
        .map_or_else(|| "$default".to_string(), |r| format!("{} {}", r.method, r.path));
    let Some(limit) = t.by_route.get(&key).copied().or(t.default) else { return next.run(req).await };
    let allowed = {
        let mut buckets = t.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = std::time::Instant::now();
        let (tokens, at) = buckets.entry(key).or_insert((f64::from(limit.burst), now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * limit.rate).min(f64::from(limit.burst));
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    };
    if allowed {
        next.run(req).await
    } else {
        (StatusCode::TOO_MANY_REQUESTS, axum::Json(serde_json::json!({ "message": "Too Many Requests" })))
            .into_response()
    }
}

/// One function's router, as its Lambda binary serves it.
pub fn function_router(ctx: &'static Context, function: &str) -> Option<Router> {
    use settlepaisa_http::routes::{by_function, Service};
    let routes = match by_function(function)?.service {
        Service::Overview => settlepaisa_overview::routes(ctx, Some(function)),
        Service::Recon => settlepaisa_recon_api::routes(ctx, Some(function)),
        Service::MockPg => settlepaisa_mock_pg::routes(ctx, Some(function)),
        Service::MockBank => settlepaisa_mock_bank::routes(ctx, Some(function)),
        Service::Settlement => settlepaisa_settlement::api::routes(ctx, Some(function)),
        Service::Merchant => settlepaisa_merchant::routes(ctx, Some(function)),
        Service::Chargeback => settlepaisa_chargeback::routes(ctx, Some(function)),
        Service::PgIngestion => settlepaisa_pg_ingestion::routes(ctx, Some(function)),
        Service::Connectors => settlepaisa_connectors::routes(ctx, Some(function)),
        Service::Governance => settlepaisa_governance::routes(ctx, Some(function)),
    };
    Some(settlepaisa_http::edge::wrap(routes, Some(ctx)))
}

/// The declared route a request path falls under (`{x}` matches one segment).
pub fn route_of(method: &str, path: &str) -> Option<&'static RouteSpec> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ROUTES.iter().find(|r| {
        let pattern: Vec<&str> = r.path.split('/').collect();
        r.method.eq_ignore_ascii_case(method)
            && pattern.len() == parts.len()
            && pattern.iter().zip(&parts).all(|(p, x)| (p.starts_with('{') && !x.is_empty()) || p == x)
    })
}

fn request_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:x}-{:06}", (nanos as u64) >> 20, SEQ.fetch_add(1, Ordering::Relaxed) % 1_000_000)
}

async fn gateway_layer(State(gw): State<Gateway>, req: Request, next: Next) -> Response {
    let allowed_origin = req
        .headers()
        .get("origin")
        .and_then(|o| o.to_str().ok())
        .filter(|o| *o == &*gw.origin)
        .and_then(|o| axum::http::HeaderValue::from_str(o).ok());
    // CORS preflight, answered by the gateway as an HTTP API with a CorsConfiguration does.
    if req.method() == axum::http::Method::OPTIONS && req.headers().contains_key("access-control-request-method") {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Some(o) = allowed_origin {
            let h = r.headers_mut();
            h.insert("access-control-allow-origin", o);
            h.insert("access-control-allow-methods", axum::http::HeaderValue::from_static("GET,POST,OPTIONS"));
            h.insert(
                "access-control-allow-headers",
                axum::http::HeaderValue::from_static("authorization,content-type,cache-control"),
            );
            h.insert("access-control-max-age", axum::http::HeaderValue::from_static("600"));
        }
        return r;
    }
    let mut response = route_request(gw, req, next).await;
    if let Some(o) = allowed_origin {
        let h = response.headers_mut();
        h.insert("access-control-allow-origin", o);
        h.insert("access-control-expose-headers", axum::http::HeaderValue::from_static("x-request-id,x-cache"));
    }
    response
}

async fn route_request(gw: Gateway, mut req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let route = route_of(&method, &path);
    let protected = route.is_some_and(|r| r.access.needs_token());
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    // No identity source: the authorizer runs with or without the header, and the edge answers a
    // refusal in the seed's format.
    let verdict = protected.then(|| settlepaisa_authorizer::decide(&gw.auth, header.as_deref()));
    let context = serde_json::json!({
        "requestId": request_id(),
        "routeKey": route.map(|r| format!("{} {}", r.method, r.path)).unwrap_or_else(|| "$default".into()),
        "stage": "$default",
        "timeEpoch": settlepaisa_http::edge::now_secs() * 1000,
        "http": { "method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "" },
        "authorizer": verdict.map(|v| serde_json::json!({ "lambda": v })),
    });
    match serde_json::from_value::<ApiGatewayV2httpRequestContext>(context) {
        Ok(ctx) => {
            req.extensions_mut().insert(RequestContext::ApiGatewayV2(ctx));
        }
        Err(e) => tracing::error!(error = %e, "could not build the request context"),
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_find_their_declared_route() {
        assert_eq!(
            super::route_of("GET", "/api/jobs/JOB-1/exceptions").map(|r| r.function),
            Some("list-job-exceptions")
        );
        assert_eq!(
            super::route_of("POST", "/api/exceptions/J:EXC-1/resolve").map(|r| r.function),
            Some("resolve-exception")
        );
        assert_eq!(super::route_of("GET", "/health").map(|r| r.function), Some("overview-health"));
        assert!(super::route_of("DELETE", "/api/jobs/1").is_none());
        assert!(super::route_of("GET", "/api/jobs//exceptions").is_none());
    }
}
