//! What a cycle reads, for capture days in its window: the payments reconciliation proved
//! arrived, the refunds and adjustments dropped for settlement, and whose transaction each is.
//!
//! - Payments: for each capture day, the job `finalize-job` last recorded as having reconciled it
//!   from the stack's own files (`RECON#{day}`); that job's matched ids (match pages and
//!   resolutions) joined with the day's transaction pages of the files the job read. A day no
//!   job completed pays nothing yet.
//! - Refunds: every `incoming/refunds/*.csv`; adjustments: every `incoming/adjustments/*.csv`,
//!   and the chargeback debits and reversals disputes made (`ADJ#{day}` items, issue 13), and the
//!   refunds the PG's webhooks deducted (`RF#{day}` items, issue 14).
//!   One bad row refuses the run (a refund left out would overpay), naming the file and line.
//!   Rows dated before the window are left out, as the ledger forgets batches before it.

use crate::error::SettleError;
use settlepaisa_aws::s3;
use settlepaisa_payout::cycle::{Adjustment, Inputs, Payment, Refund};
use settlepaisa_payout::files::{parse_adjustments, parse_refunds};
use settlepaisa_payout::merchant::BadRow;
use settlepaisa_recon::date::Date;
use settlepaisa_store::{disputes, job, pg_events, results, settlements, txn_pages, Context};
use std::collections::{BTreeMap, HashMap, HashSet};

pub const REFUNDS_PREFIX: &str = "incoming/refunds/";
pub const ADJUSTMENTS_PREFIX: &str = "incoming/adjustments/";

/// What was read, for the run's summary.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Read {
    pub reconciled_days: usize,
    pub unreconciled_days: Vec<String>,
    /// Reconciled days not read: every matched payment of theirs is in a batch already.
    pub settled_days_skipped: usize,
    pub payments: usize,
    pub refunds: usize,
    pub adjustments: usize,
}

fn refused(key: &str, bad: Vec<BadRow>) -> SettleError {
    let reasons: Vec<String> = bad.iter().take(10).map(|b| format!("line {}: {}", b.line, b.reason)).collect();
    SettleError::BadInput { key: key.to_string(), reasons: reasons.join("; ") }
}

/// Capture days `from..=to`, as ISO strings.
pub fn days(from: Date, to: Date) -> Vec<String> {
    (0..=from.days_until(to)).map(|i| from.add_days(i).to_string()).collect()
}

pub async fn load(ctx: &Context, window_start: Date, day: Date) -> Result<(Inputs, Read), SettleError> {
    let db = &ctx.clients.dynamodb;
    let r = &ctx.resources;
    let all_days = days(window_start, day);
    let recon = settlements::recon_days(db, &r.settlements_table, &all_days).await?;
    let mut read = Read {
        reconciled_days: recon.len(),
        unreconciled_days: all_days.iter().filter(|d| !recon.contains_key(*d)).cloned().collect(),
        ..Read::default()
    };
    // Days whose matched payments are all in batches already (the funnel's counters) are not
    // read: a run reads the days that can still pay, not the whole window every day.
    let settled = settled_days(ctx, &recon).await?;
    let (open, closed): (Vec<_>, Vec<_>) = recon.iter().partition(|(day, _)| !settled.contains(*day));
    read.settled_days_skipped = closed.len();
    let mut inputs = Inputs::default();
    let mut jobs: HashMap<String, (HashSet<String>, HashSet<String>)> = HashMap::new();
    read_days(ctx, &open, &mut jobs, &mut inputs).await?;
    let mut refunds: BTreeMap<String, Refund> = BTreeMap::new();
    for key in s3::list(&ctx.clients.s3, &r.uploads_bucket, REFUNDS_PREFIX).await? {
        let text = text_of(ctx, &key).await?;
        for f in parse_refunds(&text).map_err(|bad| refused(&key, bad))? {
            if f.refunded_on >= window_start && f.refunded_on <= day {
                same_or_refused(&key, &f.refund_id, refunds.insert(f.refund_id.clone(), f.clone()), &f)?;
            }
        }
    }
    // Refunds the PG's webhooks deducted (issue 14), by refund day, each naming its merchant: a
    // refund of a transaction only webhooks reported is still deducted from its merchant.
    let window: Vec<Date> = (0..=window_start.days_until(day)).map(|i| window_start.add_days(i)).collect();
    for (f, merchant) in pg_events::refunds_on(db, &r.settlements_table, &window).await? {
        let key = format!("webhooks: {}", f.txn_id);
        inputs.owners.entry(f.txn_id.clone()).or_insert(merchant);
        same_or_refused(&key, &f.refund_id, refunds.insert(f.refund_id.clone(), f.clone()), &f)?;
    }
    let mut adjustments: BTreeMap<String, Adjustment> = BTreeMap::new();
    for key in s3::list(&ctx.clients.s3, &r.uploads_bucket, ADJUSTMENTS_PREFIX).await? {
        let text = text_of(ctx, &key).await?;
        for a in parse_adjustments(&text).map_err(|bad| refused(&key, bad))? {
            if a.effective_on >= window_start && a.effective_on <= day {
                same_or_refused(&key, &a.adjustment_id, adjustments.insert(a.adjustment_id.clone(), a.clone()), &a)?;
            }
        }
    }
    // Chargeback debits and reversals the disputes made (issue 13), by the day they took effect.
    for a in disputes::adjustments_on(db, &r.settlements_table, &window).await? {
        let key = format!("disputes: {}", a.reference);
        same_or_refused(&key, &a.adjustment_id, adjustments.insert(a.adjustment_id.clone(), a.clone()), &a)?;
    }
    inputs.refunds = refunds.into_values().collect();
    inputs.adjustments = adjustments.into_values().collect();
    // A refund of a transaction of a skipped day needs that day's pages to know whose it is.
    if !closed.is_empty() && inputs.refunds.iter().any(|r| !inputs.owners.contains_key(&r.txn_id)) {
        read.settled_days_skipped = 0;
        read_days(ctx, &closed, &mut jobs, &mut inputs).await?;
    }
    // One payment per id, whichever day's pages showed it.
    inputs.payments.sort_by(|a, b| a.txn_id.cmp(&b.txn_id));
    inputs.payments.dedup_by(|a, b| a.txn_id == b.txn_id);
    read.payments = inputs.payments.len();
    read.refunds = inputs.refunds.len();
    read.adjustments = inputs.adjustments.len();
    Ok((inputs, read))
}

