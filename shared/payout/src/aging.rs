//! Turnaround-time aging (issue 15 §5): RBI's circular on failed transactions (the harmonised TAT,
//! 2019) made concrete for what ops hold open.
//!
//! - A transfer (UPI or IMPS: here, a bank credit no PG transaction explains) must be put right by
//!   **T+1**; a merchant payment (UPI to a merchant, card-not-present — every PG transaction) by
//!   **T+5**. T is the transaction's date and the days are calendar days, as the circular counts
//!   them.
//! - Past the deadline the customer is owed **₹100 a day** per transaction: the accrued exposure.
//! - Age, for the ops queue, is counted in *business* days (the settlement calendar), and bucketed
//!   0–1, 2–5, 6–10, >10.

use crate::calendar::Calendar;
use serde::Serialize;
use settlepaisa_recon::date::Date;

/// What a day beyond the deadline costs, per transaction: ₹100.
pub const COMPENSATION_PAISE_PER_DAY: i64 = 10_000;

/// Which turnaround the circular sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tat {
    /// UPI / IMPS transfers: T+1.
    Transfer,
    /// UPI merchant payments and card-not-present: T+5.
    MerchantPayment,
    /// Not the circular's: a settlement finding (a short or missing bulk credit, a fee over the
    /// contract) is a claim on the acquirer, raised by T+7 (T the settlement's date) while the
    /// report is fresh. No customer is owed compensation for it.
    AcquirerClaim,
}

impl Tat {
    pub fn days(self) -> i32 {
        match self {
            Tat::Transfer => 1,
            Tat::MerchantPayment => 5,
            Tat::AcquirerClaim => 7,
        }
    }

    /// What each day past the deadline costs, per transaction, in paise.
    pub fn compensation_per_day(self) -> i64 {
        match self {
            Tat::Transfer | Tat::MerchantPayment => COMPENSATION_PAISE_PER_DAY,
            Tat::AcquirerClaim => 0,
        }
    }

    /// An exception's turnaround: a bank credit with no transaction behind it
    /// (`UNMATCHED_BANK`) is a transfer to return; a settlement finding is a claim on the
    /// acquirer; every other category holds a PG transaction.
    pub fn for_category(category: &str) -> Tat {
        if category == "UNMATCHED_BANK" {
            Tat::Transfer
        } else if settlepaisa_recon::settlement::exceptions::SettlementCategory::parse(category).is_some() {
            Tat::AcquirerClaim
        } else {
            Tat::MerchantPayment
        }
    }
}

/// Age in business days, bucketed as the overview shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Bucket {
    #[serde(rename = "0-1")]
    UpTo1,
    #[serde(rename = "2-5")]
    UpTo5,
    #[serde(rename = "6-10")]
    UpTo10,
    #[serde(rename = ">10")]
    Over10,
}

impl Bucket {
    pub const ALL: [Bucket; 4] = [Bucket::UpTo1, Bucket::UpTo5, Bucket::UpTo10, Bucket::Over10];

    pub fn of(age_business_days: u32) -> Bucket {
        match age_business_days {
            0..=1 => Bucket::UpTo1,
            2..=5 => Bucket::UpTo5,
            6..=10 => Bucket::UpTo10,
            _ => Bucket::Over10,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Bucket::UpTo1 => "0-1",
            Bucket::UpTo5 => "2-5",
            Bucket::UpTo10 => "6-10",
            Bucket::Over10 => ">10",
        }
    }
}

/// Where something open stands on `today`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Aging {
    pub tat: Tat,
    /// Business days after T, up to today.
    pub age_business_days: u32,
    pub bucket: Bucket,
    /// T + the turnaround, in calendar days.
    #[serde(serialize_with = "iso")]
    pub deadline: Date,
    /// Calendar days past the deadline (0 until it passes).
    pub overdue_days: u32,
    /// ₹100 a day past the deadline, per transaction, in paise.
    pub exposure_paise: i64,
}

fn iso<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

/// The aging on `today` of `transactions` (at least one) of day `t` under `tat`.
pub fn age(t: Date, tat: Tat, today: Date, calendar: &Calendar, transactions: u64) -> Aging {
    let age_business_days = if today > t { calendar.business_days(t.add_days(1), today).count() as u32 } else { 0 };
    let deadline = t.add_days(tat.days());
    let overdue_days = deadline.days_until(today).max(0) as u32;
    let exposure_paise =
        i64::from(overdue_days).saturating_mul(tat.compensation_per_day()).saturating_mul(transactions.max(1) as i64);
    Aging { tat, age_business_days, bucket: Bucket::of(age_business_days), deadline, overdue_days, exposure_paise }
}

