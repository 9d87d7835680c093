//! Freeing a file once it is parsed: the text its rows keep (ids, references, narrations) is
//! copied into an arena, and the rows are rebound to it.
//!
//! Rows borrow their text from the file buffer, which is what makes parsing cheap, but it keeps the
//! whole file alive until the run ends: quotes, dates, amounts, balances and every column nobody
//! reads. The rows of a PG export keep about a quarter of its bytes, those of a statement about
//! half, those of a settlement report a quarter. Copying that out lets `settlepaisa recon` free
//! each kind of input once it is parsed (issue 11 §3: peak memory under twice the input).
//!
//! The rows are rebound in place (`Vec` into `Vec` of the same layout reuses its allocation), so
//! they are never held twice.

use crate::bank_file::BankRow;
use crate::pg_file::{PgTxn, CAPTURED};
use crate::settlement::SettlementRow;
use rayon::prelude::*;

/// Rows per piece of an arena: pieces are filled in parallel.
const PIECE_ROWS: usize = 1 << 16;

/// The text of a list of rows, in row order, in pieces of [`PIECE_ROWS`] rows.
#[derive(Debug, Default)]
pub struct Arena {
    pieces: Vec<String>,
}

impl Arena {
    /// The text of every row: `fields(row)` lists what the row keeps, in the order the rebinding
    /// takes it back.
    fn of<R: Sync>(rows: &[R], fields: impl Fn(&R, &mut String) + Sync) -> Arena {
        let pieces = rows
            .par_chunks(PIECE_ROWS)
            .map(|chunk| {
                let mut text = String::new();
                for row in chunk {
                    fields(row, &mut text);
                }
                text.shrink_to_fit();
                text
            })
            .collect();
        Arena { pieces }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(String::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hands the text back, row by row, in the order it was copied.
    fn cursor(&self) -> Cursor<'_> {
        Cursor { arena: self, row: 0, piece: "" }
    }

    /// The text of PG rows: id, merchant, reference and (unless `captured`, which every captured
    /// row shares) status.
    pub fn of_pg(rows: &[PgTxn<'_>]) -> Arena {
        Arena::of(rows, |t, text| {
            text.push_str(t.txn_id);
            text.push_str(t.merchant_id);
            text.push_str(t.merchant_ref);
            if t.status != CAPTURED {
                text.push_str(t.status);
            }
        })
    }

    /// `rows` (those [`Arena::of_pg`] copied, in the same order) borrowing from this arena.
    pub fn rebind_pg<'t>(&'t self, rows: Vec<PgTxn<'_>>) -> Vec<PgTxn<'t>> {
        let mut c = self.cursor();
        rows.into_iter()
            .map(|t| {
                c.next_row();
                PgTxn {
                    txn_id: c.take(t.txn_id.len()),
                    merchant_id: c.take(t.merchant_id.len()),
                    merchant_ref: c.take(t.merchant_ref.len()),
                    status: if t.status == CAPTURED { CAPTURED } else { c.take(t.status.len()) },
                    line: t.line,
                    method: t.method,
                    amount: t.amount,
                    utr: t.utr,
                    captured_at: t.captured_at,
                    date: t.date,
                }
            })
            .collect()
    }

    /// The text of statement rows: their narrations.
    pub fn of_bank(rows: &[BankRow<'_>]) -> Arena {
        Arena::of(rows, |b, text| text.push_str(b.narration))
    }

    /// `rows` (those [`Arena::of_bank`] copied, in the same order) borrowing from this arena, all
    /// of the file named `file`.
    pub fn rebind_bank<'t>(&'t self, file: &'t str, rows: Vec<BankRow<'_>>) -> Vec<BankRow<'t>> {
        let mut c = self.cursor();
        rows.into_iter()
            .map(|b| {
                c.next_row();
                BankRow {
                    file,
                    narration: c.take(b.narration.len()),
                    line: b.line,
                    date: b.date,
                    amount: b.amount,
                    direction: b.direction,
                    utr: b.utr,
                }
            })
            .collect()
    }
}

/// The text of a PG export's rows: its captured rows' and the others'.
#[derive(Debug, Default)]
pub struct PgText {
    captured: Arena,
    other: Arena,
}

impl PgText {
    pub fn of(captured: &[PgTxn<'_>], other: &[PgTxn<'_>]) -> PgText {
        let (captured, other) = rayon::join(|| Arena::of_pg(captured), || Arena::of_pg(other));
        PgText { captured, other }
    }

    /// Both lists (those [`PgText::of`] copied) borrowing from this text.
    pub fn rebind<'t>(&'t self, captured: Vec<PgTxn<'_>>, other: Vec<PgTxn<'_>>) -> (Vec<PgTxn<'t>>, Vec<PgTxn<'t>>) {
        rayon::join(|| self.captured.rebind_pg(captured), || self.other.rebind_pg(other))
    }
}

