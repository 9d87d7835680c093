//! Merchants' settlement ledgers as S3 keeps them (`ledger/{merchant}/{version:08}-{nonce}.tsv`,
//! named by the merchant's ledger head): read whole and parsed. An object is never overwritten —
//! each version has its own name — so a parsed ledger can be kept by its key for as long as the
//! process lives: readers that only look (the transactions listing) fetch a ledger once per warm
//! instance and version.

use crate::error::StoreError;
use settlepaisa_aws::s3;
use settlepaisa_payout::cycle::Ledger;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The ledger object `key`, parsed.
pub async fn read(s3_client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Ledger, StoreError> {
    let bytes = s3::get_bytes(s3_client, bucket, key).await?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::Inconsistent(format!("{key} is not UTF-8")))?;
    Ledger::parse(&text).map_err(|e| StoreError::Inconsistent(format!("{key}: {e}")))
}

/// How many parsed ledgers one process keeps (the most recently read).
const CACHED: usize = 64;

static CACHE: Mutex<VecDeque<(String, Arc<Ledger>)>> = Mutex::new(VecDeque::new());

/// As [`read`], from this process's copy when it has read `key` before.
pub async fn read_cached(s3_client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Arc<Ledger>, StoreError> {
    if let Some(hit) = cache().iter().find(|(k, _)| k == key).map(|(_, l)| l.clone()) {
        return Ok(hit);
    }
    let ledger = Arc::new(read(s3_client, bucket, key).await?);
    let mut cache = cache();
    if !cache.iter().any(|(k, _)| k == key) {
        if cache.len() == CACHED {
            cache.pop_front();
        }
        cache.push_back((key.to_string(), ledger.clone()));
    }
    Ok(ledger)
}

fn cache() -> std::sync::MutexGuard<'static, VecDeque<(String, Arc<Ledger>)>> {
    // A panic while holding it leaves only whole entries behind.
    CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
