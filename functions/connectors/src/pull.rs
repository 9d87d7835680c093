//! `pull-connectors`: run every 15 minutes by EventBridge Scheduler (or by ops with
//! `{"connector": "HDFC"}`, which runs that one now, breaker or not). For each enabled
//! connector whose schedule (cron, IST) has a minute since its last run: take its lease (one run
//! of a connector at a time), ask its breaker, run it, record the outcome and every breaker
//! change. A connector that fails is recorded and the others still run; the function fails only
//! when the store does (the schedule's retry runs it again).

use crate::error::ConnectorError;
use crate::run::{run, RunContext, RunOutcome};
use serde_json::{json, Value};
use settlepaisa_connector::breaker::{Admission, Thresholds};
use settlepaisa_store::{connectors, Context};
use tokio::time::Instant;

/// How long a run may hold its connector (the function's timeout is 900 s).
const LEASE_SECS: i64 = 960;
/// Time kept back from the function's deadline to record a run's outcome.
const MARGIN: std::time::Duration = std::time::Duration::from_secs(30);
/// A connector is not started with less than this left.
const MIN_START: std::time::Duration = std::time::Duration::from_secs(90);
/// How far back a connector never run looks for a due minute (the schedule's period).
const FIRST_LOOKBACK_SECS: i64 = 900;

/// The moment of a run: the event's `time` (EventBridge's), else now.
pub fn moment(event: &Value) -> Result<i64, ConnectorError> {
    match event.get("time").and_then(Value::as_str) {
        Some(t) => settlepaisa_recon::date::parse_rfc3339(t)
            .ok_or_else(|| ConnectorError::Config(format!("time `{t}` is not RFC 3339 with an offset"))),
        None => Ok(settlepaisa_http::edge::now_secs() as i64),
    }
}

/// The audit entry of the breaker changes a run made (`None` when it made none): the scheduled
/// run decided them; written with the state that holds them.
fn breaker_audit<'c>(
    ctx: &'c Context,
    bank: &str,
    changes: &[settlepaisa_connector::breaker::Transition],
) -> Option<(&'c str, settlepaisa_audit::Draft)> {
    let (first, last) = (changes.first()?, changes.last()?);
    let reasons: Vec<&str> = changes.iter().map(|t| t.reason.as_str()).collect();
    let draft = settlepaisa_store::audit::by_function(
        "pull-connectors",
        "connector.breaker",
        ("connector", bank),
        &format!("run-{}", last.at),
    )
    .reason(reasons.join("; "))
    .change(json!({ "breaker": first.from }), json!({ "breaker": last.to }));
    Some((ctx.resources.audit_table.as_str(), draft))
}

/// `deadline`: when the function's time ends (Lambda's context; 900 s from now when invoked
/// otherwise).
pub async fn handle(ctx: &Context, event: Value, deadline: Option<Instant>) -> Result<Value, ConnectorError> {
    let deadline = deadline.unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(900));
    let clock = settlepaisa_http::edge::now_secs() as i64;
    let mut now = moment(&event)?;
    if (now - clock).abs() > ctx.connectors.max_event_skew_secs {
        // A stale or replayed event (a sample's fixed time) must not move state back in time.
        tracing::warn!(event_time = now, clock, "event time far from the clock; using the clock");
        now = clock;
    }
    let forced = event.get("connector").and_then(Value::as_str).map(str::to_string);
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let all = connectors::all(db, table).await?;
    if let Some(bank) = &forced {
        if !all.contains_key(bank) {
            return Err(ConnectorError::Config(format!("no connector `{bank}`")));
        }
    }
    let th =
        Thresholds { failures_to_open: ctx.connectors.failures_to_open, cool_down_secs: ctx.connectors.cool_down_secs };
    let mut report = Vec::new();
    // The longest waiting first: a run that runs out of time leaves the others for next time,
    // not the same ones every time.
    let mut all: Vec<_> = all.into_iter().collect();
    all.sort_by_key(|(bank, (_, s))| (s.last_run_at, bank.clone()));
    for (bank, (stored, mut state)) in all {
        let cfg = &stored.config;
        let is_forced = forced.as_deref() == Some(bank.as_str());
        if forced.is_some() && !is_forced {
            continue;
        }
        if !is_forced {
            let since = state.last_run_at.unwrap_or(now - FIRST_LOOKBACK_SECS);
            if !cfg.enabled || !cfg.schedule().due_between(since, now) {
                continue;
            }
        }
        if Instant::now() + MIN_START > deadline {
            report.push(json!({ "connector": bank, "outcome": "deferred", "why": "the run's time is nearly spent" }));
            continue;
        }
        if !connectors::lease(db, table, &bank, now, now + LEASE_SECS).await? {
            report.push(json!({ "connector": bank, "outcome": "busy" }));
            continue;
        }
        let (admission, breaker, opened) = state.breaker.admit(now);
        let mut changes = Vec::new();
        if let Some(t) = opened {
            connectors::record_transition(db, table, &bank, &t).await?;
            changes.push(t);
        }
        state.breaker = breaker;
        if let (Admission::Skip { retry_at }, false) = (admission, is_forced) {
            // Not a run: the schedule's minute stays due, so the first run past `retry_at` is
            // the trial (a daily connector is not held a day for an hour's cool-down).
            connectors::finish_run(db, table, &bank, &state, breaker_audit(ctx, &bank, &changes)).await?;
            report.push(json!({ "connector": bank, "outcome": "skipped", "breaker": "open", "retryAt": retry_at }));
            continue;
        }
        let rc =
            RunContext { ctx, bank: &bank, cfg, now, last_success: state.last_success_at, deadline: deadline - MARGIN };
        let outcome: RunOutcome = run(&rc).await;
        let (breaker, changed) = state.breaker.after_run(outcome.error.as_deref(), now, th);
        if let Some(t) = changed {
            tracing::warn!(bank, from = t.from, to = t.to, reason = t.reason, "connector breaker changed");
            connectors::record_transition(db, table, &bank, &t).await?;
            changes.push(t);
        }
        state.breaker = breaker;
        state.last_run_at = Some(now);
        state.files_taken += outcome.taken.len() as u64;
        state.payouts_pushed += outcome.pushed.len() as u64;
        if !outcome.taken.is_empty() {
            state.last_file_at = Some(now);
        }
        match &outcome.error {
            None => state.last_success_at = Some(now),
            Some(e) => {
                tracing::error!(bank, error = e, "connector run failed");
                state.last_error = Some(e.chars().take(500).collect());
                state.last_error_at = Some(now);
            }
        }
        if !outcome.file_errors.is_empty() {
            // The endpoint worked; some files did not come (fetched again next run). Shown, not
            // counted by the breaker.
            let e = outcome.file_errors.join("; ");
            tracing::error!(bank, error = e, "connector files not taken");
            state.last_error = Some(e.chars().take(500).collect());
            state.last_error_at = Some(now);
        }
        connectors::finish_run(db, table, &bank, &state, breaker_audit(ctx, &bank, &changes)).await?;
        report.push(json!({
            "connector": bank,
            "outcome": if outcome.error.is_some() { "failed" } else { "ran" },
            "taken": outcome.taken,
            "pushed": outcome.pushed,
            "retries": outcome.retries,
            "error": outcome.error,
            "fileErrors": outcome.file_errors,
            "breaker": state.breaker.name(),
        }));
    }
    Ok(json!({ "at": settlepaisa_recon::date::format_utc(now), "connectors": report }))
}
