//! The dashboard's figures from a range of daily KPI records: plain arithmetic over integers,
//! no AWS types. Rates are basis points (integers) with a display string; money is paise.

use serde::Serialize;
use serde_json::{json, Value};
use settlepaisa_recon::kpi::KpiCounts;
use std::collections::BTreeMap;

/// One day's KPI item of one dimension, with the resolutions made since the job finished.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayKpi {
    pub day: String,
    /// As the job computed them; `matched_*` already include matches made by resolutions.
    pub counts: KpiCounts,
    /// Per category: exceptions resolved and the exposure (paise) they covered.
    pub resolved: BTreeMap<String, [i64; 2]>,
    /// PG rows by status: count and paise (the `ALL` dimension only).
    pub statuses: BTreeMap<String, [i64; 2]>,
    /// Per bank: credits, credits matched (with resolutions), and their paise.
    pub sources: BTreeMap<String, SourceKpi>,
    /// Transactions by settlement stage now (`in_settlement`, `sent_to_bank`, `credited`): count
    /// and paise, from the settlement engine's batches.
    pub settlement: BTreeMap<String, [i64; 2]>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct SourceKpi {
    #[serde(default)]
    pub bank_count: u64,
    #[serde(default)]
    pub bank_amount_paise: i64,
    #[serde(default)]
    pub matched_count: u64,
    #[serde(default)]
    pub matched_amount_paise: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Figure {
    pub count: u64,
    pub amount_paise: i64,
}

impl Figure {
    fn add(&mut self, count: u64, amount: i64) {
        self.count += count;
        self.amount_paise += amount;
    }
}

/// `part / whole` in basis points, and as text (`92.31%`).
pub fn rate(part: u64, whole: u64) -> Value {
    let bps = (part.saturating_mul(10_000)).checked_div(whole).unwrap_or(0);
    json!({ "bps": bps, "display": format!("{}.{:02}%", bps / 100, bps % 100) })
}

/// Per category: open and resolved exceptions, count and exposure.
pub fn open_exceptions(d: &DayKpi) -> BTreeMap<String, (Figure, Figure)> {
    let mut out = BTreeMap::new();
    for (cat, c) in &d.counts.exceptions {
        let [n, paise] = d.resolved.get(cat).copied().unwrap_or_default();
        let total = c.exposure();
        // Resolutions are added to the day's item whichever job wrote it last: never more
        // resolved than the item holds, so the open figures never go below zero.
        let paise = paise.clamp(0, total.max(0));
        let resolved = Figure { count: (n.max(0) as u64).min(c.count), amount_paise: paise };
        let open = Figure { count: c.count - resolved.count, amount_paise: total - paise };
        out.insert(cat.clone(), (open, resolved));
    }
    out
}

/// `GET /api/overview`.
pub fn overview(days: &[DayKpi]) -> Value {
    let (mut pg, mut bank, mut matched, mut open, mut resolved) =
        (Figure::default(), Figure::default(), Figure::default(), Figure::default(), Figure::default());
    let mut by_day = Vec::with_capacity(days.len());
    for d in days {
        let c = &d.counts;
        pg.add(c.pg_count, c.pg_amount_paise);
        bank.add(c.bank_count, c.bank_amount_paise);
        matched.add(c.matched_count, c.matched_amount_paise);
        let (mut day_open, mut day_resolved) = (Figure::default(), Figure::default());
        for (o, r) in open_exceptions(d).values() {
            day_open.add(o.count, o.amount_paise);
            day_resolved.add(r.count, r.amount_paise);
        }
        open.add(day_open.count, day_open.amount_paise);
        resolved.add(day_resolved.count, day_resolved.amount_paise);
        by_day.push(json!({
            "date": d.day,
            "pgTransactions": c.pg_count,
            "matched": c.matched_count,
            "matchRate": rate(c.matched_count, c.pg_count),
            "openExceptions": day_open.count,
        }));
    }
    let unmatched =
        Figure { count: pg.count.saturating_sub(matched.count), amount_paise: pg.amount_paise - matched.amount_paise };
    json!({
        "pgTransactions": pg,
        "bankCredits": bank,
        "matched": matched,
        "unmatchedPg": unmatched,
        "matchRate": rate(matched.count, pg.count),
        "exceptions": { "open": open, "resolved": resolved },
        "byDay": by_day,
    })
}

/// `GET /api/pipeline`: the seed's funnel, each stage the transactions in it now (as the seed
/// counts them by status): captured → reconciled (reconciliation proved the money arrived) →
/// in_settlement (in a settlement batch) → sent_to_bank (in a payout file) → credited (the bank
/// confirmed the payout to the merchant). A failed payout's transactions go back to reconciled.
pub fn pipeline(days: &[DayKpi]) -> Value {
    let (mut captured, mut reconciled, mut in_settlement, mut sent, mut credited) =
        (Figure::default(), Figure::default(), Figure::default(), Figure::default(), Figure::default());
    let mut other: BTreeMap<String, Figure> = BTreeMap::new();
    for d in days {
        let c = &d.counts;
        match d.statuses.get("captured") {
            Some([n, paise]) => captured.add(*n as u64, *paise),
            // Merchant dimensions carry no status tallies: every reconciled row was captured.
            None => captured.add(c.pg_count, c.pg_amount_paise),
        }
        for (status, [n, paise]) in d.statuses.iter().filter(|(s, _)| s.as_str() != "captured") {
            other.entry(status.clone()).or_default().add(*n as u64, *paise);
        }
        reconciled.add(c.matched_count, c.matched_amount_paise);
        let stage = |name: &str| d.settlement.get(name).copied().unwrap_or_default();
        let [n, p] = stage("in_settlement");
        in_settlement.add(n.max(0) as u64, p);
        let [n, p] = stage("sent_to_bank");
        sent.add(n.max(0) as u64, p);
        let [n, p] = stage("credited");
        credited.add(n.max(0) as u64, p);
    }
    json!({
        "captured": captured,
        "reconciled": reconciled,
        "inSettlement": in_settlement,
        "sentToBank": sent,
        "credited": credited,
        "creditedRate": rate(credited.count, captured.count),
        "otherStatuses": other,
    })
}

/// `GET /api/sources`: the PG export and every bank, with total, matched and match rate.
pub fn sources(days: &[DayKpi]) -> Value {
    let (mut pg_total, mut pg_matched) = (Figure::default(), Figure::default());
    let mut banks: BTreeMap<&str, (Figure, Figure)> = BTreeMap::new();
    for d in days {
        pg_total.add(d.counts.pg_count, d.counts.pg_amount_paise);
        pg_matched.add(d.counts.matched_count, d.counts.matched_amount_paise);
        for (name, s) in &d.sources {
            let b = banks.entry(name).or_default();
            b.0.add(s.bank_count, s.bank_amount_paise);
            b.1.add(s.matched_count, s.matched_amount_paise);
        }
    }
    let row = |source: &str, kind: &str, total: Figure, matched: Figure| {
        json!({
            "source": source,
            "kind": kind,
            "total": total.count,
            "matched": matched.count,
            "unmatched": total.count.saturating_sub(matched.count),
            "totalAmountPaise": total.amount_paise,
            "matchedAmountPaise": matched.amount_paise,
            "matchRate": rate(matched.count, total.count),
        })
    };
    let mut out = vec![row("PG", "pg", pg_total, pg_matched)];
    out.extend(banks.into_iter().map(|(name, (t, m))| row(name, "bank", t, m)));
    Value::from(out)
}

/// `GET /api/top-reasons`: exception categories by open count (then exposure), with what was
/// resolved.
pub fn top_reasons(days: &[DayKpi]) -> Value {
    let mut by_cat: BTreeMap<String, (Figure, Figure, i64)> = BTreeMap::new();
    for d in days {
        let open = open_exceptions(d);
        for (cat, c) in &d.counts.exceptions {
            let e = by_cat.entry(cat.clone()).or_default();
            let (o, r) = open.get(cat).copied().unwrap_or_default();
            e.0.add(o.count, o.amount_paise);
            e.1.add(r.count, r.amount_paise);
            e.2 += c.amount_delta_paise;
        }
    }
    let mut rows: Vec<_> = by_cat.into_iter().collect();
    rows.sort_by(|a, b| (b.1 .0.count, b.1 .0.amount_paise, &a.0).cmp(&(a.1 .0.count, a.1 .0.amount_paise, &b.0)));
    let total_open: u64 = rows.iter().map(|r| r.1 .0.count).sum();
    Value::from(
        rows.into_iter()
            .map(|(cat, (open, resolved, delta))| {
                json!({
                    "category": cat,
                    "open": open.count,
                    "openAmountPaise": open.amount_paise,
                    "resolved": resolved.count,
                    "resolvedAmountPaise": resolved.amount_paise,
                    "amountDeltaPaise": delta,
                    "share": rate(open.count, total_open),
                })
            })
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_recon::kpi::CategoryKpi;

    fn day(pg: u64, matched: u64, exceptions: &[(&str, u64, i64)], resolved: &[(&str, i64, i64)]) -> DayKpi {
        let mut d = DayKpi { day: "2026-11-20".into(), ..DayKpi::default() };
        d.counts.pg_count = pg;
        d.counts.pg_amount_paise = pg as i64 * 100;
        d.counts.matched_count = matched;
        d.counts.matched_amount_paise = matched as i64 * 100;
        d.counts.pg_with_utr = pg - 1;
        d.counts.pg_with_utr_amount_paise = (pg as i64 - 1) * 100;
        for &(cat, count, paise) in exceptions {
            d.counts.exceptions.insert(
                cat.into(),
                CategoryKpi {
                    count,
                    pg_records: count,
                    bank_records: 0,
                    pg_amount_paise: paise,
                    amount_delta_paise: -paise,
                    at_stake_paise: None,
                },
            );
        }
        for &(cat, n, paise) in resolved {
            d.resolved.insert(cat.into(), [n, paise]);
        }
        d
    }

    #[test]
    fn overview_adds_days_and_subtracts_resolutions() {
        let days = [day(10, 8, &[("UNMATCHED_PG", 2, 200)], &[("UNMATCHED_PG", 1, 100)]), day(4, 4, &[], &[])];
        let v = overview(&days);
        assert_eq!(v["pgTransactions"]["count"], 14);
        assert_eq!(v["matched"]["count"], 12);
        assert_eq!(v["matchRate"]["bps"], 8571);
        assert_eq!(v["matchRate"]["display"], "85.71%");
        assert_eq!(v["exceptions"]["open"]["count"], 1);
        assert_eq!(v["exceptions"]["open"]["amountPaise"], 100);
        assert_eq!(v["exceptions"]["resolved"]["count"], 1);
        assert_eq!(v["byDay"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn funnel_uses_status_tallies_when_present() {
        let mut d = day(10, 7, &[], &[]);
        d.statuses.insert("captured".into(), [10, 1000]);
        d.statuses.insert("failed".into(), [3, 300]);
        d.settlement.insert("in_settlement".into(), [2, 200]);
        d.settlement.insert("sent_to_bank".into(), [1, 100]);
        d.settlement.insert("credited".into(), [3, 300]);
        let v = pipeline(&[d.clone()]);
        assert_eq!(v["captured"]["count"], 10);
        assert_eq!(v["reconciled"]["count"], 7);
        assert_eq!(v["inSettlement"]["count"], 2, "the settlement engine's states, not proxies");
        assert_eq!(v["sentToBank"]["count"], 1);
        assert_eq!(v["credited"]["count"], 3);
        assert_eq!(v["otherStatuses"]["failed"]["count"], 3);
        d.statuses.clear();
        assert_eq!(pipeline(&[d])["captured"]["count"], 10, "merchant items fall back to reconciled rows");
    }

    #[test]
    fn top_reasons_rank_by_open_count() {
        let days = [day(10, 5, &[("UNMATCHED_PG", 2, 200), ("AMOUNT_MISMATCH", 3, 50)], &[("AMOUNT_MISMATCH", 2, 20)])];
        let v = top_reasons(&days);
        assert_eq!(v[0]["category"], "UNMATCHED_PG");
        assert_eq!(v[1]["category"], "AMOUNT_MISMATCH");
        assert_eq!(v[1]["open"], 1);
        assert_eq!(v[1]["resolved"], 2);
        assert_eq!(v[0]["share"]["bps"], 6666);
    }

    #[test]
    fn a_settlement_finding_weighs_its_money_at_stake_not_its_transaction() {
        let mut d = day(10, 10, &[("UNMATCHED_PG", 1, 100)], &[]);
        // Two short credits (40 and 60 paise short) and one fee overcharge of 100 paise on a
        // ₹1,000 payment, one short credit resolved.
        let short = CategoryKpi { count: 2, amount_delta_paise: -100, at_stake_paise: Some(100), ..Default::default() };
        d.counts.exceptions.insert("SHORT_CREDIT".into(), short);
        let fee = CategoryKpi { count: 1, amount_delta_paise: 100, at_stake_paise: Some(100), ..Default::default() };
        d.counts.exceptions.insert("FEE_MISMATCH".into(), fee);
        d.resolved.insert("SHORT_CREDIT".into(), [1, 40]);
        let v = top_reasons(&[d.clone()]);
        let row = |c: &str| v.as_array().unwrap().iter().find(|r| r["category"] == c).unwrap().clone();
        assert_eq!(
            (row("SHORT_CREDIT")["open"].as_u64(), row("SHORT_CREDIT")["openAmountPaise"].as_i64()),
            (Some(1), Some(60))
        );
        assert_eq!(row("FEE_MISMATCH")["openAmountPaise"], 100);
        assert_eq!(overview(&[d])["exceptions"]["open"]["count"], 3, "the engine's one and the two findings");
    }

    #[test]
    fn sources_list_pg_then_banks() {
        let mut d = day(10, 6, &[], &[]);
        d.sources.insert("HDFC".into(), SourceKpi { bank_count: 8, matched_count: 6, ..SourceKpi::default() });
        let v = sources(&[d]);
        assert_eq!(v[0]["source"], "PG");
        assert_eq!(v[1]["source"], "HDFC");
        assert_eq!(v[1]["matchRate"]["bps"], 7500);
    }

    #[test]
    fn empty_ranges_are_zero_not_errors() {
        assert_eq!(overview(&[])["matchRate"]["bps"], 0);
        assert_eq!(top_reasons(&[]), json!([]));
    }
}
