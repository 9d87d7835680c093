//! The settlement half of `settlepaisa local demo`: the generated merchants imported, the
//! settlement cycle run for the business days after the reconciled day (as the EventBridge
//! schedule would start `settle-cycle`), and the paying bank's answer dropped into
//! `incoming/payout-responses/` (every batch credited but one returned), as a bank would.

use crate::error::CliError;
use crate::local::LocalStack;
use settlepaisa_payout::merchant::parse_merchants;
use settlepaisa_recon::date::Date;
use settlepaisa_store::settlements::{self, BatchRecord};
use std::path::Path;
use std::time::Duration;

fn fail(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

/// What the demo's cycles made.
#[derive(Debug, Default)]
pub struct SettleDemo {
    /// Each day's run: its date, batches, handler time and heap peak above the process's.
    pub runs: Vec<(Date, usize, Duration, usize)>,
    pub batches: Vec<BatchRecord>,
    pub payout_files: Vec<String>,
    pub response_key: Option<String>,
}

/// Imports `dir/merchants.csv`, settles `from..=to` day by day and answers the payouts.
pub async fn run(stack: &LocalStack, dir: &Path, from: Date, to: Date) -> Result<SettleDemo, CliError> {
    let ctx = &stack.runner.ctx;
    let path = dir.join("merchants.csv");
    let text = std::fs::read_to_string(&path).map_err(crate::error::io_err(&path))?;
    let merchants = parse_merchants(&text).map_err(|bad| fail(format!("{}: {bad:?}", path.display())))?;
    settlepaisa_store::merchants::put_merchants(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &merchants)
        .await
        .map_err(fail)?;
    let mut out = SettleDemo::default();
    for i in 0..=from.days_until(to) {
        let day = from.add_days(i);
        let (started, heap) = (std::time::Instant::now(), crate::memory::window_start());
        let summary = Box::pin(settlepaisa_settlement::cycle_run::run(ctx, day)).await.map_err(fail)?;
        out.runs.push((day, summary.batches.len(), started.elapsed(), crate::memory::window_peak(heap)));
        out.payout_files.extend(summary.payout_files);
        for id in &summary.batches {
            if let Some(b) = settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, id)
                .await
                .map_err(fail)?
            {
                out.batches.push(b);
            }
        }
    }
    if out.batches.is_empty() {
        return Ok(out);
    }
    // The bank credits every payout but the last, which comes back: the account was closed.
    let mut response = String::from("reference,status,utr,reason,processed_at\n");
    for (i, b) in out.batches.iter().enumerate() {
        if i + 1 == out.batches.len() && out.batches.len() > 1 {
            response.push_str(&format!(
                "{},RETURNED,,beneficiary account closed,{}T12:00:00Z\n",
                b.settlement_id, b.cycle_date
            ));
        } else {
            response.push_str(&format!("{},SUCCESS,HDFCN{:010},,{}T12:00:00Z\n", b.settlement_id, i + 1, b.cycle_date));
        }
    }
    let key = format!("incoming/payout-responses/HDFC/HDFC_PAYOUT_RESP_{}.csv", to.to_string().replace('-', ""));
    ctx.clients
        .s3
        .put_object()
        .bucket(&ctx.resources.uploads_bucket)
        .key(&key)
        .body(response.into_bytes().into())
        .send()
        .await
        .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?;
    stack.runner.run_until_idle(Duration::from_secs(600)).await.map_err(fail)?;
    for b in &mut out.batches {
        if let Some(now) =
            settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &b.settlement_id)
                .await
                .map_err(fail)?
        {
            *b = now;
        }
    }
    out.response_key = Some(key);
    Ok(out)
}
