//! A merchant's ledger as the cloud keeps it between runs: one text object per version (S3), read
//! whole, changed by a run or a failed payout, and written again under a new name. Two changes to
//! the text are never both kept: the merchant's ledger head in DynamoDB names the current object
//! and moves only by a conditional write.
//!
//! Lines, tab-separated, after the header `settlepaisa-ledger v1`:
//! `B batch` a batch id used; `P txn batch`, `R refund batch`, `A adjustment batch` what a batch
//! took; `V batch merchant withheld_on amount release_on released_by|-` reserve; `H date` the
//! horizon (what batches before it took is forgotten).

use crate::cycle::{Ledger, Reserve};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::money::Paise;

pub const LEDGER_HEADER: &str = "settlepaisa-ledger v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    #[error("ledger line {0}: {1}")]
    BadLine(usize, String),
}

/// The cycle date a batch id ends with (`STL-{merchant}-{YYYYMMDD}`).
pub fn batch_date(batch_id: &str) -> Option<Date> {
    let digits = batch_id.get(batch_id.len().checked_sub(8)?..)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().ok();
    Date::from_ymd(n(0..4)? as i32, n(4..6)?, n(6..8)?)
}

impl Ledger {
    pub fn to_text(&self) -> String {
        let mut out = format!("{LEDGER_HEADER}\n");
        if let Some(h) = self.horizon {
            out.push_str(&format!("H\t{h}\n"));
        }
        for b in &self.batches {
            out.push_str(&format!("B\t{b}\n"));
        }
        for o in &self.reopened {
            out.push_str(&format!("O\t{o}\n"));
        }
        for (tag, map) in [("P", &self.payments), ("R", &self.refunds), ("A", &self.adjustments)] {
            for (id, batch) in map {
                out.push_str(&format!("{tag}\t{id}\t{batch}\n"));
            }
        }
        for r in &self.reserves {
            out.push_str(&format!(
                "V\t{}\t{}\t{}\t{}\t{}\t{}\n",
                r.batch_id,
                r.merchant_id,
                r.withheld_on,
                r.amount.0,
                r.release_on,
                r.released_by.as_deref().unwrap_or("-")
            ));
        }
        out
    }

    pub fn parse(text: &str) -> Result<Ledger, LedgerError> {
        let mut lines = text.lines().enumerate();
        if lines.next().map(|(_, l)| l) != Some(LEDGER_HEADER) {
            return Err(LedgerError::BadLine(1, format!("the header must be `{LEDGER_HEADER}`")));
        }
        let mut ledger = Ledger::default();
        for (i, line) in lines {
            let bad = |why: &str| LedgerError::BadLine(i + 1, format!("{why}: `{line}`"));
            let f: Vec<&str> = line.split('\t').collect();
            let date = |s: &str| Date::parse_iso(s).ok_or_else(|| bad("not a date"));
            match (f[0], f.len()) {
                ("H", 2) => ledger.horizon = Some(date(f[1])?),
                ("O", 2) => {
                    ledger.reopened.insert(f[1].to_string());
                }
                ("B", 2) => {
                    ledger.batches.insert(f[1].to_string());
                }
                ("P", 3) => {
                    ledger.payments.insert(f[1].to_string(), f[2].to_string());
                }
                ("R", 3) => {
                    ledger.refunds.insert(f[1].to_string(), f[2].to_string());
                }
                ("A", 3) => {
                    ledger.adjustments.insert(f[1].to_string(), f[2].to_string());
                }
                ("V", 7) => ledger.reserves.push(Reserve {
                    batch_id: f[1].to_string(),
                    merchant_id: f[2].to_string(),
                    withheld_on: date(f[3])?,
                    amount: Paise(f[4].parse().map_err(|_| bad("not an amount"))?),
                    release_on: date(f[5])?,
                    released_by: (f[6] != "-").then(|| f[6].to_string()),
                }),
                _ => return Err(bad("not a ledger line")),
            }
        }
        Ok(ledger)
    }

    /// Forgets what batches of cycle dates before `window_start` took, and moves the horizon
    /// there: inputs dated before the horizon are never eligible again, so nothing forgotten can
    /// be paid twice, even by a later run of an earlier day. Reserve still held stays.
    pub fn prune(&mut self, window_start: Date) {
        let window_start = self.horizon.map_or(window_start, |h| h.max(window_start));
        self.horizon = Some(window_start);
        let recent = |batch: &String| batch_date(batch).is_none_or(|d| d >= window_start);
        self.payments.retain(|_, b| recent(b));
        self.refunds.retain(|_, b| recent(b));
        self.adjustments.retain(|_, b| recent(b));
        self.batches.retain(recent);
        self.reserves.retain(|r| r.released_by.as_ref().is_none_or(recent));
    }

