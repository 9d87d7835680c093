//! Merchants' settlement ledgers as S3 keeps them (`ledger/{merchant}/{version:08}-{nonce}.tsv`,
//! named by the merchant's ledger head): read whole and parsed. An object is never overwritten —
//! each version has its own name — so a parsed ledger can be kept by its key for as long as the
//! process lives: readers that only look (the transactions listing) fetch a merchant's ledger once
//! per warm instance and version.

use crate::error::StoreError;
use settlepaisa_aws::s3;
use settlepaisa_payout::cycle::Ledger;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// The ledger object `key`, parsed, and the object's size in bytes.
pub async fn read_sized(
    s3_client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<(Ledger, usize), StoreError> {
    let bytes = s3::get_bytes(s3_client, bucket, key).await?;
    let size = bytes.len();
    let text = String::from_utf8(bytes).map_err(|_| StoreError::Inconsistent(format!("{key} is not UTF-8")))?;
    let ledger = Ledger::parse(&text).map_err(|e| StoreError::Inconsistent(format!("{key}: {e}")))?;
    Ok((ledger, size))
}

/// The ledger object `key`, parsed.
pub async fn read(s3_client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Ledger, StoreError> {
    Ok(read_sized(s3_client, bucket, key).await?.0)
}

/// What the parsed ledgers one process keeps may weigh, counted as their objects' bytes times
/// [`PARSED_WEIGHT`] (the maps' keys, values and nodes).
const CACHE_BYTES: usize = 96 << 20;
const PARSED_WEIGHT: usize = 3;

/// Per merchant: the bucket and key of its ledger, the parsed ledger and its weight; most
/// recently used last.
type Cached = (String, String, Arc<Ledger>, usize);
static CACHE: Mutex<VecDeque<Cached>> = Mutex::new(VecDeque::new());

/// As [`read`], from this process's copy when it holds the merchant's ledger at `key`. A
/// merchant's newer version replaces its older one; the least recently used go first when the
/// cache is over its weight (a ledger heavier than the whole cache is not kept).
pub async fn read_cached(
    s3_client: &aws_sdk_s3::Client,
    bucket: &str,
    merchant_id: &str,
    key: &str,
) -> Result<Arc<Ledger>, StoreError> {
    let tag = format!("{bucket}/{key}");
    {
        let mut cache = cache();
        if let Some(i) = cache.iter().position(|(m, k, _, _)| m == merchant_id && *k == tag) {
            let hit = cache.remove(i).expect("found");
            let ledger = hit.2.clone();
            cache.push_back(hit);
            return Ok(ledger);
        }
    }
    let (ledger, size) = read_sized(s3_client, bucket, key).await?;
    let (ledger, weight) = (Arc::new(ledger), size.saturating_mul(PARSED_WEIGHT));
    let mut cache = cache();
    cache.retain(|(m, _, _, _)| m != merchant_id);
    if weight <= CACHE_BYTES {
        cache.push_back((merchant_id.to_string(), tag, ledger.clone(), weight));
        while cache.iter().map(|c| c.3).sum::<usize>() > CACHE_BYTES {
            cache.pop_front();
        }
    }
    Ok(ledger)
}

fn cache() -> std::sync::MutexGuard<'static, VecDeque<Cached>> {
    // A panic while holding it leaves only whole entries behind.
    CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
