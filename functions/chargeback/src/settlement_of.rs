//! Where a dispute's money went: the settlement batch that paid its transaction, and the ones
//! that carried each of its debits and reversals (none read when it made none). Batches of the merchant are read by cycle date from the
//! capture day on, and at most [`MAX_LINE_READS`] of their line files, so a detail view costs a
//! bounded amount whatever the merchant's history.

use serde_json::{json, Value};
use settlepaisa_dispute::model::{debit_id, reversal_id, Dispute};
use settlepaisa_http::ApiError;
use settlepaisa_recon::date::ist_date;
use settlepaisa_store::settlements::{self, BatchRecord};
use settlepaisa_store::Context;

const MAX_LINE_READS: usize = 8;
/// Cycle dates after the capture day a payment may be settled on (the longest window).
const SETTLE_WITHIN_DAYS: i32 = 60;

fn batch_view(b: &BatchRecord) -> Value {
    json!({
        "settlementId": b.settlement_id,
        "cycleDate": b.cycle_date,
        "status": b.status.as_str(),
        "utr": b.utr,
    })
}

pub async fn find(ctx: &Context, d: &Dispute) -> Result<Value, ApiError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.settlements_table);
    let from = d.txn.capture_day;
    let to = from.add_days(SETTLE_WITHIN_DAYS).max(ist_date(d.updated_at).add_days(SETTLE_WITHIN_DAYS));
    let page =
        settlements::merchant_batches(db, table, &d.merchant_id, &from.to_string(), &to.to_string(), 100, None).await?;
    let mut batches = page.batches;
    batches.sort_by(|a, b| a.cycle_date.cmp(&b.cycle_date));
    let day = d.txn.capture_day.to_string();
    let opened = ist_date(d.created_at).to_string();
    // The transaction, then each adjustment the dispute made (debits and reversals in turn).
    let mut wanted = vec![d.txn.txn_id.clone()];
    wanted.extend((1..=d.debits).map(|n| debit_id(&d.dispute_id, n)));
    wanted.extend((1..=d.reversals).map(|n| reversal_id(&d.dispute_id, n)));
    let mut found: Vec<Option<Value>> = vec![None; wanted.len()];
    let mut reads = 0;
    for b in &batches {
        let may_pay = b.days.contains_key(&day) && found[0].is_none();
        let may_adjust = b.cycle_date >= opened && found[1..].iter().any(Option::is_none);
        if !(may_pay || may_adjust) || reads >= MAX_LINE_READS {
            continue;
        }
        reads += 1;
        let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &b.lines_key)
            .await
            .map_err(ApiError::store)?;
        let text = String::from_utf8_lossy(&bytes);
        for (i, id) in wanted.iter().enumerate() {
            if found[i].is_none() && text.lines().any(|l| l.split(',').nth(2) == Some(id.as_str())) {
                found[i] = Some(batch_view(b));
            }
        }
    }
    let adjustments: Vec<Value> = wanted[1..]
        .iter()
        .zip(&found[1..])
        .map(|(id, batch)| json!({ "adjustmentId": id, "settlement": batch }))
        .collect();
    Ok(json!({ "paidIn": found[0], "adjustments": adjustments }))
}
