//! A small TTL cache inside a warm function: the seed caches overview 30 s, connector health
//! 60 s and top reasons 300 s. Each execution environment keeps its own copy; the
//! `Cache-Control` header tells browsers and CDNs the same age.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Entries kept at most; the oldest go first.
const CAPACITY: usize = 256;

pub struct TtlCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Value)>>,
}

impl TtlCache {
    pub fn new(ttl_secs: u64) -> TtlCache {
        TtlCache { ttl: Duration::from_secs(ttl_secs), entries: Mutex::new(HashMap::new()) }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs()
    }

    pub fn get(&self, key: &str) -> Option<Value> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: String, value: Value) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= CAPACITY {
                if let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone()) {
                    entries.remove(&oldest);
                }
            }
            entries.insert(key, (Instant::now(), value));
        }
    }

    /// The cached value, or `compute`'s (cached when it succeeds), as a JSON response with
    /// `Cache-Control` and `X-Cache: HIT|MISS`. `fresh` (the client sent
    /// `Cache-Control: no-cache`, e.g. right after resolving an exception) recomputes.
    pub async fn respond<E, F>(&self, key: String, fresh: bool, compute: F) -> Result<Response, E>
    where
        F: std::future::Future<Output = Result<Value, E>>,
    {
        let cached = if fresh { None } else { self.get(&key) };
        let (value, hit) = match cached {
            Some(v) => (v, true),
            None => {
                let v = compute.await?;
                self.put(key, v.clone());
                (v, false)
            }
        };
        let mut response = axum::Json(value).into_response();
        let headers = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("private, max-age={}", self.ttl.as_secs())) {
            headers.insert(header::CACHE_CONTROL, v);
        }
        headers.insert("x-cache", HeaderValue::from_static(if hit { "HIT" } else { "MISS" }));
        Ok(response)
    }
}

/// True when the request asks to bypass caches (`Cache-Control: no-cache` or `max-age=0`).
pub fn wants_fresh(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|d| d.eq_ignore_ascii_case("no-cache") || d == "max-age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_their_ttl() {
        let c = TtlCache::new(0);
        c.put("k".into(), Value::from(1));
        assert_eq!(c.get("k"), None);
        let c = TtlCache::new(60);
        c.put("k".into(), Value::from(1));
        assert_eq!(c.get("k"), Some(Value::from(1)));
    }
}
