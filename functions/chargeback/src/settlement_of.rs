//! Where a dispute's money went: the settlement batch that paid its transaction, and the ones
//! that carried its debit and reversal. Batches of the merchant are read by cycle date from the
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
    let wanted = [d.txn.txn_id.clone(), debit_id(&d.dispute_id, 1), reversal_id(&d.dispute_id, 1)];
    let mut found: [Option<Value>; 3] = [None, None, None];
    let mut reads = 0;
    for b in &batches {
        let may_pay = b.days.contains_key(&day) && found[0].is_none();
        let may_adjust = b.cycle_date >= opened && (found[1].is_none() || (d.reversals > 0 && found[2].is_none()));
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
    let [paid, debit, reversal] = found;
    Ok(json!({ "paidIn": paid, "debitIn": debit, "reversalIn": reversal }))
}
