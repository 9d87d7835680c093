//! Request input with errors a person can act on: JSON bodies (unknown fields refused by the
//! types' `deny_unknown_fields`), query strings and paging limits.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body; a bad one is a 400 naming what is wrong and where.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(rejection) => {
                Err(ApiError::bad_request(format!("the request body is not acceptable: {}", rejection.body_text())))
            }
        }
    }
}

/// Query parameters; unknown or malformed ones are a 400.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rejection) => {
                Err(ApiError::bad_request(format!("the query string is not acceptable: {}", rejection.body_text())))
            }
        }
    }
}

pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

/// A page size: 1 to [`MAX_PAGE`], [`DEFAULT_PAGE`] when absent.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::bad_request(format!("limit must be 1 to {MAX_PAGE}, not {n}"))),
    }
}

/// A path or body identifier: printable, no separators that could reach another key.
pub fn identifier<'a>(what: &str, value: &'a str) -> Result<&'a str, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(value)
    } else {
        Err(ApiError::bad_request(format!("{what} must be 1 to 128 letters, digits, `-`, `_`, `.` or `:`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limits_are_bounded() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_PAGE);
        assert_eq!(page_limit(Some(500)).unwrap(), 500);
        assert_eq!(page_limit(Some(0)).unwrap_err().status, 400);
        assert_eq!(page_limit(Some(501)).unwrap_err().status, 400);
    }

    #[test]
    fn identifiers_cannot_smuggle_key_separators() {
        assert!(identifier("id", "JOB-20261101-20261102-0a1b2c3d").is_ok());
        for bad in ["", "a/b", "a#b", "a b", &"x".repeat(129)] {
            assert!(identifier("id", bad).is_err(), "{bad}");
        }
    }
}
