//! `verify-audit`: each day's chain read whole and recomputed ([`settlepaisa_audit::verify`]).
//! The report names, per day, the entries checked or the first break; the function fails when
//! any chain is broken (its error alarm is how someone hears of it). `settlepaisa audit verify`
//! runs the same check from a laptop.

use serde_json::{json, Value};
use settlepaisa_audit::Break;
use settlepaisa_recon::date::Date;
use settlepaisa_store::{audit, Context};

/// The most days one invocation verifies.
pub const MAX_DAYS: i32 = 31;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    BadEvent(String),
    #[error(transparent)]
    Aws(#[from] settlepaisa_aws::AwsError),
    #[error("the audit trail is broken: {0}")]
    Broken(String),
}

/// One day's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayVerdict {
    pub day: String,
    pub entries: u64,
    pub broken: Option<Break>,
}

impl DayVerdict {
    pub fn view(&self) -> Value {
        json!({
            "day": self.day,
            "entries": self.entries,
            "ok": self.broken.is_none(),
            "break": self.broken.as_ref().map(|b| b.to_string()),
        })
    }
}

/// Verifies `day`'s chain as stored. Entries appended while it is read (past the head read
/// first, up to the head read last) are left for the next run; one past the last head is
/// inserted. An entry that does not read as one counts as altered where it stands.
pub async fn verify_day(client: &aws_sdk_dynamodb::Client, table: &str, day: &str) -> Result<DayVerdict, VerifyError> {
    let read = audit::chain(client, table, day).await?;
    let settled = read.head_before.as_ref().map_or(0, |h| h.seq);
    let appended = read.head_after.as_ref().map_or(0, |h| h.seq);
    let mut entries = Vec::with_capacity(read.entries.len());
    let mut unreadable: Option<u64> = None;
    for (seq, e) in read.entries {
        if seq > settled && seq <= appended {
            continue;
        }
        match e {
            Ok(e) => entries.push(e),
            Err(why) => {
                tracing::warn!(day, seq, error = %why, "an audit entry does not read");
                unreadable = Some(unreadable.map_or(seq, |u| u.min(seq)));
            }
        }
    }
    let count = entries.len() as u64;
    let found = settlepaisa_audit::verify(day, read.head_before.as_ref(), &entries).err();
    // The first break in sequence order: an unreadable entry shows to `verify` as a gap at its
    // place, which it is not.
    let broken = match (found, unreadable) {
        (None, None) => None,
        (None, Some(u)) => Some(Break::Altered { seq: u }),
        (Some(b), None) => Some(b),
        (Some(b), Some(u)) => Some(if u <= break_seq(&b) { Break::Altered { seq: u } } else { b }),
    };
    Ok(DayVerdict { day: day.to_string(), entries: count, broken })
}

fn break_seq(b: &Break) -> u64 {
    match b {
        Break::Altered { seq }
        | Break::Removed { seq }
        | Break::Inserted { seq }
        | Break::Unlinked { seq }
        | Break::Head { seq } => *seq,
    }
}

/// The days an event asks for: `day`, or `from`..=`to`, or (a scheduled run) the day before the
/// event's time and that day.
pub fn days_of(event: &Value, today: Date) -> Result<Vec<Date>, VerifyError> {
    let date = |k: &str| -> Result<Option<Date>, VerifyError> {
        match event.get(k).and_then(Value::as_str) {
            None => Ok(None),
            Some(s) => Date::parse_iso(s)
                .map(Some)
                .ok_or_else(|| VerifyError::BadEvent(format!("{k} `{s}` is not a date (YYYY-MM-DD)"))),
        }
    };
    let (from, to) = match (date("day")?, date("from")?, date("to")?) {
        (Some(d), None, None) => (d, d),
        (None, Some(f), Some(t)) => (f, t),
        (None, None, None) => {
            let at = event
                .get("time")
                .and_then(Value::as_str)
                .and_then(settlepaisa_recon::date::parse_rfc3339)
                .map_or(today, |t| Date::parse_iso(&settlepaisa_recon::date::format_utc(t)[..10]).unwrap_or(today));
            (at.add_days(-1), at)
        }
        _ => return Err(VerifyError::BadEvent("give `day`, or both `from` and `to`, or neither".into())),
    };
    if to < from || from.days_until(to) >= MAX_DAYS {
        return Err(VerifyError::BadEvent(format!("from..to must be 1 to {MAX_DAYS} days, in order")));
    }
    Ok((0..=from.days_until(to)).map(|i| from.add_days(i)).collect())
}

pub async fn handle(ctx: &Context, event: Value) -> Result<Value, VerifyError> {
    let today = settlepaisa_http::time_filter::today();
    let days = days_of(&event, today)?;
    let (db, table) = (&ctx.clients.dynamodb, ctx.resources.audit_table.as_str());
    let mut verdicts = Vec::new();
    for d in days {
        verdicts.push(verify_day(db, table, &d.to_string()).await?);
    }
    let broken: Vec<String> =
        verdicts.iter().filter_map(|v| v.broken.as_ref().map(|b| format!("{}: {b}", v.day))).collect();
    let report = json!({ "days": verdicts.iter().map(DayVerdict::view).collect::<Vec<_>>() });
    if !broken.is_empty() {
        tracing::error!(report = %report, "audit chain broken");
        return Err(VerifyError::Broken(broken.join("; ")));
    }
    tracing::info!(report = %report, "audit chains verified");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_run_checks_yesterday_and_today_and_ops_choose_days() {
        let today = Date::parse_iso("2026-11-30").unwrap();
        let d = |s: &str| Date::parse_iso(s).unwrap();
        assert_eq!(days_of(&json!({}), today).unwrap(), vec![d("2026-11-29"), d("2026-11-30")]);
        assert_eq!(
            days_of(&json!({ "time": "2026-11-02T00:30:00Z" }), today).unwrap(),
            vec![d("2026-11-01"), d("2026-11-02")]
        );
        assert_eq!(days_of(&json!({ "day": "2026-10-01" }), today).unwrap(), vec![d("2026-10-01")]);
        assert_eq!(days_of(&json!({ "from": "2026-10-01", "to": "2026-10-03" }), today).unwrap().len(), 3);
        assert!(days_of(&json!({ "from": "2026-10-03", "to": "2026-10-01" }), today).is_err());
        assert!(days_of(&json!({ "from": "2026-01-01", "to": "2026-10-01" }), today).is_err());
        assert!(days_of(&json!({ "day": "yesterday" }), today).is_err());
        assert!(days_of(&json!({ "day": "2026-10-01", "to": "2026-10-02" }), today).is_err());
    }
}