/// Counts, amounts and exposure per bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Buckets(pub std::collections::BTreeMap<Bucket, [i64; 3]>);

impl Buckets {
    /// Adds `count` items of `amount_paise` aged `a`.
    pub fn add(&mut self, a: &Aging, count: u64, amount_paise: i64) {
        let e = self.0.entry(a.bucket).or_default();
        e[0] += count as i64;
        e[1] = e[1].saturating_add(amount_paise);
        e[2] = e[2].saturating_add(a.exposure_paise);
    }

    pub fn exposure_paise(&self) -> i64 {
        self.0.values().map(|v| v[2]).fold(0i64, i64::saturating_add)
    }

    /// Every bucket, empty ones included, in order.
    pub fn view(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = Bucket::ALL
            .iter()
            .map(|b| {
                let [n, paise, exposure] = self.0.get(b).copied().unwrap_or_default();
                serde_json::json!({ "bucket": b.label(), "count": n, "amountPaise": paise, "exposurePaise": exposure })
            })
            .collect();
        serde_json::json!({ "buckets": rows, "exposurePaise": self.exposure_paise() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    #[test]
    fn deadlines_follow_the_circular_and_exposure_accrues_per_day_past_them() {
        let cal = Calendar::new([]);
        // Monday 2026-11-02: a merchant payment's deadline is T+5 (Saturday 7th, calendar days).
        let a = age(d("2026-11-02"), Tat::MerchantPayment, d("2026-11-07"), &cal, 1);
        assert_eq!((a.deadline, a.overdue_days, a.exposure_paise), (d("2026-11-07"), 0, 0));
        let a = age(d("2026-11-02"), Tat::MerchantPayment, d("2026-11-10"), &cal, 3);
        assert_eq!(a.overdue_days, 3);
        assert_eq!(a.exposure_paise, 3 * 3 * 10_000, "₹100 a day for each of three transactions");
        // A transfer: T+1.
        let a = age(d("2026-11-02"), Tat::Transfer, d("2026-11-04"), &cal, 1);
        assert_eq!((a.deadline, a.overdue_days, a.exposure_paise), (d("2026-11-03"), 1, 10_000));
        assert_eq!(Tat::for_category("UNMATCHED_BANK"), Tat::Transfer);
        assert_eq!(Tat::for_category("AMOUNT_MISMATCH"), Tat::MerchantPayment);
        assert_eq!(Tat::for_category("FEE_MISMATCH"), Tat::AcquirerClaim);
        // A claim on the acquirer owes no customer anything, however late.
        let late = age(d("2026-10-01"), Tat::AcquirerClaim, d("2026-11-01"), &Calendar::new([]), 3);
        assert_eq!((late.deadline, late.overdue_days, late.exposure_paise), (d("2026-10-08"), 24, 0));
    }

    #[test]
    fn age_counts_business_days_and_buckets_them() {
        let cal = Calendar::new([d("2026-11-04")]);
        // Mon 2 Nov → Mon 9 Nov: Tue 3, (Wed 4 a holiday), Thu 5, Fri 6, Sat 7 (the first
        // Saturday: banks open), (Sun 8), Mon 9.
        let a = age(d("2026-11-02"), Tat::MerchantPayment, d("2026-11-09"), &cal, 1);
        assert_eq!((a.age_business_days, a.bucket), (5, Bucket::UpTo5));
        // To Sat 14 Nov (the second Saturday, closed): Tue 10 … Fri 13 add four more.
        let a = age(d("2026-11-02"), Tat::MerchantPayment, d("2026-11-14"), &cal, 1);
        assert_eq!((a.age_business_days, a.bucket), (9, Bucket::UpTo10));
        assert_eq!(age(d("2026-11-02"), Tat::Transfer, d("2026-11-02"), &cal, 1).bucket, Bucket::UpTo1);
        assert_eq!(Bucket::of(6), Bucket::UpTo10);
        assert_eq!(Bucket::of(11), Bucket::Over10);
    }

    proptest! {
        /// Older is never younger, never less overdue, never less exposed.
        #[test]
        fn aging_only_grows(offset in 0i32..400, later in 0i32..60, n in 1u64..50) {
            let cal = Calendar::new([]);
            let t = d("2026-01-01");
            let a = age(t, Tat::MerchantPayment, t.add_days(offset), &cal, n);
            let b = age(t, Tat::MerchantPayment, t.add_days(offset + later), &cal, n);
            prop_assert!(b.age_business_days >= a.age_business_days);
            prop_assert!(b.overdue_days >= a.overdue_days && b.exposure_paise >= a.exposure_paise);
            prop_assert!(b.bucket >= a.bucket);
        }
    }
}
