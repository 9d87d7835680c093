//! Acquirer settlement reports: one row per entity a bulk credit covers. Read with the same
//! tolerance as statements (BOM, CRLF, blank lines) and the same strictness: a row that cannot
//! be read is a reject with its line and reason, never a zero.

use crate::date::Date;
use crate::fields::split_fields;
use crate::lines::{lines, looks_binary, strip_bom};
use crate::money::Paise;
use crate::parallel_parse::{parse_chunks_into, Located};
use crate::reject::Reject;
use crate::utr::{find_utr, Utr};
use serde::Serialize;

pub const SETTLEMENT_HEADER: &str =
    "settlement_id,settlement_utr,settled_on,type,entity_id,txn_id,amount_paise,fee_paise,tax_paise";
const FIELDS: usize = 9;
/// Longer ids than any acquirer issues are not ids: they are a broken export.
const MAX_ID_LEN: usize = 64;

/// What a row moves: `payment` credits its amount; `refund` and `chargeback` debit it;
/// `adjustment` carries a signed amount (positive = credit).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RowKind {
    Payment,
    Refund,
    Chargeback,
    Adjustment,
}

impl RowKind {
    pub const ALL: [RowKind; 4] = [RowKind::Payment, RowKind::Refund, RowKind::Chargeback, RowKind::Adjustment];

    pub fn as_str(self) -> &'static str {
        match self {
            RowKind::Payment => "payment",
            RowKind::Refund => "refund",
            RowKind::Chargeback => "chargeback",
            RowKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(text: &str) -> Option<RowKind> {
        RowKind::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(text))
    }

    /// Whether the row names a PG transaction (every kind but an adjustment must).
    pub fn names_a_transaction(self) -> bool {
        self != RowKind::Adjustment
    }
}

/// One row of a settlement report, borrowing its text from the file buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettlementRow<'a> {
    /// The report's base name; with `line`, the row's identity.
    pub file: &'a str,
    pub line: u32,
    pub settlement_id: &'a str,
    pub settlement_utr: Utr,
    pub settled_on: Date,
    pub kind: RowKind,
    pub entity_id: &'a str,
    /// Empty only on an adjustment.
    pub txn_id: &'a str,
    /// Positive, except on an adjustment, where the sign says credit (+) or debit (−).
    pub amount: Paise,
    pub fee: Paise,
    pub tax: Paise,
    /// The line as it was, for a reject the settlement step raises (a row disagreeing with its
    /// settlement's UTR or date).
    pub raw: &'a str,
}

impl SettlementRow<'_> {
    /// What the row adds to the credit: ±amount − fee − tax. Each term is at most
    /// [`Paise::MAX_ROW`], so this cannot overflow.
    pub fn net(&self) -> Paise {
        let signed = match self.kind {
            RowKind::Payment | RowKind::Adjustment => self.amount.0,
            RowKind::Refund | RowKind::Chargeback => -self.amount.0,
        };
        Paise(signed - self.fee.0 - self.tax.0)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SettlementStats {
    pub lines_read: u64,
    /// Rows read; with the rejected rows and the non-data lines they make `lines_read`, as for
    /// statements.
    pub data_rows: u64,
    pub rejected_rows: u64,
    /// The header and blank lines.
    pub non_data_lines: u64,
}

#[derive(Debug)]
pub struct SettlementFile<'a> {
    pub rows: Vec<SettlementRow<'a>>,
    pub rejects: Vec<Reject>,
    pub stats: SettlementStats,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettlementFileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is binary, not a CSV settlement report")]
    Binary,
    #[error("the file is larger than 4 GiB; split it")]
    TooLarge,
    #[error("the header is not `{SETTLEMENT_HEADER}`; found `{found}`")]
    WrongHeader { found: String },
}

