//! Counts and amounts of an outcome: what the summary reports and the dashboard's KPIs roll up.

use crate::outcome::{Category, Reconciliation};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CategoryTotals {
    pub exceptions: u64,
    pub pg_records: u64,
    pub bank_records: u64,
    /// Σ bank − Σ PG over the covered records.
    pub amount_delta_paise: i64,
    /// Σ PG amounts over the covered records.
    pub pg_amount_paise: i64,
    pub with_suggestion: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeTotals {
    pub pg_records: u64,
    pub bank_records: u64,
    pub pg_amount_paise: i64,
    pub bank_amount_paise: i64,
    /// Matched PG records, each to its own credit or through a settlement's bulk credit.
    pub matched: u64,
    /// Of `matched`, those matched through a settlement.
    pub settlement_matched: u64,
    pub matched_pg_amount_paise: i64,
    pub matched_bank_amount_paise: i64,
    /// Matched PG records per 10 000 PG records (basis points, rounded down).
    pub match_rate_bps: u64,
    pub categories: BTreeMap<&'static str, CategoryTotals>,
}

impl OutcomeTotals {
    pub fn of(rec: &Reconciliation<'_>) -> OutcomeTotals {
        let mut t = OutcomeTotals {
            pg_records: rec.pg.len() as u64,
            bank_records: rec.bank.len() as u64,
            pg_amount_paise: rec.pg.iter().map(|p| p.amount.0).sum(),
            bank_amount_paise: rec.bank.iter().map(|b| b.amount.0).sum(),
            matched: (rec.matches.len() + rec.settled.len()) as u64,
            settlement_matched: rec.settled.len() as u64,
            ..OutcomeTotals::default()
        };
        for m in &rec.matches {
            t.matched_pg_amount_paise += rec.pg[m.pg as usize].amount.0;
            t.matched_bank_amount_paise += rec.bank[m.bank as usize].amount.0;
        }
        // A bulk credit backs many transactions: counted once.
        let mut credits: Vec<u32> = rec.settled.iter().map(|m| m.bank).collect();
        credits.sort_unstable();
        credits.dedup();
        for m in &rec.settled {
            t.matched_pg_amount_paise += rec.pg[m.pg as usize].amount.0;
        }
        for b in credits {
            t.matched_bank_amount_paise += rec.bank[b as usize].amount.0;
        }
        t.match_rate_bps = (t.matched * 10_000).checked_div(t.pg_records).unwrap_or(0);
        for c in Category::ALL {
            t.categories.insert(c.as_str(), CategoryTotals::default());
        }
        for e in &rec.exceptions {
            let c = t.categories.entry(e.category.as_str()).or_default();
            c.exceptions += 1;
            c.pg_records += e.pg.len() as u64;
            c.bank_records += e.bank.len() as u64;
            c.amount_delta_paise += e.amount_delta;
            c.pg_amount_paise += e.pg.iter().map(|&p| rec.pg[p as usize].amount.0).sum::<i64>();
            c.with_suggestion += u64::from(e.suggestion.is_some());
        }
        t
    }
}
