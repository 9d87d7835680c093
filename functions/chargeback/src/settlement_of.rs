//! Where a dispute's money went: the settlement batch that paid its transaction, and the one
//! that carried each adjustment the dispute made. Each is looked for among the merchant's batches
//! of a few cycle dates from when it could first be paid (the capture day; the day the adjustment
//! took effect), at most [`READS_EACH`] line files for each and [`MAX_LINE_READS`] in all, so a
//! detail view costs a bounded amount whatever the merchant's history.

use serde_json::{json, Value};
use settlepaisa_dispute::model::Dispute;
use settlepaisa_http::ApiError;
use settlepaisa_recon::date::Date;
use settlepaisa_store::settlements::{self, BatchRecord};
use settlepaisa_store::Context;

const MAX_LINE_READS: usize = 12;
const READS_EACH: usize = 3;
/// Cycle dates after the first possible one a batch is looked for on (T+N and holidays).
const WITHIN_DAYS: i32 = 10;

fn batch_view(b: &BatchRecord) -> Value {
    json!({
        "settlementId": b.settlement_id,
        "cycleDate": b.cycle_date,
        "status": b.status.as_str(),
        "utr": b.utr,
    })
}

/// The first batch of cycle dates `from..=from + WITHIN_DAYS` (those `paying` the capture day,
/// when given) whose lines name `id`.
async fn batch_naming(
    ctx: &Context,
    d: &Dispute,
    id: &str,
    from: Date,
    paying: Option<&str>,
    reads: &mut usize,
) -> Result<Value, ApiError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.settlements_table);
    let to = from.add_days(WITHIN_DAYS);
    let page =
        settlements::merchant_batches(db, table, &d.merchant_id, &from.to_string(), &to.to_string(), 50, None).await?;
    let mut tried = 0;
    // Newest first from the store: the earliest batch is the likeliest.
    for b in page.batches.iter().rev().filter(|b| paying.is_none_or(|day| b.days.contains_key(day))) {
        if tried == READS_EACH || *reads >= MAX_LINE_READS {
            break;
        }
        (tried, *reads) = (tried + 1, *reads + 1);
        let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &b.lines_key)
            .await
            .map_err(ApiError::store)?;
        if String::from_utf8_lossy(&bytes).lines().any(|l| l.split(',').nth(2) == Some(id)) {
            return Ok(batch_view(b));
        }
    }
    Ok(Value::Null)
}

pub async fn find(ctx: &Context, d: &Dispute) -> Result<Value, ApiError> {
    let mut reads = 0;
    let day = d.txn.capture_day.to_string();
    let paid = batch_naming(ctx, d, &d.txn.txn_id, d.txn.capture_day, Some(&day), &mut reads).await?;
    let mut adjustments = Vec::new();
    for a in &d.adjustments {
        let batch = batch_naming(ctx, d, &a.adjustment_id, a.effective_on, None, &mut reads).await?;
        adjustments.push(json!({
            "adjustmentId": a.adjustment_id,
            "amountPaise": a.amount_paise,
            "effectiveOn": a.effective_on.to_string(),
            "settlement": batch,
        }));
    }
    Ok(json!({ "paidIn": paid, "adjustments": adjustments }))
}
