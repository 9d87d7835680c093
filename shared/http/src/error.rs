//! The one API error type and its wire form, the seed's:
//! `{"error": {code, message, details, timestamp, requestId, metadata}}`.
//!
//! Handlers return `ApiError`; [`crate::edge`] renders it once, with the request's id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

impl From<settlepaisa_aws::AwsError> for ApiError {
    fn from(err: settlepaisa_aws::AwsError) -> ApiError {
        ApiError::store(err)
    }
}

/// A store call that failed is the store being unavailable ([`ApiError::store`]); an item the
/// store cannot read, or a setting that is wrong, is ours: 500, logged, never shown.
impl From<settlepaisa_store::StoreError> for ApiError {
    fn from(err: settlepaisa_store::StoreError) -> ApiError {
        match err {
            settlepaisa_store::StoreError::Aws(e) => ApiError::store(e),
            other => ApiError::internal(other),
        }
    }
}

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
    /// A storage call that failed: a dependency that did not answer (503), or — when the store
    /// refused the request as invalid (DynamoDB's `ValidationException`: an item too large, an
    /// expression of ours) — our own fault (500).
    pub fn store(err: settlepaisa_aws::AwsError) -> ApiError {
        if err.is_validation() {
            return ApiError::internal(err);
        }
        ApiError::unavailable(err)
    }
    /// A listing's query that failed: as [`ApiError::store`], except that a request the store
    /// refuses as invalid there comes from what the client asked for (a position or a filter
    /// value): 400, never 503.
    pub fn paging(err: settlepaisa_aws::AwsError) -> ApiError {
        if err.is_validation() {
            tracing::warn!(error = %err, "store refused a listing's query as invalid");
            return ApiError::bad_request(
                "the request asks for something the store cannot serve (a paging position or filter value); \
                 change it or start again without the cursor",
            );
        }
        ApiError::unavailable(err)
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

    /// The seed's error body. Messages and details are cut to a bounded length, so input echoed
    /// into them (an id, a value) cannot make a response of any size.
    pub fn body(&self, request_id: &str, timestamp: &str) -> Value {
        json!({
            "error": {
                "code": self.code,
                "message": fit(&self.message, MAX_MESSAGE_CHARS),
                "details": self.details.as_deref().map(|d| fit(d, MAX_MESSAGE_CHARS)),
                "timestamp": timestamp,
                "requestId": request_id,
                "metadata": self.metadata,
            }
        })
    }
}

/// The longest message or details an error body carries, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// `text`, cut at `max` characters with an ellipsis.
pub fn fit(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_input_is_cut() {
        let huge = format!("counterpart `{}` is not open", "x".repeat(50_000));
        let body = ApiError::conflict(huge).details("d".repeat(10_000)).body("r", "t").to_string();
        assert!(body.len() < 1_000, "{} bytes", body.len());
        assert_eq!(fit("short", 300), "short");
        assert_eq!(fit("ééééé", 2), "éé…");
    }

    #[test]
    fn a_listings_validation_errors_are_the_clients_and_others_are_ours() {
        let refused = || {
            settlepaisa_aws::AwsError::new(
                "Query",
                "service error: ValidationException: The provided starting key is invalid",
            )
        };
        assert_eq!(ApiError::paging(refused()).status, StatusCode::BAD_REQUEST);
        assert_eq!(ApiError::store(refused()).status, StatusCode::INTERNAL_SERVER_ERROR);
        let down = settlepaisa_aws::AwsError::new("Query", "dispatch failure: Connection refused (os error 111)");
        let e = ApiError::store(down);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!e.message.contains("refused"));
    }
}
