//! The seed's confidence score for one PG transaction against one bank credit, with its
//! explanation: which fields agreed, each one's weight, and the total.

use crate::bank_file::BankRow;
use crate::config::{format_fixed, MatchConfig, SCALE};
use crate::pg_file::PgTxn;

/// Which fields agreed, as bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Agreed(u8);

impl Agreed {
    pub const UTR: u8 = 1;
    pub const AMOUNT: u8 = 2;
    pub const DATE: u8 = 4;
    pub const MERCHANT_REF: u8 = 8;

    pub fn has(self, field: u8) -> bool {
        self.0 & field != 0
    }

    pub fn bits(self) -> u8 {
        self.0
    }
}

impl Score {
    /// The score of a pair that agrees on exactly `bits` with no amount difference: what every
    /// pair with those bits shows, so reports can format each combination once.
    pub fn of_agreed(bits: u8, cfg: &MatchConfig) -> Score {
        let weights = [cfg.weight_utr, cfg.weight_amount, cfg.weight_date, cfg.weight_merchant_ref];
        let points = (0..4).filter(|i| bits & (1 << i) != 0).map(|i| weights[i]).sum();
        Score { agreed: Agreed(bits & 0xF), points, total: cfg.total_weight(), amount_delta: 0, day_gap: 0 }
    }
}

/// A scored pair: points are the summed weights of the agreeing fields, in ten-thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    pub agreed: Agreed,
    pub points: u32,
    pub total: u32,
    /// Bank amount minus PG amount, in paise.
    pub amount_delta: i64,
    /// Days from the capture date to the bank value date.
    pub day_gap: i32,
}

impl Score {
    /// Confidence in ten-thousandths, rounded half up: `points / total`.
    pub fn confidence(&self) -> u32 {
        ((u64::from(self.points) * u64::from(SCALE) * 2 + u64::from(self.total)) / (2 * u64::from(self.total))) as u32
    }

    /// Whether `points / total ≥ threshold`, compared exactly.
    pub fn meets(&self, threshold: u32) -> bool {
        u64::from(self.points) * u64::from(SCALE) >= u64::from(threshold) * u64::from(self.total)
    }

    /// `utr:1 amount:0.8 date:0.6 = 2.4/3.1`, with the amount difference when it is not zero.
    pub fn explain(&self, cfg: &MatchConfig) -> String {
        let mut parts = Vec::with_capacity(4);
        let fields = [
            (Agreed::UTR, "utr", cfg.weight_utr),
            (Agreed::AMOUNT, "amount", cfg.weight_amount),
            (Agreed::DATE, "date", cfg.weight_date),
            (Agreed::MERCHANT_REF, "merchant_ref", cfg.weight_merchant_ref),
        ];
        for (bit, name, weight) in fields {
            if self.agreed.has(bit) {
                let mut part = format!("{name}:{}", format_fixed(weight));
                if bit == Agreed::AMOUNT && self.amount_delta != 0 {
                    part.push_str(&format!("(delta {:+})", self.amount_delta));
                }
                parts.push(part);
            }
        }
        if parts.is_empty() {
            parts.push("none".into());
        }
        format!("{} = {}/{}", parts.join(" "), format_fixed(self.points), format_fixed(self.total))
    }
}

/// Scores `pg` against `bank` by the configured rules.
pub fn score(pg: &PgTxn<'_>, bank: &BankRow<'_>, cfg: &MatchConfig) -> Score {
    let amount_delta = bank.amount.0 - pg.amount.0;
    let day_gap = pg.date.days_until(bank.date);
    let mut agreed = 0u8;
    let mut points = 0u32;
    if pg.utr.is_some() && pg.utr == bank.utr {
        agreed |= Agreed::UTR;
        points += cfg.weight_utr;
    }
    if amount_delta.abs() < cfg.amount_tolerance_paise {
        agreed |= Agreed::AMOUNT;
        points += cfg.weight_amount;
    }
    if day_gap.abs() <= cfg.date_tolerance_days {
        agreed |= Agreed::DATE;
        points += cfg.weight_date;
    }
    if contains_ignore_ascii_case(bank.narration, pg.merchant_ref) {
        agreed |= Agreed::MERCHANT_REF;
        points += cfg.weight_merchant_ref;
    }
    Score { agreed: Agreed(agreed), points, total: cfg.total_weight(), amount_delta, day_gap }
}

/// Whether `needle` (non-empty) occurs in `haystack`, ignoring ASCII case.
fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() || n.len() > h.len() {
        return false;
    }
    let last_start = h.len() - n.len();
    memchr::memchr2_iter(n[0].to_ascii_lowercase(), n[0].to_ascii_uppercase(), &h[..=last_start])
        .any(|at| h[at..at + n.len()].eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(amount: i64, utr: &str, merchant_ref: &'static str) -> PgTxn<'static> {
        crate::test_records::pg("T1", amount, utr, 1).with_ref(merchant_ref)
    }

    fn bank(amount: i64, day: u32, narration: &'static str) -> BankRow<'static> {
        crate::test_records::credit(5, amount, narration, day)
    }

    #[test]
    fn full_agreement_scores_one() {
        let cfg = MatchConfig::default();
        let s = score(&pg(85_000, "629412345678", "ORD-1"), &bank(85_000, 2, "UPI/629412345678/ord-1"), &cfg);
        assert_eq!(s.points, 31_000);
        assert_eq!(s.confidence(), 10_000);
        assert_eq!(s.explain(&cfg), "utr:1 amount:0.8 date:0.6 merchant_ref:0.7 = 3.1/3.1");
    }

    #[test]
    fn utr_amount_and_date_clear_the_seed_threshold_but_amount_and_date_alone_do_not() {
        let cfg = MatchConfig::default();
        let s = score(&pg(85_000, "629412345678", "ORD-9"), &bank(85_050, 2, "UPI/629412345678/X"), &cfg);
        assert_eq!(s.confidence(), 7_742);
        assert!(s.meets(cfg.threshold));
        assert_eq!(s.explain(&cfg), "utr:1 amount:0.8(delta +50) date:0.6 = 2.4/3.1");
        let no_utr = score(&pg(85_000, "", "ORD-9"), &bank(85_000, 2, "UPI PAYMENT"), &cfg);
        assert_eq!(no_utr.points, 14_000);
        assert!(!no_utr.meets(cfg.threshold));
    }

    #[test]
    fn tolerances_are_exclusive_for_amount_and_inclusive_for_days() {
        let cfg = MatchConfig::default();
        let p = pg(85_000, "", "");
        assert!(score(&p, &bank(85_099, 1, ""), &cfg).agreed.has(Agreed::AMOUNT));
        assert!(!score(&p, &bank(85_100, 1, ""), &cfg).agreed.has(Agreed::AMOUNT));
        assert!(score(&p, &bank(85_000, 2, ""), &cfg).agreed.has(Agreed::DATE));
        assert!(!score(&p, &bank(85_000, 3, ""), &cfg).agreed.has(Agreed::DATE));
        assert!(
            !score(&p, &bank(85_000, 1, "anything"), &cfg).agreed.has(Agreed::MERCHANT_REF),
            "empty ref never agrees"
        );
    }

    #[test]
    fn threshold_comparison_is_exact_at_the_boundary() {
        let s = Score { agreed: Agreed(0), points: 3, total: 4, amount_delta: 0, day_gap: 0 };
        assert!(s.meets(7_500));
        assert!(!s.meets(7_501));
    }
}
