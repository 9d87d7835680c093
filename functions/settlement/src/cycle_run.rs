//! `settle-cycle`: one business day's settlement run. Started by the EventBridge schedule (its
//! event's `time`, as an IST date, is the cycle date) or by ops with `{"cycleDate": "YYYY-MM-DD"}`.
//!
//! Every merchant is settled on its own: read its ledger head (strongly consistent) and the ledger
//! it names, run the pure cycle, write the batch's lines and the next ledger under new names, then
//! commit the batch and move the head in one transaction conditioned on the head's version. A run
//! that loses the race reads again and finds the payments taken. Then the day's pending batches go
//! into payout files ([`crate::payouts`]).

use crate::error::SettleError;
use crate::{inputs, ledger_store, payouts};
use settlepaisa_aws::s3;
use settlepaisa_payout::cycle::{owners, run_merchant, Batch, Carried, Due, Inputs, Ledger};
use settlepaisa_payout::merchant::Merchant;
use settlepaisa_payout::payout_response::BatchStatus;
use settlepaisa_payout::refund_check::within_payments;
use settlepaisa_payout::reports::{carried_csv, line_rows, LINES_HEADER};
use settlepaisa_payout::window::{aged_out, AGED_LOOKBACK_DAYS};
use settlepaisa_recon::date::{ist_date, parse_rfc3339, Date};
use settlepaisa_recon::money::Paise;
use settlepaisa_store::settlements::{self, BatchRecord, LedgerMove, RequestKey, SettlementRequest};
use settlepaisa_store::{job::now_rfc3339, merchants, Context};
use std::collections::BTreeMap;

/// Attempts at one merchant's commit before the run gives up on it (another writer each time).
const COMMIT_ATTEMPTS: u32 = 5;
/// Merchants settled at once.
const PARALLEL_MERCHANTS: usize = 16;

/// The cycle date an event names.
pub fn cycle_date(event: &serde_json::Value) -> Result<Date, SettleError> {
    if let Some(d) = event.get("cycleDate").and_then(|v| v.as_str()) {
        return Date::parse_iso(d).ok_or_else(|| SettleError::BadEvent(format!("cycleDate `{d}` is not YYYY-MM-DD")));
    }
    let time = event.get("time").and_then(|v| v.as_str()).ok_or_else(|| {
        SettleError::BadEvent("the event has neither `time` (a scheduled event) nor `cycleDate`".into())
    })?;
    parse_rfc3339(time).map(ist_date).ok_or_else(|| SettleError::BadEvent(format!("time `{time}` is not RFC 3339")))
}

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    pub cycle_date: String,
    pub business_day: bool,
    pub read: inputs::Read,
    pub batches: Vec<String>,
    pub net_paise: i64,
    pub carried: usize,
    pub carried_report: Option<String>,
    pub payout_files: Vec<String>,
    pub sent: usize,
    pub requests_answered: usize,
    /// Pending batches not put in a file (no merchant record or paying bank): logged, retried.
    pub left_pending: usize,
    /// Refunds of transactions no page in the window names, or beyond the payment: reported in
    /// the carried-forward file, not deducted.
    pub unattributed_refunds: usize,
    /// Merchants whose settlement failed, with why (the run fails after the others are settled).
    pub failed_merchants: Vec<String>,
}

pub async fn handle(ctx: &Context, event: serde_json::Value) -> Result<RunSummary, SettleError> {
    let day = cycle_date(&event)?;
    run(ctx, day).await
}

