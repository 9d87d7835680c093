//! Opaque pagination cursors: the store's position, hex-encoded JSON. A cursor that does not
//! decode is a 400, not a restart from the top.

use crate::error::ApiError;
use serde_json::Value;

pub fn encode(position: &Value) -> String {
    hex::encode(position.to_string())
}

pub fn decode(cursor: &str) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
    let bytes = hex::decode(cursor).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let v = serde_json::json!({"job_id": "J", "item": "E#1"});
        assert_eq!(super::decode(&super::encode(&v)).unwrap(), v);
        assert_eq!(super::decode("zz").unwrap_err().status, 400);
        assert_eq!(super::decode("7b").unwrap_err().status, 400);
    }
}
