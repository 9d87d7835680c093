//! The seed's health report: `status`, `timestamp`, `service`, `version`, `checks`; 200 when
//! every check passes, 503 otherwise.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// One dependency's check: its name, and the error when it failed.
pub struct Check {
    pub name: String,
    pub result: Result<(), String>,
    pub millis: u64,
}

pub fn report(service: &str, checks: Vec<Check>) -> Response {
    let healthy = checks.iter().all(|c| c.result.is_ok());
    let mut out = Map::new();
    for c in checks {
        let v = match c.result {
            Ok(()) => json!({ "status": "healthy", "latencyMs": c.millis }),
            Err(e) => json!({ "status": "unhealthy", "latencyMs": c.millis, "error": e }),
        };
        out.insert(c.name, v);
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
