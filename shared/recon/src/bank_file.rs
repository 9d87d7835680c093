//! Normalizing one bank statement file: find the layout, then turn every line into a row, a reject,
//! or a non-data line, so that lines read = data rows + rejected rows + non-data lines.
//!
//! The preamble is everything before the header row; the summary block is everything after the
//! last line whose date cell parses; any other non-blank line that is not a valid row is rejected
//! with its line number and reason. A bad row is never read as zero.

use crate::date::Date;
use crate::fields::split_fields;
use crate::lines::{lines, looks_binary, strip_bom};
use crate::money::{parse_bank_amount, Paise};
use crate::parallel_parse::{parse_chunks_into, Located};
use crate::reject::Reject;
use crate::template::Template;
use crate::utr::{bank_row_utr, Utr};
use serde::Serialize;

/// Money in (a deposit, reconciled against PG captures) or out (a withdrawal, only counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Credit,
    Debit,
}

/// One transaction line of a statement, borrowing its text from the file buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankRow<'a> {
    /// The file's base name: with `line`, the row's identity (`FILE:LINE`).
    pub file: &'a str,
    /// 1-based physical line number in the file.
    pub line: u32,
    /// The value date (or the only date the layout has).
    pub date: Date,
    pub amount: Paise,
    pub direction: Direction,
    /// Only looked for on credits: withdrawals are not matched.
    pub utr: Option<Utr>,
    pub narration: &'a str,
}

impl Located for BankRow<'_> {
    fn shift_line(&mut self, by: u32) {
        self.line += by;
    }
}

impl BankRow<'_> {
    /// `FILE:LINE`, the reference that leads back to the statement line.
    pub fn bank_ref(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// The line accounting of one file. `lines_read = data_rows + rejected_rows + non_data_lines`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileStats {
    pub lines_read: u64,
    pub data_rows: u64,
    pub rejected_rows: u64,
    pub non_data_lines: u64,
    pub credits: u64,
    pub withdrawals: u64,
    pub credit_amount_paise: i64,
    pub withdrawal_amount_paise: i64,
}

/// A statement file, normalized.
#[derive(Debug)]
pub struct BankFile<'a> {
    pub layout: &'a Template,
    pub header_line: u32,
    /// Deposits, in file order: what is reconciled.
    pub credits: Vec<BankRow<'a>>,
    /// Withdrawals, in file order: kept and counted, not matched.
    pub withdrawals: Vec<BankRow<'a>>,
    pub rejects: Vec<Reject>,
    pub stats: FileStats,
}

/// Why a whole file cannot be used. Row-level problems are rejects, not errors.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BankFileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is binary data, not a text statement")]
    Binary,
    #[error("no known statement header in the first {scanned} lines (known layouts: {known}); pass --format or --template for another layout")]
    UnknownLayout { scanned: usize, known: String },
    #[error("the {layout} header row was not found in the first {scanned} lines")]
    HeaderNotFound { layout: String, scanned: usize },
    #[error("unknown layout `{0}`")]
    NoSuchLayout(String),
    #[error("the file is larger than 4 GiB; split it")]
    TooLarge,
}

/// How far into a file the header row is looked for.
pub(crate) const HEADER_SCAN_LINES: usize = 200;
/// Chunk size for parallel parsing: large enough to amortize scheduling, small enough to balance.
const CHUNK_BYTES: usize = 1 << 20;

