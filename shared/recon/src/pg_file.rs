//! Reading the payment gateway's transaction export (one CSV, fixed header).

use crate::date::{ist_date, parse_rfc3339, Date};
use crate::fields::split_fields;
use crate::id_key::{sort_by_id, IdKey, Reorder};
use crate::lines::{lines, looks_binary, strip_bom};
use crate::money::Paise;
use crate::parallel_parse::{parse_chunks_into, Located};
use crate::reject::Reject;
use crate::utr::{find_utr, Utr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PG_HEADER: &str = "txn_id,merchant_id,merchant_ref,method,amount_paise,status,utr,captured_at";
const PG_FIELDS: usize = 8;
const CHUNK_BYTES: usize = 1 << 20;

/// Payment methods, as the seed names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Upi,
    Card,
    Netbanking,
    Wallet,
}

impl Method {
    pub const ALL: [Method; 4] = [Method::Upi, Method::Card, Method::Netbanking, Method::Wallet];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Upi => "UPI",
            Method::Card => "CARD",
            Method::Netbanking => "NETBANKING",
            Method::Wallet => "WALLET",
        }
    }

    pub fn parse(text: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str().eq_ignore_ascii_case(text))
    }
}

/// The status the reconciliation looks at; every other status is counted and set aside.
pub const CAPTURED: &str = "captured";

/// One PG transaction, borrowing its text from the file buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PgTxn<'a> {
    pub line: u32,
    pub txn_id: &'a str,
    pub merchant_id: &'a str,
    pub merchant_ref: &'a str,
    pub method: Method,
    pub amount: Paise,
    pub status: &'a str,
    pub utr: Option<Utr>,
    /// Seconds since the Unix epoch.
    pub captured_at: i64,
    /// The IST business date of the capture.
    pub date: Date,
}

impl PgTxn<'_> {
    pub fn is_captured(&self) -> bool {
        self.status == CAPTURED
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PgStats {
    pub lines_read: u64,
    pub data_rows: u64,
    pub rejected_rows: u64,
    pub non_data_lines: u64,
    pub captured: u64,
    pub captured_amount_paise: i64,
    pub by_status: BTreeMap<String, u64>,
}

/// A PG export, parsed, in `txn_id` order (the canonical order the engine works in).
#[derive(Debug)]
pub struct PgFile<'a> {
    /// Status `captured`: what is reconciled.
    pub captured: Vec<PgTxn<'a>>,
    /// Every other status: counted, and kept for the dashboard's funnel.
    pub other: Vec<PgTxn<'a>>,
    pub rejects: Vec<Reject>,
    pub stats: PgStats,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PgFileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is binary data, not a CSV export")]
    Binary,
    #[error("expected the header `{PG_HEADER}`, found `{found}`")]
    WrongHeader { found: String },
    #[error("the file is larger than 4 GiB; split it")]
    TooLarge,
    #[error("the captured amounts add up to more than a total can hold; the file is not a real export")]
    AmountOverflow,
}

pub fn parse_pg_file<'a>(bytes: &'a [u8]) -> Result<PgFile<'a>, PgFileError> {
    sort_pg_rows(read_pg_rows(bytes)?)
}

