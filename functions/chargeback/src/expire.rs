//! `expire-disputes`: once a day (EventBridge, IST morning), every `needs_response` dispute past
//! its `respond_by` becomes `expired` — lost, its debit made if it was not — and every one due by
//! the end of the next business day gets its reminder recorded: an event in its history (once a
//! stage) and a line of `disputes/reminders/{date}.csv` for the merchant notifications to send.
//! Ops run it for any moment with `{"time": "<RFC 3339>"}` (the scheduled event's own field).

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

#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub at: String,
    pub expired: Vec<String>,
    pub reminded: Vec<String>,
    pub reminders_key: Option<String>,
}

/// The moment the run judges by: the event's `time`, or now.
pub fn moment(event: &serde_json::Value) -> Result<i64, DisputeError> {
    match event.get("time").and_then(|v| v.as_str()) {
        Some(t) => parse_rfc3339(t).ok_or_else(|| DisputeError::BadEvent(format!("time `{t}` is not RFC 3339"))),
        None => Ok(now()),
    }
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

pub async fn handle(ctx: &Context, event: serde_json::Value) -> Result<Summary, DisputeError> {
    let at = moment(&event)?;
    let today = ist_date(at);
    let cal = &ctx.settlement.calendar;
    let mut summary = Summary { at: format_ist(at), ..Summary::default() };
    let horizon = end_of_ist_day(cal.add_business_days(today, 1));
    let mut reminders = String::from("merchant_id,dispute_id,stage,amount_paise,respond_by\n");
    for d in needing_response(ctx, horizon).await? {
        let action = if at > d.respond_by { Action::Expire } else { Action::Remind };
        let expiring = matches!(action, Action::Expire);
        if !expiring && !due_soon(&d, today, cal) {
            continue;
        }
        let result = change(ctx, &d.dispute_id, at, |current| {
            let Some(current) = current else { return Err("the dispute is gone".into()) };
            let cx = Rules { rules: &ctx.dispute_rules, calendar: cal, now: at, by: FUNCTION };
            apply(current, &action, &cx)
        })
        .await;
        match result {
            Ok(Changed::Written(d)) if expiring => summary.expired.push(d.dispute_id),
            Ok(Changed::Written(d)) => {
                reminders.push_str(&format!(
                    "{},{},{},{},{}\n",
                    d.merchant_id,
                    d.dispute_id,
                    d.stage.as_str(),
                    d.amount_paise,
                    format_ist(d.respond_by)
                ));
                summary.reminded.push(d.dispute_id);
            }
            Ok(Changed::Unchanged(..)) => {}
            // A dispute that moved meanwhile is judged again tomorrow; the others still are today.
            Err(DisputeError::Refused(why)) => tracing::warn!(dispute = %d.dispute_id, why, "not expired or reminded"),
            Err(e) => return Err(e),
        }
    }
    if !summary.reminded.is_empty() {
        let key = format!("disputes/reminders/{today}-{:06x}.csv", fastrand::u32(..1 << 24));
        s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, reminders.into_bytes()).await?;
        summary.reminders_key = Some(key);
    }
    Ok(summary)
}