impl Arena {
    /// The text of settlement report rows: settlement, entity and transaction ids, and the line
    /// itself only `with_lines` (it is most of the report). Without the lines,
    /// [`Arena::rebind_settlement`] leaves `raw` empty, and a line the settlement step refuses is
    /// read again from the report by whoever reports it.
    pub fn of_settlement(rows: &[SettlementRow<'_>], with_lines: bool) -> Arena {
        Arena::of(rows, |r, text| {
            text.push_str(r.settlement_id);
            text.push_str(r.entity_id);
            text.push_str(r.txn_id);
            if with_lines {
                text.push_str(r.raw);
            }
        })
    }

    /// `rows` (those [`Arena::of_settlement`] copied, in the same order and `with_lines` the
    /// same) borrowing from this arena, all of the report named `file`.
    pub fn rebind_settlement<'t>(
        &'t self,
        file: &'t str,
        rows: Vec<SettlementRow<'_>>,
        with_lines: bool,
    ) -> Vec<SettlementRow<'t>> {
        let mut c = self.cursor();
        rows.into_iter()
            .map(|r| {
                c.next_row();
                SettlementRow {
                    file,
                    settlement_id: c.take(r.settlement_id.len()),
                    entity_id: c.take(r.entity_id.len()),
                    txn_id: c.take(r.txn_id.len()),
                    raw: if with_lines { c.take(r.raw.len()) } else { "" },
                    line: r.line,
                    settlement_utr: r.settlement_utr,
                    settled_on: r.settled_on,
                    kind: r.kind,
                    amount: r.amount,
                    fee: r.fee,
                    tax: r.tax,
                }
            })
            .collect()
    }
}

struct Cursor<'t> {
    arena: &'t Arena,
    /// Rows begun so far.
    row: usize,
    /// What is left of the current row's piece.
    piece: &'t str,
}

impl<'t> Cursor<'t> {
    /// Moves to the next row: at a piece's first row, to that piece.
    fn next_row(&mut self) {
        if self.row.is_multiple_of(PIECE_ROWS) {
            self.piece = self.arena.pieces.get(self.row / PIECE_ROWS).map_or("", String::as_str);
        }
        self.row += 1;
    }

    /// The next `len` bytes of the current piece. Each field was copied whole and is taken back
    /// with its own length, so the cut always falls on a character boundary.
    fn take(&mut self, len: usize) -> &'t str {
        let (head, tail) = self.piece.split_at(len);
        self.piece = tail;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank_file::Direction;
    use crate::date::Date;
    use crate::money::Paise;
    use crate::pg_file::Method;

    fn pg(i: usize, status: &'static str) -> PgTxn<'static> {
        PgTxn {
            line: i as u32 + 2,
            txn_id: Box::leak(format!("TXN{i:07}").into_boxed_str()),
            merchant_id: if i.is_multiple_of(3) { "" } else { "MERCH₹01" },
            merchant_ref: Box::leak(format!("ORD-{}", "x".repeat(i % 5)).into_boxed_str()),
            method: Method::Card,
            amount: Paise(i as i64 + 1),
            status,
            utr: None,
            captured_at: i as i64,
            date: Date(i as i32),
        }
    }

    #[test]
    fn rebound_pg_rows_equal_the_parsed_ones_across_pieces() {
        for n in [0, 1, PIECE_ROWS - 1, PIECE_ROWS, PIECE_ROWS + 1, 2 * PIECE_ROWS + 7] {
            let rows: Vec<PgTxn<'static>> =
                (0..n).map(|i| pg(i, if i.is_multiple_of(7) { "failed" } else { CAPTURED })).collect();
            let arena = Arena::of_pg(&rows);
            let rebound = arena.rebind_pg(rows.clone());
            assert_eq!(rebound, rows, "{n} rows");
            let text: usize = rows.iter().map(|t| t.txn_id.len() + t.merchant_id.len() + t.merchant_ref.len()).sum();
            let statuses: usize = rows.iter().filter(|t| t.status != CAPTURED).map(|t| t.status.len()).sum();
            assert_eq!(arena.len(), text + statuses, "{n} rows: only the kept text is copied");
        }
    }

    #[test]
    fn rebound_settlement_rows_keep_their_ids_and_their_lines_if_asked() {
        use crate::settlement::RowKind;
        use crate::utr::Utr;
        let rows: Vec<SettlementRow<'static>> = (0..PIECE_ROWS + 5)
            .map(|i| SettlementRow {
                file: "PAYU.csv",
                line: i as u32 + 2,
                settlement_id: if i.is_multiple_of(2) { "setl_A" } else { "setl_Bß" },
                settlement_utr: Utr::from_key(i as u128),
                settled_on: Date(9),
                kind: if i.is_multiple_of(3) { RowKind::Adjustment } else { RowKind::Refund },
                entity_id: Box::leak(format!("e{i}").into_boxed_str()),
                txn_id: if i.is_multiple_of(3) { "" } else { Box::leak(format!("TXN{i}").into_boxed_str()) },
                amount: Paise(i as i64),
                fee: Paise(1),
                tax: Paise(2),
                raw: "the line",
            })
            .collect();
        let name = String::from("PAYU.csv");
        let arena = Arena::of_settlement(&rows, true);
        assert_eq!(arena.rebind_settlement(&name, rows.clone(), true), rows);
        let arena = Arena::of_settlement(&rows, false);
        let without_lines: Vec<SettlementRow<'_>> = rows.iter().map(|r| SettlementRow { raw: "", ..*r }).collect();
        assert_eq!(arena.rebind_settlement(&name, rows.clone(), false), without_lines);
    }

    #[test]
    fn rebound_bank_rows_keep_their_narrations_and_take_the_file_name() {
        let long: &'static str = Box::leak("NEFT-ČESKÁ-".repeat(40).into_boxed_str());
        let rows: Vec<BankRow<'static>> = (0..PIECE_ROWS + 3)
            .map(|i| BankRow {
                file: "HDFC.csv",
                line: i as u32 + 7,
                date: Date(3),
                amount: Paise(5),
                direction: Direction::Credit,
                utr: None,
                narration: if i.is_multiple_of(2) { long } else { "" },
            })
            .collect();
        let arena = Arena::of_bank(&rows);
        let name = String::from("HDFC.csv");
        assert_eq!(arena.rebind_bank(&name, rows.clone()), rows);
    }
}