/// [`parse_pg_file`]'s first half: the rows in file order, with the rejects and line counts.
/// [`sort_pg_rows`] is the second half. Between the two, a caller that owns the export can copy
/// the rows' text out and free it (`crate::compact`), reading it front to back.
pub fn read_pg_rows(bytes: &[u8]) -> Result<PgFile<'_>, PgFileError> {
    if u32::try_from(bytes.len()).is_err() {
        return Err(PgFileError::TooLarge);
    }
    let bytes = strip_bom(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PgFileError::Empty);
    }
    if looks_binary(bytes) {
        return Err(PgFileError::Binary);
    }
    let header_end = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
    let header = String::from_utf8_lossy(&bytes[..header_end]);
    let header = header.trim_end_matches(['\r', '\n']);
    let mut fields = Vec::new();
    let header_ok = split_fields(header, b',', &mut fields)
        && fields.len() == PG_FIELDS
        && fields.iter().zip(PG_HEADER.split(',')).all(|(f, want)| f.eq_ignore_ascii_case(want));
    if !header_ok {
        return Err(PgFileError::WrongHeader { found: header.chars().take(200).collect() });
    }
    let filler = PgTxn {
        line: 0,
        txn_id: "",
        merchant_id: "",
        merchant_ref: "",
        method: Method::Upi,
        amount: Paise::ZERO,
        status: "",
        utr: None,
        captured_at: 0,
        date: Date(0),
    };
    let (captured, chunks, end_line) = parse_chunks_into(&bytes[header_end..], CHUNK_BYTES, 1, filler, parse_chunk);
    let mut other = Vec::new();
    let mut rejects = Vec::new();
    let mut stats = PgStats { non_data_lines: 1, ..PgStats::default() };
    for (offset, chunk) in chunks {
        other.extend(chunk.other.into_iter().map(|mut t| {
            t.line += offset;
            t
        }));
        rejects.extend(chunk.rejects.into_iter().map(|mut r| {
            r.line += offset;
            r
        }));
        stats.non_data_lines += u64::from(chunk.blank);
    }
    stats.lines_read = u64::from(end_line);
    Ok(PgFile { captured, other, rejects, stats })
}

/// [`parse_pg_file`]'s second half: rows in file order ([`read_pg_rows`]) to an export in
/// `txn_id` order, repeated ids rejected, rows counted.
pub fn sort_pg_rows(file: PgFile<'_>) -> Result<PgFile<'_>, PgFileError> {
    let PgFile { mut captured, mut other, mut rejects, mut stats } = file;
    reject_duplicate_ids(&mut captured, &mut other, &mut rejects);
    rejects.sort_by_key(|r| r.line);
    stats.data_rows = (captured.len() + other.len()) as u64;
    stats.rejected_rows = rejects.len() as u64;
    stats.captured = captured.len() as u64;
    stats.captured_amount_paise =
        captured.iter().try_fold(0i64, |sum, t| sum.checked_add(t.amount.0)).ok_or(PgFileError::AmountOverflow)?;
    if !captured.is_empty() {
        stats.by_status.insert(CAPTURED.to_string(), captured.len() as u64);
    }
    for t in &other {
        match stats.by_status.get_mut(t.status) {
            Some(n) => *n += 1,
            None => {
                stats.by_status.insert(t.status.to_string(), 1);
            }
        }
    }
    Ok(PgFile { captured, other, rejects, stats })
}

/// Sorts both lists by `txn_id` and rejects every repeat of an id after its first line, within
/// a list or across the two: one transaction must never be reconciled twice.
fn reject_duplicate_ids<'a>(captured: &mut Vec<PgTxn<'a>>, other: &mut Vec<PgTxn<'a>>, rejects: &mut Vec<Reject>) {
    // Parsing is far from the run's peak: gathering is the faster move.
    let captured_keys = sort_by_id(captured, |t| t.txn_id, |t| t.line, Reorder::Gather);
    let other_keys = sort_by_id(other, |t| t.txn_id, |t| t.line, Reorder::Gather);
    let has_dup = |v: &[PgTxn<'_>], keys: &[IdKey]| {
        (1..v.len()).any(|i| keys[i - 1].cmp_ids(v[i - 1].txn_id, &keys[i], v[i].txn_id).is_eq())
    };
    if !has_dup(captured, &captured_keys)
        && !has_dup(other, &other_keys)
        && !shares_an_id((captured, &captured_keys), (other, &other_keys))
    {
        return;
    }
    // Rare: find each id's first line over both lists, then drop every later line.
    let mut first_line: std::collections::HashMap<&'a str, u32> = std::collections::HashMap::new();
    for t in captured.iter().chain(other.iter()) {
        let line = first_line.entry(t.txn_id).or_insert(t.line);
        *line = (*line).min(t.line);
    }
    for list in [captured, other] {
        list.retain(|t| {
            let first = first_line[t.txn_id];
            if t.line != first {
                rejects.push(Reject {
                    line: t.line,
                    reason: format!("duplicate txn_id `{}` (first on line {first})", t.txn_id),
                    raw: t.to_csv_line(),
                });
            }
            t.line == first
        });
    }
}

