//! What a merchant has waiting, estimated from aggregates (no transaction is read): per capture
//! day in the settlement window, the payments reconciliation matched (the merchant's KPI items)
//! less those its batches took (their capture-day tallies; a failed batch took nothing). The
//! cycle itself decides exactly; this is what the dashboard shows and what an on-demand request
//! is refused on when it is nothing.

use settlepaisa_http::time_filter::DayRange;
use settlepaisa_http::ApiError;
use settlepaisa_payout::calendar::Calendar;
use settlepaisa_payout::merchant::Merchant;
use settlepaisa_payout::payout_response::BatchStatus;
use settlepaisa_recon::date::Date;
use settlepaisa_recon::money::Paise;
use settlepaisa_recon::settlement::fees::share;
use settlepaisa_store::settlements::{self, BatchRecord};
use settlepaisa_store::Context;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Availability {
    /// Matched and not yet in a batch, by capture day: count and paise.
    pub awaiting: BTreeMap<Date, [i64; 2]>,
    /// Batches made and not yet credited or failed.
    pub in_flight: Vec<BatchRecord>,
    /// The newest batch.
    pub last: Option<BatchRecord>,
    /// Collections (captured) by day, from the KPI items.
    pub collected: BTreeMap<Date, [i64; 2]>,
    /// Matched by day.
    pub matched: BTreeMap<Date, [i64; 2]>,
    /// The merchant's dispute counters (`settlepaisa_dispute::kpi`), read with the days.
    pub disputes: BTreeMap<String, i64>,
}

impl Availability {
    pub fn awaiting_total(&self) -> [i64; 2] {
        self.awaiting.values().fold([0, 0], |a, d| [a[0] + d[0], a[1].saturating_add(d[1])])
    }

    /// The first cycle date after `today` on which something waiting is due, and the gross due by
    /// then (an on-demand date takes everything).
    pub fn next_due(&self, m: &Merchant, cal: &Calendar, today: Date) -> Option<(Date, i64)> {
        let first_run = cal.add_business_days(today.add_days(1), 0);
        let date = self.awaiting.keys().map(|c| cal.add_business_days(*c, m.settlement_days).max(first_run)).min()?;
        let gross = self
            .awaiting
            .iter()
            .filter(|(c, _)| cal.add_business_days(**c, m.settlement_days) <= date)
            .map(|(_, t)| t[1])
            .sum();
        Some((date, gross))
    }
}

/// Net of `gross` as the plan takes it at its highest rate: an estimate (the methods, refunds
/// and adjustments are known to the cycle only).
pub fn estimated_net(m: &Merchant, gross: i64) -> i64 {
    let rate = m.mdr_bps.iter().copied().max().unwrap_or(0);
    let fee = share(Paise(gross), rate);
    let gst = share(fee, m.gst_bps);
    let reserve = share(Paise(gross), m.reserve_bps);
    gross - fee.0 - gst.0 - reserve.0
}

pub async fn of(ctx: &Context, merchant_id: &str, today: Date) -> Result<Availability, ApiError> {
    let db = &ctx.clients.dynamodb;
    let from = today.add_days(-(ctx.settlement.window_days as i32));
    let kpi = settlepaisa_overview::kpi_store::read(
        db,
        &ctx.resources.kpi_table,
        DayRange { from, to: today },
        &format!("MERCHANT#{merchant_id}"),
    )
    .await
    .map_err(ApiError::internal)?;
    let mut a = Availability { disputes: kpi.disputes, ..Availability::default() };
    for d in &kpi.days {
        let Some(day) = Date::parse_iso(&d.day) else { continue };
        a.collected.insert(day, [d.counts.pg_count as i64, d.counts.pg_amount_paise]);
        a.matched.insert(day, [d.counts.matched_count as i64, d.counts.matched_amount_paise]);
    }
    // Batches of cycle dates in the window: a batch before it took only captures before it.
    let mut taken: BTreeMap<Date, [i64; 2]> = BTreeMap::new();
    let mut start = None;
    loop {
        let page = settlements::merchant_batches(
            db,
            &ctx.resources.settlements_table,
            merchant_id,
            &from.to_string(),
            "9999-12-31",
            500,
            start,
        )
        .await?;
        for b in page.batches {
            if a.last.as_ref().is_none_or(|l| (&l.cycle_date, &l.settlement_id) < (&b.cycle_date, &b.settlement_id)) {
                a.last = Some(b.clone());
            }
            if b.status == BatchStatus::Failed {
                continue;
            }
            for (day, [n, p]) in &b.days {
                if let Some(d) = Date::parse_iso(day) {
                    let t = taken.entry(d).or_default();
                    t[0] += n;
                    t[1] += p;
                }
            }
            if matches!(b.status, BatchStatus::PendingPayout | BatchStatus::SentToBank) {
                a.in_flight.push(b);
            }
        }
        match page.next {
            Some(k) => start = Some(k),
            None => break,
        }
    }
    for (day, [n, p]) in &a.matched {
        let t = taken.get(day).copied().unwrap_or_default();
        let (left_n, left_p) = (n - t[0], p - t[1]);
        if left_n > 0 && left_p > 0 {
            a.awaiting.insert(*day, [left_n, left_p]);
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_due_date_is_the_first_run_after_today_that_something_is_due_on() {
        let m = settlepaisa_payout::merchant::generated(1).remove(0); // T+1
        let cal = Calendar::default();
        let d = |s: &str| Date::parse_iso(s).unwrap();
        let a = Availability {
            awaiting: BTreeMap::from([(d("2026-10-09"), [2, 1_000]), (d("2026-10-12"), [1, 500])]),
            ..Availability::default()
        };
        // Friday 9 Oct, T+1: Monday 12 (the 10th is a 2nd Saturday); the 12th's is due the 13th.
        assert_eq!(a.next_due(&m, &cal, d("2026-10-09")), Some((d("2026-10-12"), 1_000)));
        assert_eq!(a.next_due(&m, &cal, d("2026-10-12")), Some((d("2026-10-13"), 1_500)));
        assert_eq!(a.awaiting_total(), [3, 1_500]);
        // 2 % card rate, 18 % GST on it, no reserve: 1,000 → 1,000 − 20 − 4 = 976.
        assert_eq!(estimated_net(&m, 1_000), 976);
    }
}
