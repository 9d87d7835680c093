//! `GET /api/audit` (`audit:read`, compliance): the trail, newest first, filtered by actor,
//! action, target and record time, a page at a time. Read-only: no route updates or deletes an
//! entry, and the functions' roles cannot (`AuditAppendPolicy` in the template).
//!
//! A page walks the days of the range from the newest, each day's chain from its newest entry;
//! the signed cursor holds the day and sequence to go on from. A filtered page examines at most
//! [`BUDGET`] entries and may come back short with a cursor.

use crate::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_http::cursor::{self, Scope};
use settlepaisa_http::input::{page_limit, Query};
use settlepaisa_http::{ApiError, Caller};
use settlepaisa_recon::date::Date;
use settlepaisa_store::audit::{self, Filter};

/// Entries one page may examine.
const BUDGET: usize = 2_000;
/// The widest range one request may name.
const MAX_DAYS: i32 = 31;
/// The range when none is named: the last week.
const DEFAULT_DAYS: i32 = 7;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditQuery {
    /// A date (`2026-11-30`) or an instant (`2026-11-30T10:00:00Z`), inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    /// A user id, or a function's name.
    pub actor: Option<String>,
    /// `exception.resolve`, `merchant.update`, …
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A bound: its day, and the instant to filter on when one was given.
fn bound(name: &str, value: &str, end: bool) -> Result<(Date, Option<String>), ApiError> {
    let bad = || {
        ApiError::bad_request(format!(
            "{name} `{}` is neither a date (YYYY-MM-DD) nor an RFC 3339 instant",
            settlepaisa_http::error::fit(value, 40)
        ))
    };
    if value.len() == 10 {
        return Ok((Date::parse_iso(value).ok_or_else(bad)?, None));
    }
    let secs = settlepaisa_recon::date::parse_rfc3339(value).ok_or_else(bad)?;
    let utc = settlepaisa_recon::date::format_utc(secs);
    let day = Date::parse_iso(&utc[..10]).ok_or_else(bad)?;
    // Record times carry milliseconds: an end bound covers its whole second.
    let instant =
        if end { format!("{}.999Z", utc.trim_end_matches('Z')) } else { format!("{}.000Z", utc.trim_end_matches('Z')) };
    Ok((day, Some(instant)))
}

fn text(name: &str, v: &Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.is_empty() || s.len() > 200 => {
            Err(ApiError::bad_request(format!("{name} must be 1 to 200 characters")))
        }
        other => Ok(other.clone()),
    }
}

/// `GET /api/audit`
pub async fn list_audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(q.limit)? as usize;
    let today = settlepaisa_http::time_filter::today();
    let (to_day, to_at) = match &q.to {
        Some(t) => bound("to", t, true)?,
        None => (today, None),
    };
    let (from_day, from_at) = match &q.from {
        Some(f) => bound("from", f, false)?,
        None => (to_day.add_days(1 - DEFAULT_DAYS), None),
    };
    if to_day < from_day || from_day.days_until(to_day) >= MAX_DAYS {
        return Err(ApiError::bad_request(format!("from..to must be in order and span at most {MAX_DAYS} days")));
    }
    let filter = Filter {
        actor: text("actor", &q.actor)?,
        action: text("action", &q.action)?,
        target_type: text("targetType", &q.target_type)?,
        target_id: text("targetId", &q.target_id)?,
        from: from_at,
        to: to_at,
    };
    let scope = Scope::new(&caller, "list-audit")
        .filter("from", q.from.as_deref())
        .filter("to", q.to.as_deref())
        .filter("actor", filter.actor.as_deref())
        .filter("action", filter.action.as_deref())
        .filter("targetType", filter.target_type.as_deref())
        .filter("targetId", filter.target_id.as_deref());
    // Where to go on from: a day and the sequence below which to read.
    let (mut day, mut after) = match &q.cursor {
        None => (to_day, None),
        Some(c) => {
            let bad = || ApiError::bad_request("cursor is not one this listing issued; start again without it");
            let at = cursor::open(&scope, c)?;
            let day = at.get("day").and_then(Value::as_str).and_then(Date::parse_iso).ok_or_else(bad)?;
            if day < from_day || day > to_day {
                return Err(bad());
            }
            (day, at.get("after").and_then(Value::as_u64))
        }
    };
    let (db, table) = (&state.ctx.clients.dynamodb, state.ctx.resources.audit_table.as_str());
    let mut entries = Vec::new();
    let mut budget = BUDGET;
    let next = loop {
        let page = audit::page(db, table, &day.to_string(), after, &filter, limit - entries.len(), budget)
            .await
            .map_err(ApiError::store)?;
        // Charged for what was examined, not what matched: a filter that rarely matches still
        // ends the page once the budget is spent.
        budget = budget.saturating_sub(page.examined.max(1));
        entries.extend(page.entries);
        let full = entries.len() == limit || budget == 0;
        match page.next {
            Some(seq) if full => break Some((day, Some(seq))),
            Some(seq) => after = Some(seq),
            None if day == from_day => break None,
            None if full => break Some((day.add_days(-1), None)),
            None => {
                day = day.add_days(-1);
                after = None;
            }
        }
    };
    let cursor = match next {
        None => None,
        Some((d, a)) => Some(cursor::seal(&scope, &json!({ "day": d.to_string(), "after": a }))?),
    };
    Ok(Json(json!({
        "entries": entries.iter().map(settlepaisa_audit::Entry::view).collect::<Vec<_>>(),
        "nextCursor": cursor,
    })))
}