    /// A batch whose payout failed took nothing: its payments, refunds and adjustments are
    /// eligible again, reserve it released is held again, reserve it withheld was never held. Its
    /// id stays used.
    ///
    /// Reserve the failed batch withheld that a later batch has released already is forgotten too:
    /// the later batch paid it out of the nodal account, and the batch that takes the failed one's
    /// payments again withholds its own. The merchant ends with what it would have had without
    /// the failure.
    pub fn undo(&mut self, batch_id: &str) {
        // Given back whatever their dates: eligible again even if the horizon has passed them.
        for (tag, map) in [("P", &mut self.payments), ("R", &mut self.refunds), ("A", &mut self.adjustments)] {
            let back: Vec<String> = map.iter().filter(|(_, b)| *b == batch_id).map(|(id, _)| id.clone()).collect();
            for id in back {
                map.remove(&id);
                self.reopened.insert(format!("{tag}:{id}"));
            }
        }
        self.reserves.retain(|r| r.batch_id != batch_id);
        for r in &mut self.reserves {
            if r.released_by.as_deref() == Some(batch_id) {
                r.released_by = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    fn sample() -> Ledger {
        let mut l = Ledger::default();
        l.batches.insert("STL-M1-20261012".into());
        l.batches.insert("STL-M1-20261113".into());
        l.payments.insert("T1".into(), "STL-M1-20261012".into());
        l.payments.insert("T2".into(), "STL-M1-20261113".into());
        l.refunds.insert("RF1".into(), "STL-M1-20261113".into());
        l.adjustments.insert("AD1".into(), "STL-M1-20261012".into());
        l.reserves.push(Reserve {
            batch_id: "STL-M1-20261012".into(),
            merchant_id: "M1".into(),
            withheld_on: d("2026-10-12"),
            amount: Paise(1_000),
            release_on: d("2026-11-11"),
            released_by: Some("STL-M1-20261113".into()),
        });
        l.reserves.push(Reserve {
            batch_id: "STL-M1-20261113".into(),
            merchant_id: "M1".into(),
            withheld_on: d("2026-11-13"),
            amount: Paise(2_000),
            release_on: d("2026-12-13"),
            released_by: None,
        });
        l
    }

    #[test]
    fn a_ledger_reads_back_as_written_and_a_bad_line_is_refused() {
        let l = sample();
        assert_eq!(Ledger::parse(&l.to_text()).unwrap(), l);
        let mut text = l.to_text();
        text.push_str("P\tT9\n");
        assert!(matches!(Ledger::parse(&text), Err(LedgerError::BadLine(_, _))));
        assert!(Ledger::parse("P\tT1\tSTL-M1-20261012\n").is_err(), "no header");
    }

    #[test]
    fn pruning_forgets_old_batches_but_not_held_reserve() {
        let mut l = sample();
        l.prune(d("2026-11-01"));
        assert_eq!(l.horizon, Some(d("2026-11-01")));
        assert_eq!(Ledger::parse(&l.to_text()).unwrap(), l, "the horizon is kept");
        assert_eq!(l.payments.keys().collect::<Vec<_>>(), ["T2"]);
        assert!(l.adjustments.is_empty());
        assert_eq!(l.batches.len(), 1);
        // The October reserve was released by a November batch: kept until that one is old.
        assert_eq!(l.reserves.len(), 2);
        l.prune(d("2026-12-01"));
        assert_eq!(l.reserves.len(), 1, "only the reserve still held");
        assert!(l.payments.is_empty());
        // An earlier window never moves the horizon back.
        l.prune(d("2026-10-01"));
        assert_eq!(l.horizon, Some(d("2026-12-01")));
    }

    #[test]
    fn undoing_a_failed_batch_frees_its_lines_and_holds_what_it_released_again() {
        let mut l = sample();
        l.undo("STL-M1-20261113");
        assert_eq!(l.payments.keys().collect::<Vec<_>>(), ["T1"]);
        assert!(l.refunds.is_empty());
        assert!(l.reopened.contains("P:T2") && l.reopened.contains("R:RF1"), "{:?}", l.reopened);
        assert_eq!(Ledger::parse(&l.to_text()).unwrap(), l);
        assert_eq!(l.reserves.len(), 1);
        assert_eq!(l.reserves[0].released_by, None, "the October reserve is held again");
        assert!(l.batches.contains("STL-M1-20261113"), "the id stays used");
        // Undoing the October batch now would pay nothing twice.
        l.undo("STL-M1-20261012");
        assert!(l.payments.is_empty() && l.reserves.is_empty());
    }

    #[test]
    fn a_failed_batch_whose_reserve_a_later_batch_released_frees_its_lines_and_forgets_that_reserve() {
        let mut l = sample();
        l.undo("STL-M1-20261012");
        assert_eq!(l.payments.keys().collect::<Vec<_>>(), ["T2"], "T1 is eligible again");
        assert_eq!(l.reserves.len(), 1, "the October reserve, paid out by November's batch, is gone");
        assert_eq!(l.reserves[0].batch_id, "STL-M1-20261113");
    }

    #[test]
    fn batch_dates_come_from_the_id() {
        assert_eq!(batch_date("STL-M-1-20261012"), Some(d("2026-10-12")));
        assert_eq!(batch_date("STL-M1-2026101x"), None);
    }
}