/// Whether two lists sorted by id have an id in common: one merge walk over their keys.
fn shares_an_id((a, ka): (&[PgTxn<'_>], &[IdKey]), (b, kb): (&[PgTxn<'_>], &[IdKey])) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match ka[i].cmp_ids(a[i].txn_id, &kb[j], b[j].txn_id) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

impl PgTxn<'_> {
    /// The row as the export writes it (for reject reports).
    pub fn to_csv_line(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{}",
            self.txn_id,
            self.merchant_id,
            self.merchant_ref,
            self.method.as_str(),
            self.amount.0,
            self.status,
            self.utr.map(|u| u.to_string()).unwrap_or_default(),
            crate::date::format_ist(self.captured_at)
        )
    }
}

/// What a chunk held besides its captured transactions, numbered within the chunk.
struct Chunk<'a> {
    blank: u32,
    other: Vec<PgTxn<'a>>,
    rejects: Vec<Reject>,
}

/// Parses one chunk, writing its captured transactions at the start of `captured`.
fn parse_chunk<'a>(chunk: &'a [u8], captured: &mut [PgTxn<'a>]) -> (usize, Chunk<'a>) {
    let mut out = Chunk { blank: 0, other: Vec::new(), rejects: Vec::new() };
    let mut written = 0;
    let mut fields = Vec::with_capacity(PG_FIELDS + 1);
    for (i, raw) in lines(chunk).enumerate() {
        let line = i as u32 + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            out.blank += 1;
            continue;
        }
        match parse_row(raw, &mut fields) {
            Ok(mut t) => {
                t.line = line;
                if t.is_captured() {
                    captured[written] = t;
                    written += 1;
                } else {
                    out.other.push(t);
                }
            }
            Err(reason) => out.rejects.push(Reject { line, reason, raw: String::from_utf8_lossy(raw).into_owned() }),
        }
    }
    (written, out)
}

impl Located for PgTxn<'_> {
    fn shift_line(&mut self, by: u32) {
        self.line += by;
    }
}

