//! Request input with errors a person can act on: JSON bodies (unknown fields refused by the
//! types' `deny_unknown_fields`), query strings and paging limits.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// A JSON body; a bad one is a 400 naming what is wrong and where.
///
/// JSON has one number type: `13.0` is the integer 13 to JSON Schema (and to the OpenAPI spec),
/// so an integral number written with a fraction is read as that integer. `13.5` stays a
/// fraction, and a field that wants an integer refuses it.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bad = |why: String| ApiError::bad_request(format!("the request body is not acceptable: {why}"));
        let axum::Json(mut value) =
            axum::Json::<serde_json::Value>::from_request(req, state).await.map_err(|r| bad(r.body_text()))?;
        integral_numbers(&mut value);
        // The failing field's path, as axum's own JSON extractor names it.
        serde_path_to_error::deserialize(value).map(Body).map_err(|e| bad(format!("{}: {}", e.path(), e.inner())))
    }
}

/// A JSON body that may be left out (an empty body is `None`); one that is sent must be JSON of
/// the type, as [`Body`].
pub struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bad = |why: String| ApiError::bad_request(format!("the request body is not acceptable: {why}"));
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| bad(r.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(None));
        }
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        integral_numbers(&mut value);
        serde_path_to_error::deserialize(value)
            .map(|v| OptionalBody(Some(v)))
            .map_err(|e| bad(format!("{}: {}", e.path(), e.inner())))
    }
}

/// Rewrites every number that is a whole number within `i64` or `u64` but written as a float
/// (`13.0`, `1e3`, `1e19`) as that integer.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // A whole f64 in these ranges converts exactly.
                if f.fract() == 0.0 && f.abs() < TWO_63 {
                    *value = Value::from(f as i64);
                } else if f.fract() == 0.0 && (TWO_63..2.0 * TWO_63).contains(&f) {
                    *value = Value::from(f as u64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// The first and last business dates the API takes: a date outside them is a typing mistake.
pub const EARLIEST_DATE: &str = "2000-01-01";
pub const LATEST_DATE: &str = "2099-12-31";

/// A business date (`YYYY-MM-DD`) within [`EARLIEST_DATE`]..=[`LATEST_DATE`].
pub fn business_date(name: &str, value: &str) -> Result<settlepaisa_recon::date::Date, ApiError> {
    use settlepaisa_recon::date::Date;
    let shown = crate::error::fit(value, 40);
    let date = Date::parse_iso(value)
        .ok_or_else(|| ApiError::bad_request(format!("{name} `{shown}` is not a date; write YYYY-MM-DD")))?;
    let (lo, hi) = (Date::parse_iso(EARLIEST_DATE), Date::parse_iso(LATEST_DATE));
    if lo.is_some_and(|lo| date < lo) || hi.is_some_and(|hi| date > hi) {
        return Err(ApiError::bad_request(format!("{name} {date} is outside {EARLIEST_DATE} to {LATEST_DATE}")));
    }
    Ok(date)
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

/// The `Idempotency-Key` header a money-moving POST requires: the same key again answers with
/// what the first request did.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<String, ApiError> {
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| ApiError::bad_request("the Idempotency-Key header is required: a new one for each new request"))?
        .to_str()
        .map_err(|_| ApiError::bad_request("Idempotency-Key must be printable ASCII"))?;
    let ok = (8..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(ApiError::bad_request("Idempotency-Key must be 8 to 64 letters, digits, `-` or `_`"));
    }
    Ok(key.to_string())
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
    fn whole_numbers_written_as_floats_are_integers() {
        let mut v =
            serde_json::json!({ "a": 13.0, "b": [1e3, 2.5], "c": 1.2662236585382837e20, "d": "7.0", "e": 1e19 });
        integral_numbers(&mut v);
        assert_eq!(
            v,
            serde_json::json!({ "a": 13, "b": [1000, 2.5], "c": 1.2662236585382837e20, "d": "7.0", "e": 10_000_000_000_000_000_000u64 })
        );
    }

    #[test]
    fn business_dates_are_bounded() {
        assert!(business_date("from", "2026-10-01").is_ok());
        for bad in ["0000-01-01", "9999-12-31", "1999-12-31", "2100-01-01", "2026-13-01", ""] {
            assert_eq!(business_date("from", bad).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn identifiers_cannot_smuggle_key_separators() {
        assert!(identifier("id", "JOB-20261101-20261102-0a1b2c3d").is_ok());
        for bad in ["", "a/b", "a#b", "a b", &"x".repeat(129)] {
            assert!(identifier("id", bad).is_err(), "{bad}");
        }
    }
}
