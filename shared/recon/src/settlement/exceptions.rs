//! The settlement step's findings as exceptions people work (issue 11 §2): each settlement that is
//! not `SETTLED` and each line check becomes one exception of the job, beside the engine's five
//! categories, with a stable id, the records it is about and the money at stake.
//!
//! `settlements.csv` and `settlement_exceptions.csv` stay the reports; these are what the
//! exceptions API lists, what the overview's top reasons count, and what a person resolves.

use super::settle::{LineCategory, SettlementRecon, SettlementStatus};
use crate::bank_file::BankRow;
use crate::date::Date;
use crate::money::Paise;
use crate::outcome::Fnv64;
use std::collections::HashMap;

/// What a settlement exception is about: its settlement's status, or a line check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SettlementCategory {
    ShortCredit,
    ExcessCredit,
    CreditMissing,
    Line(LineCategory),
}

impl SettlementCategory {
    pub const ALL: [SettlementCategory; 8] = [
        SettlementCategory::ShortCredit,
        SettlementCategory::ExcessCredit,
        SettlementCategory::CreditMissing,
        SettlementCategory::Line(LineCategory::UnknownTxn),
        SettlementCategory::Line(LineCategory::FeeMismatch),
        SettlementCategory::Line(LineCategory::GstMismatch),
        SettlementCategory::Line(LineCategory::AmountDiffers),
        SettlementCategory::Line(LineCategory::DoubleSettled),
    ];

    /// The status's category; `None` for `SETTLED`, which is not an exception.
    pub fn of_status(status: SettlementStatus) -> Option<SettlementCategory> {
        match status {
            SettlementStatus::Settled => None,
            SettlementStatus::ShortCredit => Some(SettlementCategory::ShortCredit),
            SettlementStatus::ExcessCredit => Some(SettlementCategory::ExcessCredit),
            SettlementStatus::CreditMissing => Some(SettlementCategory::CreditMissing),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SettlementCategory::ShortCredit => SettlementStatus::ShortCredit.as_str(),
            SettlementCategory::ExcessCredit => SettlementStatus::ExcessCredit.as_str(),
            SettlementCategory::CreditMissing => SettlementStatus::CreditMissing.as_str(),
            SettlementCategory::Line(c) => c.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<SettlementCategory> {
        SettlementCategory::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(text))
    }

    /// Whether the acquirer's figure can be accepted as it is (`accept_mismatch`): a credit or a
    /// row that differs from what was owed. A missing credit, an unknown transaction or a
    /// second payment has no figure to accept; it is recovered or written off.
    pub fn has_a_figure_to_accept(self) -> bool {
        matches!(
            self,
            SettlementCategory::ShortCredit
                | SettlementCategory::ExcessCredit
                | SettlementCategory::Line(LineCategory::FeeMismatch)
                | SettlementCategory::Line(LineCategory::GstMismatch)
                | SettlementCategory::Line(LineCategory::AmountDiffers)
        )
    }
}

/// One settlement exception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementException<'a> {
    pub category: SettlementCategory,
    pub settlement_id: &'a str,
    /// The settlement's date: the exception's business day.
    pub settled_on: Date,
    /// The captured PG transaction a line check is about (an index into the run's PG records);
    /// none for a status, or for a row naming a transaction the PG has not captured.
    pub pg: Option<u32>,
    /// The settlement's bulk credit (an index into the run's bank records), when one was tied.
    pub bank: Option<u32>,
    /// What was owed, where there is a figure to compare with.
    pub expected: Option<Paise>,
    /// What the credit or the row says.
    pub actual: Paise,
    /// actual − expected (the actual amount when there is nothing to compare with).
    pub delta: Paise,
    /// The money at stake, never negative, and never counted twice beside the engine's
    /// exceptions: what is short or in excess, what a row charged over the contract (nothing when
    /// it charged less), what differs, the amount of an unknown or twice-paid row. A missing
    /// credit weighs nothing here: its transactions keep their own exceptions (`UNMATCHED_PG`,
    /// naming the settlement), which carry that money.
    pub at_stake: Paise,
    pub reason: String,
    /// For a line check: the report and line of its row.
    pub row: Option<(&'a str, u32)>,
}

impl SettlementException<'_> {
    /// A stable id: the same finding on the same settlement (and row) has the same id in every
    /// run, so a redelivered shard writes the same item.
    pub fn id(&self) -> String {
        let mut h = Fnv64::new();
        h.write(b"settlement|");
        h.write(self.category.as_str().as_bytes());
        h.write(b"|s:");
        h.write(self.settlement_id.as_bytes());
        if let Some((file, line)) = self.row {
            h.write(b"|r:");
            h.write(file.as_bytes());
            h.write(&line.to_le_bytes());
        }
        format!("EXC-{:016x}", h.finish())
    }
}