pub(crate) fn parse_row<'a>(raw: &'a [u8], fields: &mut Vec<&'a str>) -> Result<PgTxn<'a>, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "line is not valid UTF-8 text".to_string())?;
    if !split_fields(text, b',', fields) {
        return Err("a quoted field is not closed".into());
    }
    if fields.len() != PG_FIELDS {
        return Err(format!("expected {PG_FIELDS} fields, found {}", fields.len()));
    }
    let [txn_id, merchant_id, merchant_ref, method, amount, status, utr, captured_at] = fields[..] else {
        unreachable!("length checked above")
    };
    if txn_id.is_empty() {
        return Err("empty txn_id".into());
    }
    let method = Method::parse(method)
        .ok_or_else(|| format!("unknown method `{method}` (expected UPI, CARD, NETBANKING or WALLET)"))?;
    let amount = match amount.parse::<i64>() {
        Ok(p) if p > Paise::MAX_ROW.0 && amount.bytes().all(|c| c.is_ascii_digit()) => {
            return Err(format!("amount_paise `{amount}` is over the ₹1,000 crore a row may carry"))
        }
        Ok(p) if p > 0 && amount.bytes().all(|c| c.is_ascii_digit()) => Paise(p),
        _ => return Err(format!("amount_paise `{amount}` is not a positive whole number of paise")),
    };
    if status.is_empty() || !status.bytes().all(|c| c.is_ascii_lowercase() || c == b'_') {
        return Err(format!("status `{status}` is not a lowercase status name"));
    }
    let captured_at = parse_rfc3339(captured_at)
        .ok_or_else(|| format!("captured_at `{captured_at}` is not RFC 3339 with an offset"))?;
    Ok(PgTxn {
        line: 0,
        txn_id,
        merchant_id,
        merchant_ref,
        method,
        amount,
        status,
        utr: find_utr(utr),
        captured_at,
        date: ist_date(captured_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_read_sorted_by_id_and_counted_by_status() {
        let text = format!(
            "\u{feff}{PG_HEADER}\r\n\
T2,M1,ORD-2,UPI,85000,captured,629412345678,2026-10-01T10:15:00+05:30\r\n\
T1,M1,ORD-1,card,120000,failed,,2026-10-01T23:59:00+05:30\r\n\
\r\n\
T3,M2,\"ORD,3\",WALLET,40000,captured,0000629412345679,2026-10-01T20:00:00Z\r\n"
        );
        let f = parse_pg_file(text.as_bytes()).unwrap();
        let ids: Vec<_> = f.captured.iter().map(|t| (t.txn_id, t.line)).collect();
        assert_eq!(ids, [("T2", 2), ("T3", 5)]);
        assert_eq!(f.other[0].txn_id, "T1");
        assert_eq!(f.stats.lines_read, 5);
        assert_eq!(f.stats.non_data_lines, 2);
        assert_eq!(f.stats.captured, 2);
        assert_eq!(f.stats.captured_amount_paise, 125_000);
        assert_eq!(f.stats.by_status["failed"], 1);
        assert_eq!(f.other[0].method, Method::Card);
        assert_eq!(f.other[0].utr, None);
        assert_eq!(f.captured[1].utr.unwrap().to_string(), "629412345679");
        assert_eq!(f.captured[1].merchant_ref, "ORD,3");
        assert_eq!(f.captured[1].date, Date::from_ymd(2026, 10, 2).unwrap(), "20:00Z is the next day in IST");
    }

    #[test]
    fn bad_rows_are_rejected_with_reasons_never_zeroed() {
        let text = format!(
            "{PG_HEADER}\n\
T1,M1,R,UPI,85000.50,captured,,2026-10-01T10:15:00+05:30\n\
T2,M1,R,UPI,-5,captured,,2026-10-01T10:15:00+05:30\n\
T3,M1,R,CASH,500,captured,,2026-10-01T10:15:00+05:30\n\
T4,M1,R,UPI,500,captured,,2026-10-01 10:15\n\
T5,M1,R,UPI,500,captured\n\
T6,M1,R,UPI,500,captured,,2026-10-01T10:15:00+05:30\n\
T6,M1,R,UPI,700,captured,,2026-10-01T10:15:00+05:30\n\
T7,M1,R,UPI,700,failed,,2026-10-01T10:15:00+05:30\n\
T7,M1,R,UPI,700,captured,,2026-10-01T10:15:00+05:30\n"
        );
        let f = parse_pg_file(text.as_bytes()).unwrap();
        assert_eq!(f.captured.len(), 1);
        assert_eq!(f.captured[0].amount, Paise(500));
        let reasons: Vec<_> = f.rejects.iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert_eq!(reasons.len(), 7);
        assert!(reasons[0].1.contains("positive whole number"));
        assert!(reasons[2].1.contains("unknown method `CASH`"));
        assert!(reasons[3].1.contains("RFC 3339"));
        assert!(reasons[4].1.contains("expected 8 fields"));
        assert_eq!(reasons[5], (8, "duplicate txn_id `T6` (first on line 7)"));
        assert_eq!(reasons[6], (10, "duplicate txn_id `T7` (first on line 9)"), "across statuses too");
        assert_eq!(f.other.len(), 1);
        assert_eq!(f.stats.lines_read, f.stats.data_rows + f.stats.rejected_rows + f.stats.non_data_lines);
    }

    #[test]
    fn wrong_header_and_garbage_are_file_errors() {
        assert!(matches!(parse_pg_file(b"id,amount\n1,2\n"), Err(PgFileError::WrongHeader { .. })));
        assert_eq!(parse_pg_file(b"").unwrap_err(), PgFileError::Empty);
        assert_eq!(parse_pg_file(b"\x00\x9f\x92\x96").unwrap_err(), PgFileError::Binary);
    }
}
