//! KPI figures of an outcome, keyed by business day and dimension, summed across shards.
//!
//! Each match shard aggregates its own outcome and the finalizer adds the shards up, so the
//! dashboard reads a handful of precomputed items and no counter item is written by thousands of
//! writers at once.

use crate::outcome::{Category, Reconciliation};
use crate::settlement::exceptions::SettlementException;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Counts and amounts (paise) for one day and dimension.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiCounts {
    pub pg_count: u64,
    pub pg_amount_paise: i64,
    /// Captured transactions the PG handed to the bank rail (they carry a UTR).
    #[serde(default)]
    pub pg_with_utr: u64,
    #[serde(default)]
    pub pg_with_utr_amount_paise: i64,
    pub bank_count: u64,
    pub bank_amount_paise: i64,
    pub matched_count: u64,
    pub matched_amount_paise: i64,
    /// Per category: exceptions, and PG amount they cover.
    pub exceptions: BTreeMap<String, CategoryKpi>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryKpi {
    pub count: u64,
    pub pg_records: u64,
    pub bank_records: u64,
    pub pg_amount_paise: i64,
    pub amount_delta_paise: i64,
    /// Settlement categories: the money at stake, summed (what is short, in excess, missing,
    /// overcharged or paid twice). The engine's categories derive theirs ([`exposure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_stake_paise: Option<i64>,
}

impl CategoryKpi {
    /// What the category's exceptions put at stake, in paise.
    pub fn exposure(&self) -> i64 {
        self.at_stake_paise.unwrap_or_else(|| exposure(self.pg_records, self.pg_amount_paise, self.amount_delta_paise))
    }
}

/// What an engine exception puts at stake: the PG amount, or the bank amount when it has no PG
/// side (its delta is then the bank total).
pub fn exposure(pg_records: u64, pg_amount_paise: i64, amount_delta_paise: i64) -> i64 {
    if pg_records > 0 {
        pg_amount_paise
    } else {
        amount_delta_paise
    }
}

/// `(day, dimension) → counts`; dimensions are `ALL`, `MERCHANT#<id>` and `SOURCE#<bank>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kpis(pub BTreeMap<String, BTreeMap<String, KpiCounts>>);

impl Kpis {
    /// Aggregates an outcome. `source_of` names the bank (layout) of a statement file.
    pub fn of(rec: &Reconciliation<'_>, source_of: &dyn Fn(&str) -> String) -> Kpis {
        let mut k = Kpis::default();
        let mut touch = |day: String, merchant: Option<&str>, source: Option<String>, f: &dyn Fn(&mut KpiCounts)| {
            let days = k.0.entry(day).or_default();
            f(days.entry("ALL".into()).or_default());
            if let Some(m) = merchant {
                f(days.entry(format!("MERCHANT#{m}")).or_default());
            }
            if let Some(s) = source {
                f(days.entry(format!("SOURCE#{s}")).or_default());
            }
        };
        // A UTR shard's outcome still holds the records it leaves open for the residual shard:
        // count a record where it is settled (a match or an exception), once.
        let mut pg_placed = vec![false; rec.pg.len()];
        let mut bank_placed = vec![false; rec.bank.len()];
        for m in &rec.matches {
            pg_placed[m.pg as usize] = true;
            bank_placed[m.bank as usize] = true;
        }
        for e in &rec.exceptions {
            e.pg.iter().for_each(|&i| pg_placed[i as usize] = true);
            e.bank.iter().for_each(|&i| bank_placed[i as usize] = true);
        }
        // Paid through a settlement's bulk credit: each transaction placed, the credit once.
        for m in &rec.settled {
            pg_placed[m.pg as usize] = true;
            bank_placed[m.bank as usize] = true;
        }
        for p in rec.pg.iter().zip(&pg_placed).filter(|(_, placed)| **placed).map(|(p, _)| p) {
            touch(p.date.to_string(), Some(p.merchant_id), None, &|c| {
                c.pg_count += 1;
                c.pg_amount_paise += p.amount.0;
                if p.utr.is_some() {
                    c.pg_with_utr += 1;
                    c.pg_with_utr_amount_paise += p.amount.0;
                }
            });
        }
        for b in rec.bank.iter().zip(&bank_placed).filter(|(_, placed)| **placed).map(|(b, _)| b) {
            touch(b.date.to_string(), None, Some(source_of(b.file)), &|c| {
                c.bank_count += 1;
                c.bank_amount_paise += b.amount.0;
            });
        }
        for m in &rec.matches {
            let p = &rec.pg[m.pg as usize];
            let b = &rec.bank[m.bank as usize];
            touch(p.date.to_string(), Some(p.merchant_id), Some(source_of(b.file)), &|c| {
                c.matched_count += 1;
                c.matched_amount_paise += p.amount.0;
            });
        }
        // Paid through a bulk credit: each transaction is matched for its day and merchant; the
        // credit, once, for its source (a source's matched is of its own credits, at their
        // amounts, so it never passes its total).
        for m in &rec.settled {
            let p = &rec.pg[m.pg as usize];
            touch(p.date.to_string(), Some(p.merchant_id), None, &|c| {
                c.matched_count += 1;
                c.matched_amount_paise += p.amount.0;
            });
        }
        for e in &rec.exceptions {
            let first_pg = e.pg.first().map(|&i| &rec.pg[i as usize]);
            let first_bank = e.bank.first().map(|&i| &rec.bank[i as usize]);
            let day =
                first_pg.map(|p| p.date).or(first_bank.map(|b| b.date)).map(|d| d.to_string()).unwrap_or_default();
            let pg_amount: i64 = e.pg.iter().map(|&i| rec.pg[i as usize].amount.0).sum();
            let category = e.category.as_str();
            touch(day, first_pg.map(|p| p.merchant_id), first_bank.map(|b| source_of(b.file)), &|c| {
                let x = c.exceptions.entry(category.to_string()).or_default();
                x.count += 1;
                x.pg_records += e.pg.len() as u64;
                x.bank_records += e.bank.len() as u64;
                x.pg_amount_paise += pg_amount;
                x.amount_delta_paise += e.amount_delta;
            });
        }
        let mut credits: Vec<u32> = rec.settled.iter().map(|m| m.bank).collect();
        credits.sort_unstable();
        credits.dedup();
        for b in credits {
            let b = &rec.bank[b as usize];
            let days = k.0.entry(b.date.to_string()).or_default();
            let c = days.entry(format!("SOURCE#{}", source_of(b.file))).or_default();
            c.matched_count += 1;
            c.matched_amount_paise += b.amount.0;
        }
        k
    }

    /// Adds the settlement step's exceptions: each counted for its settlement's day, its
    /// transaction's merchant (a line check on a captured one) and its credit's source. Their
    /// records are placed (counted) where the engine put them, so only the exceptions are added.
    pub fn add_settlement_exceptions(
        &mut self,
        exceptions: &[SettlementException<'_>],
        rec: &Reconciliation<'_>,
        source_of: &dyn Fn(&str) -> String,
    ) {
        for e in exceptions {
            let days = self.0.entry(e.settled_on.to_string()).or_default();
            let merchant = e.pg.map(|p| format!("MERCHANT#{}", rec.pg[p as usize].merchant_id));
            let source = e.bank.map(|b| format!("SOURCE#{}", source_of(rec.bank[b as usize].file)));
            for dim in std::iter::once("ALL".to_string()).chain(merchant).chain(source) {
                let x = days.entry(dim).or_default().exceptions.entry(e.category.as_str().to_string()).or_default();
                x.count += 1;
                x.amount_delta_paise += e.delta.0;
                x.at_stake_paise = Some(x.at_stake_paise.unwrap_or(0) + e.at_stake.0);
            }
        }
    }

    /// Adds another shard's figures.
    pub fn merge(&mut self, other: Kpis) {
        for (day, dims) in other.0 {
            let mine = self.0.entry(day).or_default();
            for (dim, c) in dims {
                mine.entry(dim).or_default().add(&c);
            }
        }
    }

    /// The total over all days for one dimension.
    pub fn total(&self, dimension: &str) -> KpiCounts {
        let mut sum = KpiCounts::default();
        for c in self.0.values().filter_map(|dims| dims.get(dimension)) {
            sum.add(c);
        }
        sum
    }
}

impl KpiCounts {
    pub fn add(&mut self, c: &KpiCounts) {
        self.pg_count += c.pg_count;
        self.pg_amount_paise += c.pg_amount_paise;
        self.pg_with_utr += c.pg_with_utr;
        self.pg_with_utr_amount_paise += c.pg_with_utr_amount_paise;
        self.bank_count += c.bank_count;
        self.bank_amount_paise += c.bank_amount_paise;
        self.matched_count += c.matched_count;
        self.matched_amount_paise += c.matched_amount_paise;
        for (cat, x) in &c.exceptions {
            let y = self.exceptions.entry(cat.clone()).or_default();
            y.count += x.count;
            y.pg_records += x.pg_records;
            y.bank_records += x.bank_records;
            y.pg_amount_paise += x.pg_amount_paise;
            y.amount_delta_paise += x.amount_delta_paise;
            if let Some(p) = x.at_stake_paise {
                y.at_stake_paise = Some(y.at_stake_paise.unwrap_or(0) + p);
            }
        }
    }
}

/// Exception count of a category in counts (0 when absent).
pub fn category_count(c: &KpiCounts, category: Category) -> u64 {
    c.exceptions.get(category.as_str()).map_or(0, |x| x.count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MatchConfig;
    use crate::engine::reconcile;
    use crate::test_records::{credit, pg};

    #[test]
    fn kpis_count_every_record_once_and_shards_add_up() {
        let cfg = MatchConfig::default();
        let r = reconcile(
            vec![pg("T1", 1_000, "629412345678", 1), pg("T2", 2_000, "", 1)],
            vec![credit(5, 1_000, "UPI/629412345678/X", 2), credit(6, 9_000, "UPI/629412345600/X", 2)],
            &cfg,
        );
        let k = Kpis::of(&r, &|_| "hdfc".into());
        let all = k.total("ALL");
        assert_eq!((all.pg_count, all.bank_count, all.matched_count), (2, 2, 1));
        assert_eq!(all.matched_amount_paise, 1_000);
        assert_eq!(category_count(&all, Category::UtrMissing), 1);
        assert_eq!(category_count(&all, Category::UnmatchedBank), 1);
        assert_eq!(k.total("SOURCE#hdfc").bank_count, 2);
        assert_eq!(k.total("MERCHANT#M1").pg_count, 2);
        let mut twice = k.clone();
        twice.merge(k.clone());
        assert_eq!(twice.total("ALL").pg_count, 4);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(serde_json::from_str::<Kpis>(&json).unwrap(), k);
    }

    #[test]
    fn records_a_utr_shard_leaves_open_are_not_counted_by_it() {
        let cfg = MatchConfig::default();
        let out = crate::engine::reconcile_utr_shard(
            vec![pg("T1", 1_000, "629412345678", 1), pg("T2", 2_000, "629412345699", 1)],
            vec![credit(5, 1_000, "UPI/629412345678/X", 2)],
            &cfg,
        );
        assert_eq!(out.open_pg.len(), 1, "T2 goes on to the residual shard");
        let all = Kpis::of(&out.settled, &|_| "hdfc".into()).total("ALL");
        assert_eq!((all.pg_count, all.bank_count, all.matched_count), (1, 1, 1));
    }
}