/// Reads the settlement report `name` (its base name, which identifies its rows).
pub fn parse_settlement_file<'a>(name: &'a str, bytes: &'a [u8]) -> Result<SettlementFile<'a>, SettlementFileError> {
    if u32::try_from(bytes.len()).is_err() {
        return Err(SettlementFileError::TooLarge);
    }
    let bytes = strip_bom(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(SettlementFileError::Empty);
    }
    if looks_binary(bytes) {
        return Err(SettlementFileError::Binary);
    }
    // The header is the first line with text; blank lines may come before it.
    let mut offset = 0;
    let mut header_line = 0u32;
    loop {
        let end = memchr::memchr(b'\n', &bytes[offset..]).map_or(bytes.len(), |i| offset + i + 1);
        if offset >= bytes.len() {
            // Not reached (an all-blank file was refused above); kept so the loop ends whatever.
            return Err(SettlementFileError::Empty);
        }
        let raw = &bytes[offset..end];
        header_line += 1;
        offset = end;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = String::from_utf8_lossy(raw);
        // One line break, as `lines` strips it: `\n`, then one `\r`.
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let mut names = Vec::with_capacity(FIELDS);
        let ok = split_fields(text, b',', &mut names)
            && names.len() == FIELDS
            && names.iter().zip(SETTLEMENT_HEADER.split(',')).all(|(f, want)| f.eq_ignore_ascii_case(want));
        if !ok {
            return Err(SettlementFileError::WrongHeader { found: text.chars().take(200).collect() });
        }
        break;
    }
    // The rows, in parallel chunks (a month of a large acquirer's report is millions of rows).
    let filler = SettlementRow {
        file: name,
        line: 0,
        settlement_id: "",
        settlement_utr: Utr::from_key(0),
        settled_on: Date(0),
        kind: RowKind::Payment,
        entity_id: "",
        txn_id: "",
        amount: Paise::ZERO,
        fee: Paise::ZERO,
        tax: Paise::ZERO,
        raw: "",
    };
    let (rows, chunks, end_line) =
        parse_chunks_into(&bytes[offset..], CHUNK_BYTES, header_line, filler, |chunk, out| {
            parse_chunk(name, chunk, out)
        });
    let mut rejects = Vec::new();
    let mut blank = 0u64;
    for (at, chunk) in chunks {
        blank += chunk.blank;
        rejects.extend(chunk.rejects.into_iter().map(|mut r| {
            r.line += at;
            r
        }));
    }
    let stats = SettlementStats {
        lines_read: u64::from(end_line),
        data_rows: rows.len() as u64,
        rejected_rows: rejects.len() as u64,
        // Blank lines, the header and the blank lines before it.
        non_data_lines: blank + u64::from(header_line),
    };
    Ok(SettlementFile { rows, rejects, stats })
}

/// Chunk size for parallel parsing, as for statements.
const CHUNK_BYTES: usize = 1 << 20;

/// What a chunk held besides its rows, numbered within the chunk.
struct Chunk {
    blank: u64,
    rejects: Vec<Reject>,
}

/// Parses one chunk of rows, writing them at the start of `out`; returns how many.
fn parse_chunk<'a>(name: &'a str, chunk: &'a [u8], out: &mut [SettlementRow<'a>]) -> (usize, Chunk) {
    let mut found = Chunk { blank: 0, rejects: Vec::new() };
    let mut written = 0;
    let mut fields = Vec::with_capacity(FIELDS + 1);
    for (i, raw) in lines(chunk).enumerate() {
        let line = i as u32 + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            found.blank += 1;
            continue;
        }
        match parse_row(raw, &mut fields) {
            Ok(mut row) => {
                row.file = name;
                row.line = line;
                out[written] = row;
                written += 1;
            }
            Err(reason) => found.rejects.push(Reject { line, reason, raw: String::from_utf8_lossy(raw).into_owned() }),
        }
    }
    (written, found)
}

impl Located for SettlementRow<'_> {
    fn shift_line(&mut self, by: u32) {
        self.line += by;
    }
}