pub async fn run(ctx: &Context, day: Date) -> Result<RunSummary, SettleError> {
    let cfg = &ctx.settlement;
    let mut summary = RunSummary { cycle_date: day.to_string(), ..RunSummary::default() };
    if !cfg.calendar.is_business_day(day) {
        tracing::info!(%day, "not a business day: nothing to settle");
        return Ok(summary);
    }
    summary.business_day = true;
    let window_start = day.add_days(-(cfg.window_days as i32));
    // A week before the window too: what left it unsettled is reported (window::aged_out).
    let (inputs, read) = inputs::load(ctx, window_start.add_days(-AGED_LOOKBACK_DAYS), day).await?;
    summary.read = read;
    let merchants = merchants::all(&ctx.clients.dynamodb, &ctx.resources.merchants_table).await?;
    let requests = settlements::requests_for(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &day.to_string())
        .await?
        .into_iter()
        .filter(|r| r.status == "SCHEDULED")
        .map(|r| (r.key.merchant_id.clone(), r))
        .collect::<BTreeMap<_, _>>();
    let (mut by_merchant, unattributed) = by_merchant(inputs, day);
    summary.unattributed_refunds = unattributed.len();
    let mut results = Vec::new();
    for chunk in merchants.chunks(PARALLEL_MERCHANTS) {
        let mut set = tokio::task::JoinSet::new();
        for m in chunk {
            let (ctx, m) = (ctx.clone(), m.clone());
            let inputs = by_merchant.remove(&m.merchant_id).unwrap_or_default();
            let request = requests.get(&m.merchant_id).cloned();
            set.spawn(async move { settle_merchant(&ctx, &m, day, window_start, &inputs, request.as_ref()).await });
        }
        while let Some(done) = set.join_next().await {
            // One merchant's failure (an unreadable ledger, contention) stops no other's.
            match done.map_err(|e| SettleError::BadEvent(format!("a merchant's task failed: {e}"))) {
                Ok(Ok(r)) => results.push(r),
                Ok(Err(e)) | Err(e) => {
                    tracing::error!(error = %e, "a merchant was not settled");
                    summary.failed_merchants.push(e.to_string());
                }
            }
        }
    }
    let mut committed = Vec::new();
    let mut carried = unattributed;
    for r in results {
        summary.requests_answered += usize::from(r.answered);
        if let Some(b) = r.committed {
            committed.push(b);
        }
        carried.extend(r.carried);
    }
    committed.sort_by(|a, b| a.settlement_id.cmp(&b.settlement_id));
    carried.sort_by(|a, b| a.merchant_id.cmp(&b.merchant_id));
    summary.batches = committed.iter().map(|b| b.settlement_id.clone()).collect();
    summary.net_paise = committed.iter().map(|b| b.totals.net.0).sum();
    summary.carried = carried.len();
    if !carried.is_empty() {
        let key = format!("settlements/{day}/carried_forward-{}.csv", ledger_store::nonce());
        s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, carried_csv(&carried).into_bytes()).await?;
        summary.carried_report = Some(key);
    }
    let sent = payouts::send(ctx, day, &merchants, committed).await?;
    summary.payout_files = sent.files;
    summary.sent = sent.sent;
    summary.left_pending = sent.left_pending;
    tracing::info!(summary = %serde_json::to_string(&summary).unwrap_or_default(), "settlement run done");
    if !summary.failed_merchants.is_empty() {
        // Failed for the schedule to retry: a run again settles only what this one did not.
        return Err(SettleError::Partial(summary.failed_merchants.join("; ")));
    }
    Ok(summary)
}

/// Each merchant's own inputs: its payments and adjustments, and the refunds of its transactions
/// (with whose they are), so a run reads a million payments once, not once per merchant. A refund
/// of a transaction no page of the window names is not deducted: it is returned, for the
/// carried-forward report (refunds beyond their payment are judged per merchant, against its
/// ledger: `refund_check`).
pub fn by_merchant(inputs: Inputs, day: Date) -> (BTreeMap<String, Inputs>, Vec<Carried>) {
    let owner_of: BTreeMap<String, String> =
        owners(&inputs).into_iter().map(|(t, m)| (t.to_string(), m.to_string())).collect();
    let mut problems = Vec::new();
    let mut out: BTreeMap<String, Inputs> = BTreeMap::new();
    let mut refunds = inputs.refunds;
    refunds.sort_by(|a, b| (a.refunded_on, &a.refund_id).cmp(&(b.refunded_on, &b.refund_id)));
    for r in refunds {
        let problem = |merchant: &str, why: String| Carried {
            merchant_id: merchant.to_string(),
            cycle_date: day,
            reason: format!("refund {} of {}: {why}; not deducted", r.refund_id, r.txn_id),
            net: Paise(-r.amount.0),
        };
        let Some(m) = owner_of.get(&r.txn_id) else {
            problems.push(problem("?", "no transaction of the settlement window has that id".into()));
            continue;
        };
        let own = out.entry(m.clone()).or_default();
        own.owners.insert(r.txn_id.clone(), m.clone());
        own.refunds.push(r);
    }
    for p in inputs.payments {
        out.entry(p.merchant_id.clone()).or_default().payments.push(p);
    }
    for a in inputs.adjustments {
        out.entry(a.merchant_id.clone()).or_default().adjustments.push(a);
    }
    (out, problems)
}

/// What failed payouts gave back that this run does not read (dated before its lookback): named
/// for a manual adjustment, never dropped silently.
fn reopened_unseen(ledger: &Ledger, inputs: &Inputs, merchant_id: &str, day: Date) -> Vec<Carried> {
    let seen: std::collections::BTreeSet<String> = inputs
        .payments
        .iter()
        .map(|p| format!("P:{}", p.txn_id))
        .chain(inputs.refunds.iter().map(|r| format!("R:{}", r.refund_id)))
        .chain(inputs.adjustments.iter().map(|a| format!("A:{}", a.adjustment_id)))
        .collect();
    ledger
        .reopened
        .iter()
        .filter(|o| !seen.contains(*o))
        .map(|o| Carried {
            merchant_id: merchant_id.to_string(),
            cycle_date: day,
            reason: format!(
                "{o} came back from a failed payout but is older than the run reads: settle it by a manual adjustment"
            ),
            net: Paise(0),
        })
        .collect()
}

pub struct MerchantResult {
    pub committed: Option<BatchRecord>,
    pub carried: Vec<Carried>,
    pub answered: bool,
}

