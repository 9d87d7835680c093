//! A merchant's ledger objects in S3 (`ledger/{merchant}/{version:08}-{nonce}.tsv`): written
//! under a new name every time, never overwritten, named by the head once a commit succeeds.

use crate::error::SettleError;
use settlepaisa_aws::s3;
use settlepaisa_payout::cycle::Ledger;
use settlepaisa_store::settlements::Head;
use settlepaisa_store::{ledgers, Context, StoreError};

/// The ledger the head names (empty before the merchant's first batch).
pub async fn read(ctx: &Context, merchant_id: &str, head: &Head) -> Result<Ledger, SettleError> {
    let Some(key) = &head.ledger_key else { return Ok(Ledger::default()) };
    ledgers::read(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key).await.map_err(|e| match e {
        StoreError::Inconsistent(message) => SettleError::Ledger { merchant: merchant_id.into(), message },
        other => SettleError::Store(other),
    })
}

/// Writes the next version's object and returns its key (not yet named by the head).
pub async fn write(
    ctx: &Context,
    merchant_id: &str,
    head: &Head,
    ledger: &Ledger,
    nonce: &str,
) -> Result<String, SettleError> {
    let key = format!("ledger/{merchant_id}/{:08}-{nonce}.tsv", head.version + 1);
    s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, ledger.to_text().into_bytes()).await?;
    Ok(key)
}

/// A random suffix that keeps two runs' objects apart.
pub fn nonce() -> String {
    format!("{:016x}", fastrand::u64(..))
}
