//! The dispute KPIs (the overview's open disputes by stage, amount at risk, due within 24 hours,
//! won and lost): counters on one KPI item per scope, moved by the difference between what a
//! dispute added before and after each change, in the same transaction as the change. So the
//! overview reads them with the rest of its items, in its one BatchGetItem.
//!
//! Counters: `open_n_{stage}`, `open_p_{stage}`, `won_n`, `won_p`, `lost_n`, `lost_p` (lost,
//! accepted and expired), and `due_{YYYYMMDDHH}`: the disputes needing a response whose
//! deadline falls in that UTC hour, so "due within 24 hours" is a sum of 25 hour buckets.

use crate::model::{Dispute, Stage, Status};
use serde::Serialize;
use std::collections::BTreeMap;

/// The `due_…` counter of a deadline's UTC hour.
pub fn due_bucket(unix_seconds: i64) -> String {
    let hour = unix_seconds.div_euclid(3600);
    let date = settlepaisa_recon::date::Date(hour.div_euclid(24) as i32);
    let (y, m, d) = date.ymd();
    format!("due_{y:04}{m:02}{d:02}{:02}", hour.rem_euclid(24))
}

/// What one dispute adds to the counters.
pub fn counters(d: &Dispute) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let (n, p) = if d.status.is_open() {
        (format!("open_n_{}", d.stage.as_str()), format!("open_p_{}", d.stage.as_str()))
    } else if d.status == Status::Won {
        ("won_n".into(), "won_p".into())
    } else {
        ("lost_n".into(), "lost_p".into())
    };
    out.insert(n, 1);
    out.insert(p, d.amount_paise);
    if d.status == Status::NeedsResponse {
        out.insert(due_bucket(d.respond_by), 1);
    }
    out
}

/// The counters' moves from `before` (none: a new dispute) to `after`; zero moves left out.
pub fn delta(before: Option<&Dispute>, after: &Dispute) -> BTreeMap<String, i64> {
    let mut out = counters(after);
    for (k, v) in before.map(counters).unwrap_or_default() {
        *out.entry(k).or_insert(0) -= v;
    }
    out.retain(|_, v| *v != 0);
    out
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageFigure {
    pub stage: &'static str,
    pub count: i64,
    pub amount_paise: i64,
}

/// The overview's dispute figures from a scope's counters, at `now`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    pub open_by_stage: Vec<StageFigure>,
    pub open: i64,
    /// Σ amounts of open disputes: what the merchants may still lose.
    pub amount_at_risk_paise: i64,
    pub due_within_24h: i64,
    pub won: i64,
    pub lost: i64,
    /// won / (won + lost) in basis points; `None` before any is decided.
    pub win_rate_bps: Option<i64>,
}

pub fn figures(counters: &BTreeMap<String, i64>, now: i64) -> Figures {
    let get = |k: &str| counters.get(k).copied().unwrap_or(0);
    let mut f = Figures::default();
    for s in Stage::ALL {
        let fig = StageFigure {
            stage: s.as_str(),
            count: get(&format!("open_n_{}", s.as_str())),
            amount_paise: get(&format!("open_p_{}", s.as_str())),
        };
        f.open += fig.count;
        f.amount_at_risk_paise += fig.amount_paise;
        f.open_by_stage.push(fig);
    }
    f.due_within_24h = (0..=24).map(|h| get(&due_bucket(now + h * 3600))).sum();
    f.won = get("won_n");
    f.lost = get("lost_n");
    f.win_rate_bps = (f.won + f.lost > 0).then(|| f.won * 10_000 / (f.won + f.lost));
    f
}
