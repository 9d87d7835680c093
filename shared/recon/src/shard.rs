//! Normalized records on the wire between pipeline stages, and how they are partitioned.
//!
//! Ingestion writes each normalized row to one of [`PARTITIONS`] partitions by its UTR (records
//! without a UTR to the separate no-UTR partition), so a match shard that takes a set of partitions
//! holds every record of each UTR group it sees. A row is one tab-separated line; it borrows back
//! from the buffer when decoded, like a row parsed from the original file.

use crate::bank_file::{BankRow, Direction};
use crate::date::Date;
use crate::money::Paise;
use crate::pg_file::{Method, PgTxn};
use crate::utr::{find_utr, Utr};

/// Fixed at ingestion; a job's shard count may be anything from 1 to this.
pub const PARTITIONS: u32 = 64;

/// Where a record goes: a UTR partition, or the no-UTR partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Partition {
    Utr(u32),
    NoUtr,
}

impl Partition {
    pub fn of(utr: Option<Utr>) -> Partition {
        match utr {
            // FNV-1a over the key's bytes: stable across releases and platforms.
            Some(u) => {
                let mut h: u64 = 0xcbf2_9ce4_8422_2325;
                for b in u.key().to_le_bytes() {
                    h ^= u64::from(b);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
                Partition::Utr((h % u64::from(PARTITIONS)) as u32)
            }
            None => Partition::NoUtr,
        }
    }

    /// The name used in object keys: `p07`, or `none`.
    pub fn name(self) -> String {
        match self {
            Partition::Utr(p) => format!("p{p:02}"),
            Partition::NoUtr => "none".into(),
        }
    }

    /// The UTR shard (of `shards`) this partition belongs to; `None` for the no-UTR partition,
    /// which only the residual shard reads.
    pub fn shard(self, shards: u32) -> Option<u32> {
        match self {
            Partition::Utr(p) => Some(p % shards.clamp(1, PARTITIONS)),
            Partition::NoUtr => None,
        }
    }
}

/// Text fields never hold a tab or a line break on the wire (they came from one line of a file);
/// a tab inside a narration becomes a space.
fn push_text(out: &mut Vec<u8>, text: &str) {
    if memchr::memchr3(b'\t', b'\n', b'\r', text.as_bytes()).is_none() {
        out.extend_from_slice(text.as_bytes());
    } else {
        out.extend(text.bytes().map(|c| if matches!(c, b'\t' | b'\n' | b'\r') { b' ' } else { c }));
    }
}

fn push_num(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a PG transaction as one line: `P txn merchant ref method amount status utr captured_at line`.
pub fn encode_pg(t: &PgTxn<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"P\t");
    for text in [t.txn_id, t.merchant_id, t.merchant_ref, t.method.as_str()] {
        push_text(out, text);
        out.push(b'\t');
    }
    push_num(out, t.amount.0);
    out.push(b'\t');
    push_text(out, t.status);
    out.push(b'\t');
    if let Some(u) = t.utr {
        u.push_to(out);
    }
    out.push(b'\t');
    push_num(out, t.captured_at);
    out.push(b'\t');
    push_num(out, t.line);
    out.push(b'\n');
}

/// Appends a bank row as one line: `B file line date amount direction utr narration`.
pub fn encode_bank(r: &BankRow<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"B\t");
    push_text(out, r.file);
    out.push(b'\t');
    push_num(out, r.line);
    out.push(b'\t');
    push_num(out, r.date.0);
    out.push(b'\t');
    push_num(out, r.amount.0);
    out.push(b'\t');
    out.push(if r.direction == Direction::Credit { b'C' } else { b'D' });
    out.push(b'\t');
    if let Some(u) = r.utr {
        u.push_to(out);
    }
    out.push(b'\t');
    push_text(out, r.narration);
    out.push(b'\n');
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("normalized record on line {line}: {problem}")]
pub struct DecodeError {
    pub line: usize,
    pub problem: &'static str,
}

/// Decodes a buffer of encoded lines into PG transactions and bank rows, borrowing their text.
pub fn decode(buf: &str) -> Result<(Vec<PgTxn<'_>>, Vec<BankRow<'_>>), DecodeError> {
    let mut pg = Vec::new();
    let mut bank = Vec::new();
    for (i, line) in buf.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let err = |problem| DecodeError { line: i + 1, problem };
        let f: Vec<&str> = line.split('\t').collect();
        let num = |s: &str| s.parse::<i64>().map_err(|_| err("bad number"));
        match f.as_slice() {
            ["P", txn_id, merchant_id, merchant_ref, method, amount, status, utr, captured_at, l] => {
                let captured_at = num(captured_at)?;
                pg.push(PgTxn {
                    line: num(l)? as u32,
                    txn_id,
                    merchant_id,
                    merchant_ref,
                    method: Method::parse(method).ok_or(err("bad method"))?,
                    amount: Paise(num(amount)?),
                    status,
                    utr: decode_utr(utr).map_err(|()| err("bad UTR"))?,
                    captured_at,
                    date: crate::date::ist_date(captured_at),
                });
            }
            ["B", file, l, date, amount, direction, utr, narration] => bank.push(BankRow {
                file,
                line: num(l)? as u32,
                date: Date(num(date)? as i32),
                amount: Paise(num(amount)?),
                direction: match *direction {
                    "C" => Direction::Credit,
                    "D" => Direction::Debit,
                    _ => return Err(err("bad direction")),
                },
                utr: decode_utr(utr).map_err(|()| err("bad UTR"))?,
                narration,
            }),
            _ => return Err(err("unknown record shape")),
        }
    }
    Ok((pg, bank))
}

fn decode_utr(text: &str) -> Result<Option<Utr>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    match find_utr(text) {
        Some(u) if u.to_string() == text => Ok(Some(u)),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_records::{credit, pg};

    #[test]
    fn records_round_trip_through_the_wire_format() {
        let t = pg("T1", 85_000, "629412345678", 1).with_ref("ORD-1");
        let mut b = credit(7, 85_000, "UPI/629412345678/A\tB", 2);
        b.narration = "UPI/629412345678/A\tB";
        let mut out = Vec::new();
        encode_pg(&t, &mut out);
        encode_bank(&b, &mut out);
        let text = String::from_utf8(out).unwrap();
        let (p, k) = decode(&text).unwrap();
        assert_eq!(p, [t]);
        assert_eq!(k[0].narration, "UPI/629412345678/A B", "tabs become spaces");
        assert_eq!(BankRow { narration: b.narration, ..k[0] }, b);
        assert!(decode("X\t1\n").is_err());
    }

    #[test]
    fn partitions_are_stable_and_spread() {
        let a = Partition::of(find_utr("629412345678"));
        assert_eq!(a, Partition::of(find_utr("0000629412345678")));
        assert_eq!(Partition::of(None), Partition::NoUtr);
        let used: std::collections::BTreeSet<_> =
            (0..2000).map(|i| Partition::of(find_utr(&format!("6294{i:08}")))).collect();
        assert_eq!(used.len(), PARTITIONS as usize);
        assert_eq!(Partition::NoUtr.shard(16), None);
        assert!(matches!(a.shard(16), Some(s) if s < 16));
        assert_eq!(a.shard(1), Some(0));
    }
}
