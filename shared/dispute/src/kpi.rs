//! What a dispute adds to the dispute KPIs (the overview's open-by-stage counts and amount at
//! risk, won and lost counts): a change moves the counters by the difference between what the
//! dispute added before and after, in the same transaction as the change.

use crate::model::{Dispute, Stage, Status};
use std::collections::BTreeMap;

/// Counter names: `open_n_{stage}`, `open_p_{stage}`, `won_n`, `won_p`, `lost_n`, `lost_p`.
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

/// Every counter name, for readers.
pub fn names() -> Vec<String> {
    let mut out: Vec<String> =
        Stage::ALL.iter().flat_map(|s| [format!("open_n_{}", s.as_str()), format!("open_p_{}", s.as_str())]).collect();
    out.extend(["won_n", "won_p", "lost_n", "lost_p"].map(String::from));
    out
}
