//! The seed's health report: `status`, `timestamp`, `service`, `version`, `checks`; 200 when
//! every check passes, 503 otherwise. The routes are public, so a failed check says only
//! `unhealthy`: the service's error (table names, account ids, role ARNs in an access-denied
//! message) goes to the logs, under the request's id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// `checks`: each dependency's name, the error when it failed (logged, not shown), and how long it
/// took (ms).
pub fn report(service: &str, checks: Vec<(String, Result<(), String>, u64)>) -> Response {
    let healthy = checks.iter().all(|c| c.1.is_ok());
    let mut out = Map::new();
    for (name, result, millis) in checks {
        let v = match result {
            Ok(()) => json!({ "status": "healthy", "latencyMs": millis }),
            Err(e) => {
                tracing::warn!(check = name.as_str(), error = e.as_str(), "health check failed");
                json!({ "status": "unhealthy", "latencyMs": millis })
            }
        };
        out.insert(name, v);
    }
    let body = json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "timestamp": settlepaisa_recon::date::format_utc(crate::edge::now_secs() as i64),
        "service": service,
        "version": env!("CARGO_PKG_VERSION"),
        "checks": Value::Object(out),
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    response
}