/// Settles one merchant for `day`: at most one batch, committed against its ledger's version.
pub async fn settle_merchant(
    ctx: &Context,
    m: &Merchant,
    day: Date,
    window_start: Date,
    inputs: &Inputs,
    request: Option<&SettlementRequest>,
) -> Result<MerchantResult, SettleError> {
    let db = &ctx.clients.dynamodb;
    let table = &ctx.resources.settlements_table;
    let merchant_of = owners(inputs);
    let due = if request.is_some() { Due::OnDemand } else { Due::OnCycle };
    for _ in 0..COMMIT_ATTEMPTS {
        let head = settlements::head(db, table, &m.merchant_id).await?;
        let mut ledger = ledger_store::read(ctx, &m.merchant_id, &head).await?;
        let mut aged = aged_out(&ledger, inputs, &m.merchant_id, day, window_start);
        aged.extend(reopened_unseen(&ledger, inputs, &m.merchant_id, day));
        ledger.prune(window_start);
        let (checked, refused) = within_payments(inputs, &ledger, &m.merchant_id, day);
        aged.extend(refused);
        let mut out = run_merchant(day, &ctx.settlement.calendar, m, &checked, &merchant_of, &mut ledger, due)?;
        out.carried.extend(aged.iter().cloned());
        let Some(batch) = out.batches.into_iter().next() else {
            let mut answered = false;
            if let Some(r) = request {
                let why =
                    out.carried.first().map(|c| c.reason.clone()).unwrap_or_else(|| "nothing was available".into());
                let draft = settlepaisa_store::audit::by_function(
                    "settle-cycle",
                    "settlement.request_answered",
                    ("merchant", &m.merchant_id),
                    &r.key.idempotency_key,
                );
                settlements::answer_request(db, table, &r.key, &why, (ctx.resources.audit_table.as_str(), draft))
                    .await?;
                answered = true;
            }
            return Ok(MerchantResult { committed: None, carried: out.carried, answered });
        };
        let nonce = ledger_store::nonce();
        let lines_key = format!("settlements/{}/{}/lines-{nonce}.csv", m.merchant_id, batch.settlement_id);
        s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &lines_key, lines_csv(&batch).into_bytes()).await?;
        let new_key = ledger_store::write(ctx, &m.merchant_id, &head, &ledger, &nonce).await?;
        let record = record_of(&batch, inputs, lines_key, request.is_some());
        let mv = LedgerMove { merchant_id: m.merchant_id.clone(), expected: head.version, new_key };
        let answers: Option<&RequestKey> = request.map(|r| &r.key);
        let draft = settlepaisa_store::audit::by_function(
            "settle-cycle",
            "settlement.batch",
            ("settlement", &record.settlement_id),
            &format!("cycle-{}", record.cycle_date),
        );
        let audit = (ctx.resources.audit_table.as_str(), draft);
        if settlements::commit_batch(db, table, &ctx.resources.kpi_table, &record, &mv, answers, audit).await? {
            return Ok(MerchantResult { committed: Some(record), carried: aged, answered: request.is_some() });
        }
        tracing::info!(merchant = %m.merchant_id, "the ledger moved under this run; reading it again");
    }
    Err(SettleError::Contended(m.merchant_id.clone()))
}

/// A batch's lines file: `settlement_lines.csv`'s header and its rows.
pub fn lines_csv(b: &Batch) -> String {
    format!("{LINES_HEADER}\n{}", line_rows(b))
}

fn record_of(b: &Batch, inputs: &Inputs, lines_key: String, on_demand: bool) -> BatchRecord {
    let captured: BTreeMap<&str, Date> = inputs.payments.iter().map(|p| (p.txn_id.as_str(), p.captured_on)).collect();
    let mut days: BTreeMap<String, [i64; 2]> = BTreeMap::new();
    for l in b.lines.iter().filter(|l| l.kind == settlepaisa_payout::cycle::LineKind::Payment) {
        if let Some(d) = captured.get(l.reference.as_str()) {
            let t = days.entry(d.to_string()).or_default();
            t[0] += 1;
            t[1] += l.amount.0;
        }
    }
    BatchRecord {
        settlement_id: b.settlement_id.clone(),
        merchant_id: b.merchant_id.clone(),
        cycle_date: b.cycle_date.to_string(),
        totals: b.totals,
        status: BatchStatus::PendingPayout,
        lines_key,
        days,
        created_at: now_rfc3339(),
        on_demand,
        payout_key: None,
        payout_bank: None,
        utr: None,
        failure_reason: None,
        last_response_at: None,
        updated_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_date_is_the_scheduled_time_in_ist_or_the_one_ops_name() {
        let scheduled = serde_json::json!({"detail-type": "Scheduled Event", "time": "2026-10-11T19:00:00Z"});
        assert_eq!(cycle_date(&scheduled).unwrap().to_string(), "2026-10-12", "00:30 IST the next day");
        assert_eq!(cycle_date(&serde_json::json!({"cycleDate": "2026-10-13"})).unwrap().to_string(), "2026-10-13");
        assert!(cycle_date(&serde_json::json!({"cycleDate": "13/10/2026"})).is_err());
        assert!(cycle_date(&serde_json::json!({})).is_err());
    }
}