fn parse_row<'a>(raw: &'a [u8], fields: &mut Vec<&'a str>) -> Result<SettlementRow<'a>, String> {
    let text = std::str::from_utf8(raw).map_err(|_| "line is not valid UTF-8 text".to_string())?;
    if !split_fields(text, b',', fields) {
        return Err("a quoted field is not closed".into());
    }
    if fields.len() != FIELDS {
        return Err(format!("expected {FIELDS} fields, found {}", fields.len()));
    }
    let [settlement_id, utr, settled_on, kind, entity_id, txn_id, amount, fee, tax] = fields[..] else {
        unreachable!("length checked above")
    };
    identifier("settlement_id", settlement_id)?;
    let settlement_utr = settlement_utr(utr)?;
    let settled_on =
        Date::parse_iso(settled_on).ok_or_else(|| format!("settled_on `{settled_on}` is not a YYYY-MM-DD date"))?;
    let kind = RowKind::parse(kind)
        .ok_or_else(|| format!("type `{kind}` is not payment, refund, chargeback or adjustment"))?;
    identifier("entity_id", entity_id)?;
    // An adjustment may name no transaction; every other row must.
    if kind.names_a_transaction() || !txn_id.is_empty() {
        identifier("txn_id", txn_id)?;
    }
    let amount = match kind {
        RowKind::Adjustment => paise("amount_paise", amount, true)?,
        _ => paise("amount_paise", amount, false)?,
    };
    let fee = paise("fee_paise", fee, false)?;
    let tax = paise("tax_paise", tax, false)?;
    // Only an adjustment may carry no amount, and then only to charge a fee.
    if amount == Paise::ZERO && (kind != RowKind::Adjustment || fee.0 + tax.0 == 0) {
        return Err(format!("amount_paise `0` on this {} row moves nothing", kind.as_str()));
    }
    Ok(SettlementRow {
        file: "",
        line: 0,
        settlement_id,
        settlement_utr,
        settled_on,
        kind,
        entity_id,
        txn_id,
        amount,
        fee,
        tax,
        raw: text,
    })
}

fn identifier(name: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("empty {name}"));
    }
    if value.len() > MAX_ID_LEN || !value.bytes().all(|c| c.is_ascii_graphic()) {
        return Err(format!("{name} `{}` is not an id (printable, at most {MAX_ID_LEN} characters)", fit(value)));
    }
    Ok(())
}

/// A NEFT (16) or RTGS (22) UTR, the whole field: a bulk credit moves by NEFT or RTGS, never by
/// UPI, so a 12-digit RRN here is a wrong column.
fn settlement_utr(value: &str) -> Result<Utr, String> {
    // A bank code first: a zero-padded RRN (`0000629412345678`) is 16 characters too.
    let shaped = matches!(value.len(), 16 | 22)
        && value.bytes().take(4).all(|c| c.is_ascii_alphabetic())
        && value.bytes().all(|c| c.is_ascii_alphanumeric());
    match find_utr(value) {
        Some(utr) if shaped => Ok(utr),
        _ => Err(format!("settlement_utr `{}` is not a NEFT (16) or RTGS (22 character) UTR", fit(value))),
    }
}

/// Whole paise: digits only, at most [`Paise::MAX_ROW`]; a sign only where `signed`.
fn paise(name: &str, value: &str, signed: bool) -> Result<Paise, String> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        _ => (false, value.strip_prefix('+').filter(|_| signed).unwrap_or(value)),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        let what = if signed { "a whole number of paise" } else { "a non-negative whole number of paise" };
        return Err(format!("{name} `{}` is not {what}", fit(value)));
    }
    match digits.parse::<i64>() {
        Ok(p) if p <= Paise::MAX_ROW.0 => Ok(Paise(if negative { -p } else { p })),
        _ => Err(format!("{name} `{}` is over the ₹1,000 crore a row may carry", fit(value))),
    }
}