/// Finds the layout (or uses `forced`, a template name) and normalizes every line of `bytes`.
pub fn parse_bank_file<'a>(
    name: &'a str,
    bytes: &'a [u8],
    templates: &'a [Template],
    forced: Option<&str>,
) -> Result<BankFile<'a>, BankFileError> {
    if u32::try_from(bytes.len()).is_err() {
        return Err(BankFileError::TooLarge);
    }
    let bytes = strip_bom(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BankFileError::Empty);
    }
    if looks_binary(bytes) {
        return Err(BankFileError::Binary);
    }
    let candidates: Vec<&Template> = match forced {
        Some(name) => {
            let t = templates
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| BankFileError::NoSuchLayout(name.to_string()))?;
            vec![t]
        }
        None => templates.iter().collect(),
    };
    let (layout, header_idx, body_offset) = find_header(bytes, &candidates).ok_or_else(|| match forced {
        Some(name) => BankFileError::HeaderNotFound { layout: name.to_string(), scanned: HEADER_SCAN_LINES },
        None => BankFileError::UnknownLayout {
            scanned: HEADER_SCAN_LINES,
            known: templates.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "),
        },
    })?;
    let header_line = header_idx as u32 + 1;
    let filler = BankRow {
        file: name,
        line: 0,
        date: Date(0),
        amount: Paise::ZERO,
        direction: Direction::Credit,
        utr: None,
        narration: "",
    };
    let (credits, chunks, end_line) =
        parse_chunks_into(&bytes[body_offset..], CHUNK_BYTES, header_line, filler, |chunk, out| {
            parse_chunk(name, chunk, layout, out)
        });
    Ok(assemble(layout, header_line, credits, chunks, end_line))
}

/// The header's template, its 0-based line index, and the byte offset of the line after it.
fn find_header<'t>(bytes: &[u8], candidates: &[&'t Template]) -> Option<(&'t Template, usize, usize)> {
    let mut offset = 0;
    let mut fields = Vec::new();
    for (idx, raw) in bytes.split(|&c| c == b'\n').take(HEADER_SCAN_LINES).enumerate() {
        let next = offset + raw.len() + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if let Ok(text) = std::str::from_utf8(line) {
            for t in candidates {
                if split_fields(text, t.delimiter, &mut fields) && t.is_header(&fields) {
                    return Some((t, idx, next.min(bytes.len())));
                }
            }
        }
        offset = next;
    }
    None
}

/// What a chunk held besides its credits, with line numbers relative to the chunk (1-based).
struct Chunk<'a> {
    withdrawals: Vec<BankRow<'a>>,
    bad: Vec<BadLine>,
    /// Blank lines and repeated header rows.
    non_data: u32,
}

struct BadLine {
    line: u32,
    reason: String,
    raw: String,
    /// Whether the date cell parsed: such a line marks the statement body as still going on.
    date_ok: bool,
}

/// Parses one chunk, writing its credits at the start of `credits`; returns how many.
fn parse_chunk<'a>(name: &'a str, chunk: &'a [u8], t: &Template, credits: &mut [BankRow<'a>]) -> (usize, Chunk<'a>) {
    let mut out = Chunk { withdrawals: Vec::new(), bad: Vec::new(), non_data: 0 };
    let mut written = 0;
    let mut fields = Vec::with_capacity(t.header.len() + 2);
    for (i, raw) in lines(chunk).enumerate() {
        let line = i as u32 + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            out.non_data += 1;
            continue;
        }
        match parse_line(name, raw, t, &mut fields) {
            LineKind::Row(mut row) => {
                row.line = line;
                match row.direction {
                    Direction::Credit => {
                        credits[written] = row;
                        written += 1;
                    }
                    Direction::Debit => out.withdrawals.push(row),
                }
            }
            LineKind::Header => out.non_data += 1,
            LineKind::Bad { reason, date_ok } => {
                out.bad.push(BadLine { line, reason, date_ok, raw: String::from_utf8_lossy(raw).into_owned() })
            }
        }
    }
    (written, out)
}

pub(crate) enum LineKind<'a> {
    Row(BankRow<'a>),
    Header,
    Bad { reason: String, date_ok: bool },
}

