//! The engine's view of the two sides: just the fields matching reads, borrowed from wherever the
//! records came from (a parsed file, a DynamoDB page).

use crate::bank_file::{BankRow, Direction};
use crate::date::Date;
use crate::money::Paise;
use crate::pg_file::PgTxn;
use crate::utr::Utr;

/// A captured PG transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgRecord<'a> {
    pub txn_id: &'a str,
    pub merchant_id: &'a str,
    pub merchant_ref: &'a str,
    pub amount: Paise,
    pub utr: Option<Utr>,
    /// IST capture date.
    pub date: Date,
}

/// A bank credit, identified by the base name of its file and its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankCredit<'a> {
    pub file: &'a str,
    pub line: u32,
    pub amount: Paise,
    pub utr: Option<Utr>,
    /// Value date.
    pub date: Date,
    pub narration: &'a str,
}

impl<'a> PgRecord<'a> {
    pub fn from_txn(t: &PgTxn<'a>) -> PgRecord<'a> {
        PgRecord {
            txn_id: t.txn_id,
            merchant_id: t.merchant_id,
            merchant_ref: t.merchant_ref,
            amount: t.amount,
            utr: t.utr,
            date: t.date,
        }
    }
}

impl<'a> BankCredit<'a> {
    /// The credit of a statement row; `None` for a withdrawal.
    pub fn from_row(file: &'a str, row: &BankRow<'a>) -> Option<BankCredit<'a>> {
        (row.direction == Direction::Credit).then(|| BankCredit {
            file,
            line: row.line,
            amount: row.amount,
            utr: row.utr,
            date: row.date,
            narration: row.narration,
        })
    }

    /// `FILE:LINE`, the reference that leads back to the statement line.
    pub fn bank_ref(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}