/// The run's settlement exceptions: the statuses in settlement order, then the line checks in
/// their order. `bank` is the run's bank records, which the settlement step's indices name.
pub fn settlement_exceptions<'a>(recon: &SettlementRecon<'a>, bank: &[BankRow<'a>]) -> Vec<SettlementException<'a>> {
    let mut out = Vec::new();
    let mut settled_on: HashMap<&str, (Date, Option<u32>)> = HashMap::with_capacity(recon.settlements.len());
    for s in &recon.settlements {
        settled_on.insert(s.settlement_id, (s.settled_on, s.credit.map(|(b, _)| b)));
        let Some(category) = SettlementCategory::of_status(s.status) else { continue };
        let credit = s.credit.map(|(b, _)| b);
        let reason = match credit {
            Some(b) => {
                let (word, by) =
                    if s.delta.0 < 0 { ("short", s.delta.0.unsigned_abs()) } else { ("in excess", s.delta.0 as u64) };
                format!(
                    "settlement {} (UTR {}) of {} owes {} paise net; its credit {} is {} paise, {by} paise {word}",
                    s.settlement_id,
                    s.settlement_utr,
                    s.settled_on,
                    s.expected_net.0,
                    bank[b as usize].bank_ref(),
                    s.credited.0,
                )
            }
            None => format!(
                "settlement {} (UTR {}) of {} owes {} paise net; no bank credit carries its UTR, names it, or is that amount within a day (its transactions' own exceptions carry the amount)",
                s.settlement_id, s.settlement_utr, s.settled_on, s.expected_net.0
            ),
        };
        out.push(SettlementException {
            category,
            settlement_id: s.settlement_id,
            settled_on: s.settled_on,
            pg: None,
            bank: credit,
            expected: Some(s.expected_net),
            actual: s.credited,
            delta: s.delta,
            at_stake: match category {
                SettlementCategory::CreditMissing => Paise::ZERO,
                _ => Paise(s.delta.0.saturating_abs()),
            },
            reason,
            row: None,
        });
    }
    for e in &recon.exceptions {
        let (day, credit) = settled_on.get(e.settlement_id).copied().unwrap_or((Date(0), None));
        let delta = Paise(e.actual.0.saturating_sub(e.expected.map_or(0, |p| p.0)));
        out.push(SettlementException {
            category: SettlementCategory::Line(e.category),
            settlement_id: e.settlement_id,
            settled_on: day,
            pg: e.pg,
            bank: credit,
            expected: e.expected,
            actual: e.actual,
            delta,
            at_stake: match e.category {
                LineCategory::FeeMismatch | LineCategory::GstMismatch => Paise(delta.0.max(0)),
                _ => Paise(delta.0.saturating_abs()),
            },
            reason: e.reason.clone(),
            row: Some((e.file, e.line)),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_read_back_and_settled_is_not_one() {
        for c in SettlementCategory::ALL {
            assert_eq!(SettlementCategory::parse(&c.as_str().to_lowercase()), Some(c));
        }
        assert_eq!(SettlementCategory::of_status(SettlementStatus::Settled), None);
        assert_eq!(SettlementCategory::parse("SETTLED"), None);
        assert_eq!(SettlementCategory::parse("UNMATCHED_PG"), None);
    }
}
