//! Turnaround-time aging of what is open over a range (issue 15 §5): open exceptions by category
//! and captured transactions not yet credited to their merchants, each day's aged under the
//! RBI circular (`settlepaisa_payout::aging`) on today's date. Plain arithmetic over the KPI
//! items; no AWS types.

use crate::dashboard::{open_exceptions, DayKpi};
use serde_json::{json, Value};
use settlepaisa_payout::aging::{age, Buckets, Tat};
use settlepaisa_payout::calendar::Calendar;
use settlepaisa_recon::date::Date;
use std::collections::BTreeMap;

/// Aged figures: all open exceptions, per category, and unsettled captures.
#[derive(Debug, Default)]
pub struct Aged {
    pub exceptions: Buckets,
    pub by_category: BTreeMap<String, Buckets>,
    pub unsettled: Buckets,
}

pub fn aged(days: &[DayKpi], today: Date, calendar: &Calendar) -> Aged {
    let mut out = Aged::default();
    for d in days {
        let Some(t) = Date::parse_iso(&d.day) else { continue };
        for (category, (open, _)) in open_exceptions(d) {
            if open.count == 0 {
                continue;
            }
            let a = age(t, Tat::for_category(&category), today, calendar, open.count);
            out.exceptions.add(&a, open.count, open.amount_paise);
            out.by_category.entry(category).or_default().add(&a, open.count, open.amount_paise);
        }
        // Captured (the merchant dimension carries no statuses: its reconciled rows were all
        // captured) less what has reached the merchant.
        let [captured_n, captured_p] =
            d.statuses.get("captured").copied().unwrap_or([d.counts.pg_count as i64, d.counts.pg_amount_paise]);
        let [credited_n, credited_p] = d.settlement.get("credited").copied().unwrap_or_default();
        let (n, paise) = ((captured_n - credited_n).max(0) as u64, captured_p - credited_p);
        if n > 0 {
            let a = age(t, Tat::MerchantPayment, today, calendar, n);
            out.unsettled.add(&a, n, paise);
        }
    }
    out
}

/// The overview's `aging`.
pub fn overview_view(a: &Aged) -> Value {
    json!({ "openExceptions": a.exceptions.view(), "unsettledCaptured": a.unsettled.view() })
}

/// Each top-reasons row gains its category's `aging`.
pub fn add_to_reasons(rows: &mut Value, a: &Aged) {
    let Some(rows) = rows.as_array_mut() else { return };
    for row in rows {
        let cat = row["category"].as_str().unwrap_or_default().to_string();
        row["aging"] = a.by_category.get(&cat).cloned().unwrap_or_default().view();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_recon::kpi::CategoryKpi;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    /// Days whose ages the test knows: on Mon 16 Nov 2026, the 13th (Fri) is 1 business day old,
    /// the 9th (Mon) 5 (Tue–Fri, Sat 14 closed, Mon 16), the 4th 9 (Sat 7 open), and 20 Oct more
    /// than 10.
    #[test]
    fn open_exceptions_and_unsettled_captures_fall_in_their_buckets_with_their_exposure() {
        let cal = Calendar::new([]);
        let mut days = Vec::new();
        for (day, n) in [("2026-11-13", 2u64), ("2026-11-09", 3), ("2026-11-04", 1), ("2026-10-20", 4)] {
            let mut k = DayKpi { day: day.into(), ..DayKpi::default() };
            k.counts.exceptions.insert(
                "UNMATCHED_PG".into(),
                CategoryKpi {
                    count: n,
                    pg_records: n,
                    bank_records: 0,
                    pg_amount_paise: n as i64 * 100,
                    amount_delta_paise: 0,
                    at_stake_paise: None,
                },
            );
            k.counts.exceptions.insert(
                "UNMATCHED_BANK".into(),
                CategoryKpi {
                    count: 1,
                    pg_records: 0,
                    bank_records: 1,
                    pg_amount_paise: 0,
                    amount_delta_paise: 500,
                    ..CategoryKpi::default()
                },
            );
            // One of the bank credits was resolved: it is not open.
            k.resolved.insert("UNMATCHED_BANK".into(), [1, 500]);
            k.statuses.insert("captured".into(), [10, 1_000]);
            k.settlement.insert("credited".into(), [7, 700]);
            days.push(k);
        }
        let a = aged(&days, d("2026-11-16"), &cal);
        let v = a.exceptions.view();
        let counts: Vec<i64> = v["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).collect();
        assert_eq!(counts, vec![2, 3, 1, 4], "0-1, 2-5, 6-10, >10");
        // Merchant payments, T+5: the 9th is due the 14th (2 days late), the 4th the 9th (7),
        // 20 Oct the 25th (22): ₹100 a day each.
        let late = |days: i64, n: i64| days * n * 10_000;
        assert_eq!(a.exceptions.exposure_paise(), late(2, 3) + late(7, 1) + late(22, 4));
        assert!(!a.by_category.contains_key("UNMATCHED_BANK"), "resolved: nothing open");
        // Three captured a day not yet credited.
        let u = a.unsettled.view();
        let counts: Vec<i64> = u["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_i64().unwrap()).collect();
        assert_eq!(counts, vec![3, 3, 3, 3]);
        assert_eq!(a.unsettled.exposure_paise(), late(2, 3) + late(7, 3) + late(22, 3));
        let mut rows = json!([{ "category": "UNMATCHED_PG" }]);
        add_to_reasons(&mut rows, &a);
        assert_eq!(rows[0]["aging"]["buckets"][3]["count"], 4);
    }
}