pub(crate) fn parse_line<'a>(file: &'a str, raw: &'a [u8], t: &Template, fields: &mut Vec<&'a str>) -> LineKind<'a> {
    let bad = |reason: String, date_ok: bool| LineKind::Bad { reason, date_ok };
    let Ok(text) = std::str::from_utf8(raw) else {
        return bad("line is not valid UTF-8 text (is the file in another encoding?)".into(), false);
    };
    if !split_fields(text, t.delimiter, fields) {
        return bad("a quoted field is not closed".into(), false);
    }
    let date = fields.get(t.date_col).and_then(|d| t.parse_date(d));
    if fields.len() < t.required_fields() {
        if t.is_header(fields) {
            return LineKind::Header;
        }
        return bad(format!("expected {} fields, found {}", t.header.len(), fields.len()), date.is_some());
    }
    let Some(date) = date else {
        if t.is_header(fields) {
            return LineKind::Header;
        }
        let formats: Vec<&str> = t.date_formats.iter().map(|f| f.as_str()).collect();
        return bad(
            format!(
                "unreadable date `{}` in {} (expected {})",
                fields[t.date_col],
                t.header[t.date_col],
                formats.join(" or ")
            ),
            false,
        );
    };
    let amount =
        |col: usize| parse_bank_amount(fields[col]).map_err(|e| format!("{} `{}`: {e}", t.header[col], fields[col]));
    let credit = match amount(t.credit_col) {
        Ok(v) => v.filter(|p| p.0 != 0),
        Err(reason) => return bad(reason, true),
    };
    let debit = match amount(t.debit_col) {
        Ok(v) => v.filter(|p| p.0 != 0),
        Err(reason) => return bad(reason, true),
    };
    let narration = fields[t.narration_col];
    let (amount, direction) = match (credit, debit) {
        (Some(c), None) => (c, Direction::Credit),
        (None, Some(d)) => (d, Direction::Debit),
        (Some(_), Some(_)) => return bad("both a withdrawal and a deposit amount".into(), true),
        (None, None) => return bad("no withdrawal or deposit amount".into(), true),
    };
    let utr = match direction {
        Direction::Credit => bank_row_utr(t.reference_col.map_or("", |c| fields[c]), narration),
        Direction::Debit => None,
    };
    LineKind::Row(BankRow { file, line: 0, date, amount, direction, utr, narration })
}

