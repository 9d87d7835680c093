//! The one API error type and its wire form, the seed's:
//! `{"error": {code, message, details, timestamp, requestId, metadata}}`.
//!
//! Handlers return `ApiError`; [`crate::edge`] renders it once, with the request's id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

#[derive(Clone, Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<String>,
    pub metadata: Map<String, Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), details: None, metadata: Map::new() }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_FAILED", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
    }
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "INSUFFICIENT_PERMISSIONS", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "CONFLICT", message)
    }
    /// A failure of ours: logged in full, reported without internals.
    pub fn internal(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "the request could not be completed; retry, and report the request id if it persists",
        )
    }
    /// A dependency (table, bucket, queue) that did not answer.
    pub fn unavailable(err: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %err, "dependency unavailable");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "a storage service did not answer; retry shortly",
        )
    }
    pub fn details(mut self, details: impl Into<String>) -> ApiError {
        self.details = Some(details.into());
        self
    }
    pub fn meta(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.metadata.insert(key.to_string(), value.into());
        self
    }

    /// The seed's error body.
    pub fn body(&self, request_id: &str, timestamp: &str) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "timestamp": timestamp,
                "requestId": request_id,
                "metadata": self.metadata,
            }
        })
    }
}

impl IntoResponse for ApiError {
    /// The status only; the edge writes the body, which needs the request id.
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}