fn fit(value: &str) -> String {
    value.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UTR: &str = "HDFCN52026100512";

    fn parse(text: &str) -> SettlementFile<'_> {
        parse_settlement_file("razorpay.csv", text.as_bytes()).unwrap()
    }

    #[test]
    fn rows_of_every_kind_with_their_nets() {
        let text = format!(
            "\u{feff}{SETTLEMENT_HEADER}\r\n\
             setl_1,{UTR},2026-10-05,payment,pay_1,TXN1,100000,2000,360\r\n\
             \r\n\
             setl_1,{UTR},2026-10-05,refund,rfnd_1,TXN2,5000,0,0\r\n\
             setl_1,{UTR},2026-10-05,chargeback,chb_1,TXN3,7000,0,0\n\
             setl_1,{UTR},2026-10-05,adjustment,adj_1,,-150,0,0\n\
             setl_1,{UTR},2026-10-05,ADJUSTMENT,adj_2,,+150,10,2\n\
             setl_1,{UTR},2026-10-05,adjustment,adj_3,,0,500,90"
        );
        let f = parse(&text);
        assert!(f.rejects.is_empty(), "{:?}", f.rejects);
        let nets: Vec<i64> = f.rows.iter().map(|r| r.net().0).collect();
        assert_eq!(nets, [97_640, -5_000, -7_000, -150, 138, -590], "a fee-only adjustment too");
        assert_eq!(f.rows[0].line, 2);
        assert_eq!(f.rows[1].line, 4, "lines are physical: the blank line counts");
        assert_eq!(f.rows[0].settlement_utr.to_string(), UTR);
        assert_eq!(f.rows[0].settled_on, Date::parse_iso("2026-10-05").unwrap());
        assert_eq!(f.stats, SettlementStats { lines_read: 8, data_rows: 6, rejected_rows: 0, non_data_lines: 2 });
    }

    #[test]
    fn bad_rows_are_rejects_with_the_reason_never_zeroes() {
        let bad = [
            (format!("setl_1,{UTR},2026-10-05,payment,pay_1,TXN1,1000.50,0,0"), "amount_paise `1000.50`"),
            (format!("setl_1,{UTR},2026-10-05,payment,pay_1,TXN1,-100,0,0"), "amount_paise `-100`"),
            (format!("setl_1,{UTR},2026-10-05,payment,pay_1,TXN1,0,0,0"), "moves nothing"),
            (format!("setl_1,{UTR},2026-10-05,payment,pay_1,,100,0,0"), "empty txn_id"),
            (format!("setl_1,{UTR},05/10/2026,payment,pay_1,TXN1,100,0,0"), "settled_on"),
            (format!("setl_1,{UTR},2026-10-05,payout,pay_1,TXN1,100,0,0"), "type `payout`"),
            ("setl_1,629412345678,2026-10-05,payment,pay_1,TXN1,100,0,0".to_string(), "NEFT (16) or RTGS"),
            ("setl_1,0000629412345678,2026-10-05,payment,pay_1,TXN1,100,0,0".to_string(), "NEFT (16) or RTGS"),
            (format!("setl_1,{UTR},2026-10-05,adjustment,adj_1,,0,0,0"), "on this adjustment row moves nothing"),
            (format!("setl_1,{UTR},2026-10-05,payment,pay_1,TXN1,100,-1,0"), "fee_paise `-1`"),
            (format!("setl_1,{UTR},2026-10-05,payment,pay_1,TXN1,100,0"), "expected 9 fields"),
            (format!("setl_1,{UTR},2026-10-05,payment,pay_1,TXN1,1000000000001,0,0"), "₹1,000 crore"),
            (format!(",{UTR},2026-10-05,payment,pay_1,TXN1,100,0,0"), "empty settlement_id"),
        ];
        for (row, why) in bad {
            let text = format!("{SETTLEMENT_HEADER}\n{row}\n");
            let f = parse(&text);
            assert!(f.rows.is_empty(), "{row} was read");
            assert_eq!(f.rejects.len(), 1);
            assert!(f.rejects[0].reason.contains(why), "{row}: {}", f.rejects[0].reason);
            assert_eq!((f.rejects[0].line, f.rejects[0].raw.as_str()), (2, row.as_str()));
        }
    }

    #[test]
    fn a_wrong_file_is_refused_whole() {
        let refuse = |bytes: &[u8]| parse_settlement_file("x.csv", bytes).unwrap_err();
        assert_eq!(refuse(b"\n \n"), SettlementFileError::Empty);
        assert_eq!(refuse(b"PK\x03\x04\x00\x00"), SettlementFileError::Binary);
        assert!(matches!(refuse(b"txn_id,amount\n1,2\n"), SettlementFileError::WrongHeader { .. }));
        assert_eq!(
            refuse(b"\r\nfoo\r\r\n"),
            SettlementFileError::WrongHeader { found: "foo\r".into() },
            "the header line as read: one line break off"
        );
        let text = format!("\n{}\n", SETTLEMENT_HEADER.to_uppercase());
        let f = parse_settlement_file("x.csv", text.as_bytes()).unwrap();
        assert_eq!(f.stats.non_data_lines, 2, "blank lines before the header and the header itself");
    }
}