fn assemble<'a>(
    layout: &'a Template,
    header_line: u32,
    credits: Vec<BankRow<'a>>,
    chunks: Vec<(u32, Chunk<'a>)>,
    end_line: u32,
) -> BankFile<'a> {
    let mut withdrawals = Vec::new();
    let mut bad = Vec::new();
    let mut non_data = u64::from(header_line); // preamble and the header itself
    for (offset, chunk) in chunks {
        withdrawals.extend(chunk.withdrawals.into_iter().map(|mut r| {
            r.line += offset;
            r
        }));
        bad.extend(chunk.bad.into_iter().map(|mut b| {
            b.line += offset;
            b
        }));
        non_data += u64::from(chunk.non_data);
    }
    let offset = end_line;
    let lines_read = u64::from(offset);
    let last_dated = [credits.last(), withdrawals.last()]
        .into_iter()
        .flatten()
        .map(|r| r.line)
        .chain(bad.iter().filter(|b| b.date_ok).map(|b| b.line))
        .max();
    let mut rejects = Vec::new();
    for b in bad {
        // The last dated line may itself be bad (say, a bad amount): it is still part of the body.
        if last_dated.is_some_and(|last| b.line <= last) {
            rejects.push(Reject { line: b.line, reason: b.reason, raw: b.raw });
        } else {
            non_data += 1; // the summary block
        }
    }
    let stats = FileStats {
        lines_read,
        data_rows: (credits.len() + withdrawals.len()) as u64,
        credits: credits.len() as u64,
        withdrawals: withdrawals.len() as u64,
        credit_amount_paise: credits.iter().map(|r| r.amount.0).sum(),
        withdrawal_amount_paise: withdrawals.iter().map(|r| r.amount.0).sum(),
        rejected_rows: rejects.len() as u64,
        non_data_lines: non_data,
    };
    BankFile { layout, header_line, credits, withdrawals, rejects, stats }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::built_in_templates;

    fn parse(text: &str) -> Result<BankFile<'static>, BankFileError> {
        let templates: &'static [Template] = Box::leak(built_in_templates().into_boxed_slice());
        let bytes: &'static [u8] = Box::leak(text.as_bytes().to_vec().into_boxed_slice());
        parse_bank_file("test.csv", bytes, templates, None)
    }

    fn assert_accounting(f: &BankFile) {
        let s = &f.stats;
        assert_eq!(s.lines_read, s.data_rows + s.rejected_rows + s.non_data_lines, "{s:?}");
    }

    const HDFC: &str = "\u{feff}HDFC BANK Ltd.\r\nAccount No : 50200012345678\r\n\r\n\
Date,Narration,Chq./Ref.No.,Value Dt,Withdrawal Amt.,Deposit Amt.,Closing Balance\r\n\
01/10/26,\"UPI-ACME, STORES-629412345678-ORD-1\",0000629412345678,02/10/2026,,\"1,23,456.78\",\"5,00,000.00\"\r\n\
\r\n\
01/10/26,NEFT-HDFCN52026100112-ACME,,02/10/26,,850.5,5\r\n\
01/10/26,CHARGES,,02/10/26,118.00,,5\r\n\
01/10/26,UPI-X-629412345679,,31/02/2026,,100,5\r\n\
01/10/26,UPI-X-629412345680,,02/10/2026,,12.345,5\r\n\
01/10/26,UPI-X-629412345681,,02/10/2026,,100,5\r\n\
\r\n\
STATEMENT SUMMARY :-\r\n\
Opening Balance,Dr Count,Cr Count,Debits,Credits,Closing Bal\r\n\
\"3,76,543.22\",1,3,118.00,\"1,24,407.28\",\"5,00,000.00\"\r\n\
Generated On: 03/10/2026\r\n";

    #[test]
    fn hdfc_statement_with_every_messiness_is_accounted_line_by_line() {
        let f = parse(HDFC).unwrap();
        assert_eq!(f.layout.name, "hdfc");
        assert_eq!(f.header_line, 4);
        assert_accounting(&f);
        assert_eq!(f.stats.lines_read, 16);
        let credits = &f.credits;
        assert_eq!(
            credits.iter().map(|r| (r.line, r.amount.0)).collect::<Vec<_>>(),
            [(5, 12_345_678), (7, 85_050), (11, 10_000)]
        );
        assert_eq!(credits[0].utr.unwrap().to_string(), "629412345678");
        assert_eq!(credits[0].narration, "UPI-ACME, STORES-629412345678-ORD-1");
        assert_eq!(credits[0].date, Date::from_ymd(2026, 10, 2).unwrap());
        assert_eq!(credits[1].utr.unwrap().to_string(), "HDFCN52026100112");
        assert_eq!(f.stats.withdrawals, 1);
        assert_eq!(f.stats.withdrawal_amount_paise, 11_800);
        let rejects: Vec<_> = f.rejects.iter().map(|r| r.line).collect();
        assert_eq!(rejects, [9, 10]);
        assert!(f.rejects[0].reason.contains("unreadable date `31/02/2026`"), "{}", f.rejects[0].reason);
        assert!(f.rejects[1].reason.contains("more than two decimal places"), "{}", f.rejects[1].reason);
        assert_eq!(f.rejects[1].raw, "01/10/26,UPI-X-629412345680,,02/10/2026,,12.345,5");
    }

    #[test]
    fn icici_pipe_layout_with_lf_and_no_preamble() {
        let text = "S No.|Value Date|Transaction Date|Cheque Number|Transaction Remarks|Withdrawal Amount (INR )|Deposit Amount (INR )|Balance (INR )\n\
1|2026-10-02|2026-10-01||IMPS/P2A/629412345678/RAVI|| 850.00 |1000\n\
2|2026-10-02|2026-10-01||\"BIL|ONL|X\"|850||150\n\
3|2026-10-0X|2026-10-01||UPI/629412345699/Z||850|150\n\
4|2026-10-03|2026-10-01||UPI/629412345698/Z||850|150\n\
Total||||||1700|\n";
        let f = parse(text).unwrap();
        assert_eq!(f.layout.name, "icici");
        assert_accounting(&f);
        assert_eq!((f.credits.len(), f.withdrawals.len()), (2, 1));
        assert_eq!(f.withdrawals[0].narration, "BIL|ONL|X");
        assert_eq!(f.rejects.len(), 1);
        assert_eq!(f.rejects[0].line, 4);
        assert_eq!(f.stats.non_data_lines, 2);
    }

    #[test]
    fn axis_layout_and_a_repeated_header_after_a_page_break() {
        let text = "Tran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL\n\
02-10-2026,,UPI/629412345678/A,,850,1,100\n\
Tran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL\n\
02-10-2026,HDFCN52026100112,NEFT INWARD,,\"1,200.00\",1,100\n\
02-10-2026,,ROW WITH TOO FEW FIELDS\n\
02-10-2026,,UPI/629412345677/B,,1,1,100\n";
        let f = parse(text).unwrap();
        assert_eq!(f.layout.name, "axis");
        assert_accounting(&f);
        assert_eq!(f.credits.len(), 3);
        assert_eq!(f.credits[1].utr.unwrap().to_string(), "HDFCN52026100112");
        assert_eq!(f.rejects.len(), 1);
        assert!(f.rejects[0].reason.contains("expected 7 fields, found 3"));
    }

    #[test]
    fn unusable_files_are_errors_not_panics() {
        assert_eq!(parse("").unwrap_err(), BankFileError::Empty);
        assert_eq!(parse("\u{feff}\r\n \n").unwrap_err(), BankFileError::Empty);
        assert_eq!(parse("\0\x01\x02garbage").unwrap_err(), BankFileError::Binary);
        assert!(matches!(parse("hello,world\n1,2\n").unwrap_err(), BankFileError::UnknownLayout { .. }));
        let latin1 = b"Tran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL\n02-10-2026,,CAF\xc9 UPI/629412345678/A,,850,1,100\n02-10-2026,,UPI/629412345677/B,,850,1,100\n";
        let templates = built_in_templates();
        let f = parse_bank_file("latin1.csv", latin1, &templates, None).unwrap();
        assert_eq!(f.rejects.len(), 1);
        assert!(f.rejects[0].reason.contains("UTF-8"));
        assert_eq!(
            parse_bank_file("x.csv", b"x\n", &templates, Some("sbi")).unwrap_err(),
            BankFileError::NoSuchLayout("sbi".into())
        );
    }

    proptest::proptest! {
        /// Whatever the lines between header and summary, every line is counted exactly once and
        /// nothing panics.
        #[test]
        fn every_line_is_a_row_a_reject_or_non_data(
            body in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just("02-10-2026,,UPI/629412345678/A,,850,1,100".to_string()),
                proptest::strategy::Just("02-10-2026,,CHARGES,12.50,,1,100".to_string()),
                proptest::strategy::Just(String::new()),
                proptest::strategy::Just("Tran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL".to_string()),
                "[ -~]{0,40}",
                "[0-9,.\"-]{0,30}",
            ], 0..60),
            crlf in proptest::bool::ANY,
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let text = format!("Statement\nTran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL\n{}", body.join(eol));
            let templates = built_in_templates();
            let f = parse_bank_file("p.csv", text.as_bytes(), &templates, None).unwrap();
            assert_accounting(&f);
            let lines = text.as_bytes().strip_suffix(b"\n").unwrap_or(text.as_bytes()).split(|&c| c == b'\n').count();
            proptest::prop_assert_eq!(f.stats.lines_read, lines as u64);
        }
    }

    #[test]
    fn forced_layout_must_find_its_header() {
        let templates = built_in_templates();
        let err = parse_bank_file("h.csv", HDFC.as_bytes(), &templates, Some("axis")).unwrap_err();
        assert!(matches!(err, BankFileError::HeaderNotFound { .. }));
        assert!(parse_bank_file("h.csv", HDFC.as_bytes(), &templates, Some("HDFC")).is_ok());
    }
}
