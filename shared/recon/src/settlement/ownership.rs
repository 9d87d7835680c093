//! Which settlement findings a job of a date range raises, so that consecutive jobs (a day each)
//! raise every finding once between them, as one run over all their days would.
//!
//! A job takes every report dated within its range plus the date window, and holds the
//! transactions captured in its range only. A report's row naming a transaction the job does
//! not hold is then either not captured at all (`UNKNOWN_TXN`) or captured on a day of another
//! job — which the job finds out by looking the id up ([`Scope::captured_elsewhere`]). The rules:
//!
//! - a line check about a transaction the job holds is the job's;
//! - one about a transaction captured on another job's day is that job's, never this one's;
//! - any other line check (an unknown transaction, an adjustment) and a settlement's status are
//!   the job's when it **owns the settlement**: a row of it names a transaction the job holds, or
//!   — when none of its rows names a captured transaction anywhere — the job's range holds the
//!   day before `settled_on` (acquirers settle a day's captures the next day).
//!
//! An offline run (and a job over every capture day of its reports) owns everything.

use super::exceptions::SettlementException;
use super::report_file::SettlementRow;
use crate::date::Date;
use std::collections::HashMap;

/// What a job holds, and what it learned of the transactions it does not.
pub struct Scope<'s> {
    /// Whether the job holds the transaction (captured in its range).
    pub holds: &'s (dyn Fn(&str) -> bool + Sync),
    /// Whether the transaction was captured on a day outside the job's range.
    pub captured_elsewhere: &'s (dyn Fn(&str) -> bool + Sync),
    /// The job's capture days; `None` for a run without a range (offline).
    pub range: Option<(Date, Date)>,
}

impl Scope<'_> {
    /// An offline run: it holds every transaction it has and owns every settlement.
    pub fn everything() -> Scope<'static> {
        Scope { holds: &|_| true, captured_elsewhere: &|_| false, range: None }
    }
}

/// Per settlement id: whether the job owns it. Taken from the rows before the settlement step
/// consumes them.
pub fn owned_settlements<'a>(rows: &[SettlementRow<'a>], scope: &Scope<'_>) -> HashMap<&'a str, bool> {
    // (a row names a transaction the job holds, a row names one captured anywhere, settled_on)
    let mut seen: HashMap<&'a str, (bool, bool, Date)> = HashMap::new();
    for r in rows {
        let e = seen.entry(r.settlement_id).or_insert((false, false, r.settled_on));
        if r.kind.names_a_transaction() && !r.txn_id.is_empty() {
            let held = (scope.holds)(r.txn_id);
            e.0 |= held;
            e.1 |= held || (scope.captured_elsewhere)(r.txn_id);
        }
    }
    seen.into_iter()
        .map(|(id, (holds_one, any_captured, settled_on))| {
            let by_day = match scope.range {
                None => true,
                Some((from, to)) => {
                    let day = settled_on.add_days(-1);
                    from <= day && day <= to
                }
            };
            (id, holds_one || (!any_captured && by_day))
        })
        .collect()
}

/// The findings the job raises, in their order.
pub fn owned_findings<'a>(
    findings: Vec<SettlementException<'a>>,
    owned: &HashMap<&str, bool>,
    scope: &Scope<'_>,
) -> Vec<SettlementException<'a>> {
    findings
        .into_iter()
        .filter(|f| {
            let settlement_owned = owned.get(f.settlement_id).copied().unwrap_or(true);
            match f.row {
                // A settlement's status.
                None => settlement_owned,
                Some(_) if f.pg.is_some() || (!f.txn_id.is_empty() && (scope.holds)(f.txn_id)) => true,
                Some(_) if !f.txn_id.is_empty() && (scope.captured_elsewhere)(f.txn_id) => false,
                Some(_) => settlement_owned,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Paise;
    use crate::settlement::exceptions::SettlementCategory;
    use crate::settlement::{LineCategory, RowKind};
    use crate::utr::find_utr;

    fn day(d: &str) -> Date {
        Date::parse_iso(d).unwrap()
    }

    fn row(settlement: &'static str, settled_on: &str, txn: &'static str) -> SettlementRow<'static> {
        SettlementRow {
            file: "r.csv",
            line: 2,
            settlement_id: settlement,
            settlement_utr: find_utr("HDFCN52026100512").unwrap(),
            settled_on: day(settled_on),
            kind: RowKind::Payment,
            entity_id: "e",
            txn_id: txn,
            amount: Paise(100),
            fee: Paise(0),
            tax: Paise(0),
            raw: "",
        }
    }

    fn finding(
        category: SettlementCategory,
        settlement: &'static str,
        txn: &'static str,
        line: bool,
    ) -> SettlementException<'static> {
        SettlementException {
            category,
            settlement_id: settlement,
            settled_on: day("2026-10-02"),
            txn_id: txn,
            pg: None,
            bank: None,
            expected: None,
            actual: Paise(100),
            delta: Paise(100),
            at_stake: Paise(100),
            reason: String::new(),
            row: line.then_some(("r.csv", 2)),
        }
    }

    /// Day 1 holds T1 (captured 1 Oct); T2 was captured 2 Oct; GHOST never was.
    fn day_one() -> Scope<'static> {
        Scope {
            holds: &|t| t == "T1",
            captured_elsewhere: &|t| t == "T2",
            range: Some((day("2026-10-01"), day("2026-10-01"))),
        }
    }

    #[test]
    fn a_job_owns_the_settlements_of_its_captures_and_unknown_ones_by_the_day_before_settlement() {
        let rows = [
            row("S1", "2026-10-02", "T1"),
            row("S1", "2026-10-02", "GHOST"),
            row("S2", "2026-10-03", "T2"),
            row("S3", "2026-10-02", "GHOST"),
            row("S4", "2026-10-03", "GHOST"),
        ];
        let owned = owned_settlements(&rows, &day_one());
        let mut got: Vec<_> = owned.iter().map(|(s, o)| (*s, *o)).collect();
        got.sort();
        assert_eq!(got, [("S1", true), ("S2", false), ("S3", true), ("S4", false)]);
        assert!(owned_settlements(&rows, &Scope::everything()).values().all(|o| *o), "offline owns all");

        let status = |s| finding(SettlementCategory::ShortCredit, s, "", false);
        let line = |s, t| finding(SettlementCategory::Line(LineCategory::UnknownTxn), s, t, true);
        let findings = vec![status("S1"), status("S2"), line("S1", "GHOST"), line("S1", "T2"), line("S2", "GHOST")];
        let kept: Vec<_> = owned_findings(findings, &owned, &day_one())
            .iter()
            .map(|f| (f.settlement_id, f.txn_id, f.row.is_some()))
            .collect();
        // S2 is day two's; T2's row is day two's to check, whatever settlement it is in.
        assert_eq!(kept, [("S1", "", false), ("S1", "GHOST", true)]);
    }
}
