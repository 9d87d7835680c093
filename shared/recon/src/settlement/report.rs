//! The settlement reports of a run: `settlements.csv`, `settlement_exceptions.csv`, and the
//! per-status totals `summary.json` carries.

use super::settle::{LineCategory, SettlementRecon, SettlementStatus};
use crate::bank_file::BankRow;
use crate::report::push_csv_field;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

pub const SETTLEMENTS_HEADER: &str = "settlement_id,settlement_utr,bank_ref,settled_on,rows,gross_paise,fee_paise,tax_paise,debit_paise,expected_net_paise,credited_paise,delta_paise,status";
pub const SETTLEMENT_EXCEPTIONS_HEADER: &str = "settlement_id,txn_id,category,expected_paise,actual_paise,reason";

/// One settlement per line, in (`settled_on`, `settlement_id`) order. `bank_ref` is empty and
/// `credited_paise` zero when no credit was found.
pub fn write_settlements(recon: &SettlementRecon<'_>, bank: &[BankRow<'_>], w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{SETTLEMENTS_HEADER}")?;
    let mut out = Vec::with_capacity(128 * recon.settlements.len());
    for s in &recon.settlements {
        push_csv_field(&mut out, s.settlement_id);
        out.push(b',');
        s.settlement_utr.push_to(&mut out);
        out.push(b',');
        if let Some((b, _)) = s.credit {
            push_csv_field(&mut out, &bank[b as usize].bank_ref());
        }
        let figures = [s.gross.0, s.fee.0, s.tax.0, s.debit.0, s.expected_net.0, s.credited.0, s.delta.0];
        let figures: Vec<String> = figures.iter().map(i64::to_string).collect();
        writeln!(out, ",{},{},{},{}", s.settled_on, s.rows, figures.join(","), s.status.as_str())?;
    }
    w.write_all(&out)
}

/// One finding per line, in row order.
pub fn write_settlement_exceptions(recon: &SettlementRecon<'_>, w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{SETTLEMENT_EXCEPTIONS_HEADER}")?;
    let mut out = Vec::with_capacity(128 * recon.exceptions.len());
    for e in &recon.exceptions {
        push_csv_field(&mut out, e.settlement_id);
        out.push(b',');
        push_csv_field(&mut out, e.txn_id);
        write!(out, ",{},", e.category.as_str())?;
        if let Some(expected) = e.expected {
            write!(out, "{}", expected.0)?;
        }
        write!(out, ",{},", e.actual.0)?;
        push_csv_field(&mut out, &e.reason);
        out.push(b'\n');
    }
    w.write_all(&out)
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StatusTotals {
    pub settlements: u64,
    pub expected_net_paise: i64,
    pub credited_paise: i64,
    pub delta_paise: i64,
}

/// What `summary.json` says of the settlements.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SettlementTotals {
    pub settlements: u64,
    pub rows: u64,
    /// Every status, zero or not.
    pub by_status: BTreeMap<&'static str, StatusTotals>,
    /// Every line category, zero or not.
    pub line_exceptions: BTreeMap<&'static str, u64>,
    /// Σ over rows of what was charged above the contract (fee and GST), in paise.
    pub fee_overcharge_paise: i64,
    /// Rows rejected: by the settlement step (a row disagreeing with its settlement); the CLI
    /// adds the rows its reports could not read.
    pub rejected_rows: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("the settlements add up to more than a total can hold; the reports are not real")]
pub struct TotalsOverflow;

impl SettlementTotals {
    /// The totals, with checked sums.
    pub fn of(recon: &SettlementRecon<'_>) -> Result<SettlementTotals, TotalsOverflow> {
        let mut t = SettlementTotals {
            settlements: recon.settlements.len() as u64,
            rejected_rows: recon.rejects.len() as u64,
            fee_overcharge_paise: recon.fee_overcharge.ok_or(TotalsOverflow)?.0,
            ..SettlementTotals::default()
        };
        for status in SettlementStatus::ALL {
            t.by_status.insert(status.as_str(), StatusTotals::default());
        }
        for category in LineCategory::ALL {
            t.line_exceptions.insert(category.as_str(), 0);
        }
        let add = |a: &mut i64, b: i64| -> Result<(), TotalsOverflow> {
            *a = a.checked_add(b).ok_or(TotalsOverflow)?;
            Ok(())
        };
        for s in &recon.settlements {
            t.rows += u64::from(s.rows);
            let x = t.by_status.entry(s.status.as_str()).or_default();
            x.settlements += 1;
            add(&mut x.expected_net_paise, s.expected_net.0)?;
            add(&mut x.credited_paise, s.credited.0)?;
            add(&mut x.delta_paise, s.delta.0)?;
        }
        for e in &recon.exceptions {
            *t.line_exceptions.entry(e.category.as_str()).or_default() += 1;
        }
        Ok(t)
    }
}

/// A settlement as the API shows it (`GET /api/jobs/{id}/settlements`): the row of
/// `settlements.csv`, with the rule that tied its credit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementView<'a> {
    pub settlement_id: &'a str,
    pub settlement_utr: String,
    /// The bulk credit's `FILE:LINE`; none when no credit was found.
    pub bank_ref: Option<String>,
    pub tied_by: Option<super::settle::TieRule>,
    pub settled_on: String,
    pub rows: u32,
    pub gross_paise: i64,
    pub fee_paise: i64,
    pub tax_paise: i64,
    pub debit_paise: i64,
    pub expected_net_paise: i64,
    pub credited_paise: i64,
    pub delta_paise: i64,
    pub status: SettlementStatus,
}

/// A line check as the API shows it (`GET /api/jobs/{id}/settlement-checks`): the row of
/// `settlement_exceptions.csv`, with the report line it is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineCheckView<'a> {
    pub settlement_id: &'a str,
    pub txn_id: Option<&'a str>,
    pub category: LineCategory,
    pub expected_paise: Option<i64>,
    pub actual_paise: i64,
    pub reason: &'a str,
    pub file: &'a str,
    pub line: u32,
}

pub fn settlement_views<'a>(recon: &'a SettlementRecon<'_>, bank: &[BankRow<'_>]) -> Vec<SettlementView<'a>> {
    recon
        .settlements
        .iter()
        .map(|s| SettlementView {
            settlement_id: s.settlement_id,
            settlement_utr: s.settlement_utr.to_string(),
            bank_ref: s.credit.map(|(b, _)| bank[b as usize].bank_ref()),
            tied_by: s.credit.map(|(_, rule)| rule),
            settled_on: s.settled_on.to_string(),
            rows: s.rows,
            gross_paise: s.gross.0,
            fee_paise: s.fee.0,
            tax_paise: s.tax.0,
            debit_paise: s.debit.0,
            expected_net_paise: s.expected_net.0,
            credited_paise: s.credited.0,
            delta_paise: s.delta.0,
            status: s.status,
        })
        .collect()
}

pub fn line_check_views<'a>(recon: &'a SettlementRecon<'_>) -> Vec<LineCheckView<'a>> {
    recon
        .exceptions
        .iter()
        .map(|e| LineCheckView {
            settlement_id: e.settlement_id,
            txn_id: Some(e.txn_id).filter(|t| !t.is_empty()),
            category: e.category,
            expected_paise: e.expected.map(|p| p.0),
            actual_paise: e.actual.0,
            reason: &e.reason,
            file: e.file,
            line: e.line,
        })
        .collect()
}
