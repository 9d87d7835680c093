//! `expire-disputes`: once a day (EventBridge, IST morning), every `needs_response` dispute past
//! its `respond_by` becomes `expired` — lost, its debit made if it was not — and then every one
//! due by the end of the next business day gets its reminder: a line of
//! `disputes/reminders/{date}-….csv` for the merchant notifications to send, written before the
//! reminder is recorded on the dispute (once a stage), so a run that stops between the two sends
//! it again rather than never. Then the dispute KPI items' spent hour counters are removed.
//!
//! Ops run it with `{"time": "<RFC 3339>"}` (the scheduled event's own field): a moment in the
//! future is refused (it would expire disputes their merchants can still answer). One dispute
//! that fails does not stop the others; the run then fails, so the scheduler retries it.

use crate::change::{change, now, Changed};
use crate::error::DisputeError;
use settlepaisa_aws::s3;
use settlepaisa_dispute::lifecycle::{apply, due_soon, Action, Context as Rules};
use settlepaisa_dispute::model::{Dispute, Status};
use settlepaisa_dispute::rules::end_of_ist_day;
use settlepaisa_recon::date::{format_ist, ist_date, parse_rfc3339};
use settlepaisa_store::disputes::{self, Partition};
use settlepaisa_store::Context;

pub const FUNCTION: &str = "expire-disputes";

/// How far ahead of the clock an ops-given `time` may be (clock skew).
const SKEW_SECONDS: i64 = 300;

#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub at: String,
    pub expired: Vec<String>,
    pub reminded: Vec<String>,
    pub reminders_key: Option<String>,
    /// Disputes that could not be judged this run (retried by the next).
    pub failed: Vec<String>,
    pub counters_removed: usize,
}

/// The moment the run judges by: the event's `time` (not ahead of the clock), or now.
pub fn moment(event: &serde_json::Value) -> Result<i64, DisputeError> {
    let Some(t) = event.get("time").and_then(|v| v.as_str()) else { return Ok(now()) };
    let at = parse_rfc3339(t).ok_or_else(|| DisputeError::BadEvent(format!("time `{t}` is not RFC 3339")))?;
    if at > now() + SKEW_SECONDS {
        return Err(DisputeError::BadEvent(format!("time `{t}` is in the future")));
    }
    Ok(at)
}

/// Every `needs_response` dispute due by `until` (all pages).
async fn needing_response(ctx: &Context, until: i64) -> Result<Vec<Dispute>, DisputeError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.disputes_table);
    let (mut out, mut start) = (Vec::new(), None);
    loop {
        let page = disputes::page(db, table, &Partition::Status(Status::NeedsResponse), Some(until), 100, start.take())
            .await?;
        out.extend(page.disputes);
        match page.next {
            Some(k) => start = Some(k),
            None => return Ok(out),
        }
    }
}

/// Expires or reminds one dispute; a failure is logged and counted, not fatal to the run.
async fn judge(ctx: &Context, d: &Dispute, action: Action, at: i64, summary: &mut Summary) {
    let verb = match action {
        Action::Expire => "dispute.expire",
        _ => "dispute.remind",
    };
    let draft = settlepaisa_store::audit::by_function(FUNCTION, verb, ("dispute", &d.dispute_id), &format!("run-{at}"));
    let result = change(ctx, &d.dispute_id, draft, |current| {
        let Some(current) = current else { return Err("the dispute is gone".into()) };
        let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now: at, by: FUNCTION };
        apply(current, &action, &cx)
    })
    .await;
    match (result, &action) {
        (Ok(Changed::Written(_)), Action::Expire) => summary.expired.push(d.dispute_id.clone()),
        (Ok(Changed::Written(_)), _) => summary.reminded.push(d.dispute_id.clone()),
        // It moved meanwhile (answered, decided): nothing to do.
        (Ok(Changed::Unchanged(..)) | Err(DisputeError::Refused(_)), _) => {}
        (Err(e), _) => {
            tracing::error!(dispute = %d.dispute_id, error = %e, "not expired or reminded; the next run tries again");
            summary.failed.push(d.dispute_id.clone());
        }
    }
}

pub async fn handle(ctx: &Context, event: serde_json::Value) -> Result<Summary, DisputeError> {
    let at = moment(&event)?;
    let today = ist_date(at);
    let cal = &ctx.settlement.calendar;
    let mut summary = Summary { at: format_ist(at), ..Summary::default() };
    let horizon = end_of_ist_day(cal.add_business_days(today, 1));
    let due = needing_response(ctx, horizon).await?;
    let (expiring, reminding): (Vec<&Dispute>, Vec<&Dispute>) = due.iter().partition(|d| at > d.respond_by);
    for d in expiring {
        judge(ctx, d, Action::Expire, at, &mut summary).await;
    }
    let reminding: Vec<&Dispute> =
        reminding.into_iter().filter(|d| due_soon(d, today, cal) && d.reminded != Some(d.stage)).collect();
    if !reminding.is_empty() {
        let mut csv = String::from("merchant_id,dispute_id,stage,amount_paise,respond_by\n");
        for d in &reminding {
            let line = [
                &d.merchant_id,
                &d.dispute_id,
                d.stage.as_str(),
                &d.amount_paise.to_string(),
                &format_ist(d.respond_by),
            ];
            csv.push_str(&line.join(","));
            csv.push('\n');
        }
        let key = format!("disputes/reminders/{today}-{:06x}.csv", fastrand::u32(..1 << 24));
        match s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, csv.into_bytes()).await {
            Ok(()) => {
                summary.reminders_key = Some(key);
                for d in reminding {
                    judge(ctx, d, Action::Remind, at, &mut summary).await;
                }
            }
            // Not recorded on the disputes either: the next run reminds them.
            Err(e) => {
                tracing::error!(error = %e, "the reminders file was not written");
                summary.failed.extend(reminding.iter().map(|d| d.dispute_id.clone()));
            }
        }
    }
    summary.counters_removed =
        disputes::prune_due_counters(&ctx.clients.dynamodb, &ctx.resources.kpi_table, at - 3600).await?;
    if !summary.failed.is_empty() {
        return Err(DisputeError::Busy(summary.failed.join(", ")));
    }
    Ok(summary)
}