/// The days whose matched payments are all in a settlement batch not failed: the `SETTLEMENT`
/// counters reach the `ALL` item's matched count (which includes resolutions).
async fn settled_days(ctx: &Context, recon: &BTreeMap<String, String>) -> Result<HashSet<String>, SettleError> {
    use settlepaisa_aws::dynamo::{batch_get, n, s, sv, Item};
    let keys: Vec<Item> = recon
        .keys()
        .flat_map(|d| {
            ["ALL", settlements::SETTLEMENT_DIMENSION]
                .map(|dim| Item::from([("day".into(), sv(d)), ("dimension".into(), sv(dim))]))
        })
        .collect();
    let items = batch_get(&ctx.clients.dynamodb, &ctx.resources.kpi_table, keys).await?;
    let mut matched: BTreeMap<String, i64> = BTreeMap::new();
    let mut taken: BTreeMap<String, i64> = BTreeMap::new();
    for item in &items {
        let day = s(item, "day").unwrap_or_default();
        match s(item, "dimension").as_deref() {
            Some("ALL") => {
                matched.insert(day, n(item, "matched_count").unwrap_or(i64::MAX));
            }
            _ => {
                let stages = ["in_settlement_n", "sent_to_bank_n", "credited_n"];
                taken.insert(day, stages.iter().map(|a| n(item, a).unwrap_or(0)).sum());
            }
        }
    }
    Ok(matched.into_iter().filter(|(d, m)| *m > 0 && taken.get(d).is_some_and(|t| t >= m)).map(|(d, _)| d).collect())
}

/// The payments of `days` (each with the job that reconciled it) and whose each transaction is.
async fn read_days(
    ctx: &Context,
    days: &[(&String, &String)],
    jobs: &mut HashMap<String, (HashSet<String>, HashSet<String>)>,
    inputs: &mut Inputs,
) -> Result<(), SettleError> {
    let (db, r) = (&ctx.clients.dynamodb, &ctx.resources);
    for (_, job_id) in days {
        if jobs.contains_key(*job_id) {
            continue;
        }
        let Some(j) = job::get(db, &r.jobs_table, job_id).await? else { continue };
        // A day names its job once the job completed; anything else proves nothing.
        if j.status != job::JobStatus::Completed {
            continue;
        }
        let files = j.files.iter().map(|f| f.file_id.clone()).collect();
        let matched = results::matched_ids(db, &r.results_table, job_id).await?;
        jobs.insert((*job_id).clone(), (matched, files));
    }
    for (day, job_id) in days {
        let Some((matched, files)) = jobs.get(*job_id) else { continue };
        for group in 0..txn_pages::GROUPS {
            let pages = txn_pages::pages_in(db, &r.transactions_table, &txn_pages::day_partition(day, group)).await?;
            for page in pages.iter().filter(|p| files.contains(&p.file_id)) {
                for t in page.shown()? {
                    inputs.owners.insert(t.txn_id.to_string(), t.merchant_id.to_string());
                    if t.is_captured() && matched.contains(t.txn_id) {
                        inputs.payments.push(Payment {
                            txn_id: t.txn_id.to_string(),
                            merchant_id: t.merchant_id.to_string(),
                            method: t.method,
                            amount: t.amount,
                            captured_on: t.date,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// An id in two files must mean the same thing in both.
fn same_or_refused<T: PartialEq>(key: &str, id: &str, before: Option<T>, now: &T) -> Result<(), SettleError> {
    match before {
        Some(b) if &b != now => Err(SettleError::BadInput {
            key: key.to_string(),
            reasons: format!("`{id}` is also in another file, with other values"),
        }),
        _ => Ok(()),
    }
}

async fn text_of(ctx: &Context, key: &str) -> Result<String, SettleError> {
    let bytes = s3::get_bytes(&ctx.clients.s3, &ctx.resources.uploads_bucket, key).await?;
    String::from_utf8(bytes).map_err(|_| SettleError::BadInput { key: key.into(), reasons: "not UTF-8 text".into() })
}
