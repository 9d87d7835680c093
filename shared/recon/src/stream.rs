//! Normalizing a file that arrives as a stream of blocks (an S3 object read in pieces), with the
//! same rules and the same accounting as the whole-buffer parsers, in memory bounded by the block.
//!
//! Blocks must hold whole lines: the caller keeps a partial last line for the next block (see
//! [`LineBlocks`]). Rows are handed to a sink as they are read and borrow from the block.

use crate::bank_file::{parse_line, BankFileError, BankRow, Direction, FileStats, LineKind, HEADER_SCAN_LINES};
use crate::date::Date;
use crate::fields::split_fields;
use crate::lines::{lines, looks_binary};
use crate::pg_file::{parse_row, PgFileError, PgStats, PgTxn, CAPTURED, PG_HEADER};
use crate::reject::Reject;
use crate::template::Template;
use std::collections::HashSet;

/// The longest line a statement or an export may have. A file without line breaks (or with a
/// line this long) is not one, and must not be held in memory whole while looking for the end of
/// its first line.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Cuts a byte stream into blocks of whole lines.
#[derive(Default)]
pub struct LineBlocks {
    carry: Vec<u8>,
}

impl LineBlocks {
    /// Bytes held waiting for a line break: over [`MAX_LINE_BYTES`], the stream is not lines.
    pub fn pending_len(&self) -> usize {
        self.carry.len()
    }

    /// Adds `bytes`; returns the whole lines now available (possibly none).
    pub fn push(&mut self, bytes: &[u8]) -> Option<Vec<u8>> {
        self.carry.extend_from_slice(bytes);
        let last = memchr::memrchr(b'\n', &self.carry)?;
        let rest = self.carry.split_off(last + 1);
        Some(std::mem::replace(&mut self.carry, rest))
    }

    /// What is left at the end of the stream: a last line without a newline.
    pub fn finish(self) -> Option<Vec<u8>> {
        (!self.carry.is_empty()).then_some(self.carry)
    }
}

/// The date range extended to include `d`.
fn widen(range: Option<(Date, Date)>, d: Date) -> Option<(Date, Date)> {
    Some(range.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))))
}

/// The outcome of a streamed statement.
#[derive(Debug)]
pub struct StatementSummary {
    pub layout: String,
    pub header_line: u32,
    pub stats: FileStats,
    pub rejects: Vec<Reject>,
    /// Earliest and latest value date of the rows.
    pub dates: Option<(Date, Date)>,
}

/// A bank statement, normalized block by block.
pub struct StatementStream<'t> {
    templates: &'t [Template],
    forced: Option<&'t str>,
    layout: Option<&'t Template>,
    header_line: u32,
    lines: u32,
    started: bool,
    saw_text: bool,
    stats: FileStats,
    /// Bad lines after the last dated line: rejects if a dated line follows, summary if not.
    pending: Vec<Reject>,
    rejects: Vec<Reject>,
    /// Rejects already handed out by [`StatementStream::take_rejects`].
    drained: u64,
    dates: Option<(Date, Date)>,
}

impl<'t> StatementStream<'t> {
    /// The rejects found so far, handed out to be written as they come (a file of millions of bad
    /// lines is never held in memory); they still count in the summary.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        self.drained += self.rejects.len() as u64;
        std::mem::take(&mut self.rejects)
    }

    pub fn new(templates: &'t [Template], forced: Option<&'t str>) -> Result<Self, BankFileError> {
        if let Some(name) = forced {
            if !templates.iter().any(|t| t.name.eq_ignore_ascii_case(name)) {
                return Err(BankFileError::NoSuchLayout(name.to_string()));
            }
        }
        Ok(StatementStream {
            templates,
            forced,
            layout: None,
            header_line: 0,
            lines: 0,
            started: false,
            saw_text: false,
            stats: FileStats::default(),
            pending: Vec::new(),
            rejects: Vec::new(),
            drained: 0,
            dates: None,
        })
    }

    /// Normalizes a block of whole lines of the file called `name`, handing each row to `sink`.
    pub fn feed<'b>(
        &mut self,
        name: &'b str,
        block: &'b [u8],
        sink: &mut dyn FnMut(BankRow<'b>),
    ) -> Result<(), BankFileError> {
        let mut block = block;
        if !self.started {
            self.started = true;
            block = crate::lines::strip_bom(block);
            if looks_binary(block) {
                return Err(BankFileError::Binary);
            }
        }
        let mut fields = Vec::new();
        for raw in lines(block) {
            self.lines += 1;
            self.stats.lines_read += 1;
            let blank = raw.iter().all(u8::is_ascii_whitespace);
            self.saw_text |= !blank;
            let Some(t) = self.layout else {
                self.stats.non_data_lines += 1;
                self.find_header(raw)?;
                continue;
            };
            if blank {
                self.stats.non_data_lines += 1;
                continue;
            }
            match parse_line(name, raw, t, &mut fields) {
                LineKind::Row(mut row) => {
                    row.line = self.lines;
                    self.rejects.append(&mut self.pending);
                    self.stats.data_rows += 1;
                    match row.direction {
                        Direction::Credit => {
                            self.stats.credits += 1;
                            self.stats.credit_amount_paise += row.amount.0;
                        }
                        Direction::Debit => {
                            self.stats.withdrawals += 1;
                            self.stats.withdrawal_amount_paise += row.amount.0;
                        }
                    }
                    self.dates = widen(self.dates, row.date);
                    sink(row);
                }
                LineKind::Header => self.stats.non_data_lines += 1,
                LineKind::Bad { reason, date_ok } => {
                    let reject = Reject { line: self.lines, reason, raw: String::from_utf8_lossy(raw).into_owned() };
                    if date_ok {
                        self.rejects.append(&mut self.pending);
                        self.rejects.push(reject);
                    } else {
                        self.pending.push(reject);
                    }
                }
            }
        }
        Ok(())
    }

    fn find_header(&mut self, raw: &[u8]) -> Result<(), BankFileError> {
        let mut cells = Vec::new();
        if let Ok(text) = std::str::from_utf8(raw.strip_suffix(b"\r").unwrap_or(raw)) {
            for t in self.templates {
                let allowed = self.forced.is_none_or(|f| t.name.eq_ignore_ascii_case(f));
                if allowed && split_fields(text, t.delimiter, &mut cells) && t.is_header(&cells) {
                    self.layout = Some(t);
                    self.header_line = self.lines;
                    return Ok(());
                }
            }
        }
        if self.lines as usize >= HEADER_SCAN_LINES {
            return Err(self.no_header());
        }
        Ok(())
    }

    fn no_header(&self) -> BankFileError {
        match self.forced {
            Some(name) => BankFileError::HeaderNotFound { layout: name.to_string(), scanned: HEADER_SCAN_LINES },
            None => BankFileError::UnknownLayout {
                scanned: HEADER_SCAN_LINES,
                known: self.templates.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", "),
            },
        }
    }

    /// Ends the stream: the lines still pending are the summary block.
    pub fn finish(mut self) -> Result<StatementSummary, BankFileError> {
        if !self.saw_text {
            return Err(BankFileError::Empty);
        }
        let Some(t) = self.layout else {
            return Err(self.no_header());
        };
        self.stats.non_data_lines += self.pending.len() as u64;
        self.stats.rejected_rows = self.drained + self.rejects.len() as u64;
        Ok(StatementSummary {
            layout: t.name.clone(),
            header_line: self.header_line,
            stats: self.stats,
            rejects: self.rejects,
            dates: self.dates,
        })
    }
}

/// The outcome of a streamed PG export.
#[derive(Debug)]
pub struct PgSummary {
    pub stats: PgStats,
    pub rejects: Vec<Reject>,
    /// Earliest and latest IST capture date.
    pub dates: Option<(Date, Date)>,
}

/// A PG export, read block by block. Repeated `txn_id`s are rejected (first line wins), as in
/// [`crate::pg_file::parse_pg_file`].
#[derive(Default)]
pub struct PgStream {
    lines: u32,
    header_ok: bool,
    seen: HashSet<String>,
    stats: PgStats,
    rejects: Vec<Reject>,
    /// Rejects already handed out by [`PgStream::take_rejects`].
    drained: u64,
    dates: Option<(Date, Date)>,
}

impl PgStream {
    /// A stream over a later part of an export (a chunk starting at line `first_line`): the
    /// header was on line 1, in the first part.
    pub fn continuing(first_line: u32) -> PgStream {
        PgStream { lines: first_line.saturating_sub(1), header_ok: true, ..PgStream::default() }
    }

    /// Reads the block's lines; each accepted row goes to `sink` with its raw line.
    pub fn feed<'b>(&mut self, block: &'b [u8], sink: &mut dyn FnMut(PgTxn<'b>, &'b [u8])) -> Result<(), PgFileError> {
        let mut block = block;
        if self.lines == 0 {
            block = crate::lines::strip_bom(block);
            if looks_binary(block) {
                return Err(PgFileError::Binary);
            }
        }
        let mut fields = Vec::new();
        for raw in lines(block) {
            self.lines += 1;
            self.stats.lines_read += 1;
            if !self.header_ok {
                let text = String::from_utf8_lossy(raw);
                if text.trim().is_empty() && self.lines == 1 {
                    self.stats.non_data_lines += 1;
                    continue;
                }
                let mut cells = Vec::new();
                let ok = split_fields(&text, b',', &mut cells)
                    && cells.len() == 8
                    && cells.iter().zip(PG_HEADER.split(',')).all(|(c, want)| c.eq_ignore_ascii_case(want));
                if !ok {
                    return Err(PgFileError::WrongHeader { found: text.chars().take(200).collect() });
                }
                self.header_ok = true;
                self.stats.non_data_lines += 1;
                continue;
            }
            if raw.iter().all(u8::is_ascii_whitespace) {
                self.stats.non_data_lines += 1;
                continue;
            }
            match parse_row(raw, &mut fields) {
                Ok(mut t) => {
                    t.line = self.lines;
                    if !self.seen.insert(t.txn_id.to_string()) {
                        self.rejects.push(Reject {
                            line: t.line,
                            reason: format!("duplicate txn_id `{}` (first on an earlier line)", t.txn_id),
                            raw: String::from_utf8_lossy(raw).into_owned(),
                        });
                        continue;
                    }
                    self.stats.data_rows += 1;
                    *self.stats.by_status.entry(t.status.to_string()).or_default() += 1;
                    if t.status == CAPTURED {
                        self.stats.captured += 1;
                        self.stats.captured_amount_paise = self
                            .stats
                            .captured_amount_paise
                            .checked_add(t.amount.0)
                            .ok_or(PgFileError::AmountOverflow)?;
                    }
                    self.dates = widen(self.dates, t.date);
                    sink(t, raw);
                }
                Err(reason) => self.rejects.push(Reject {
                    line: self.lines,
                    reason,
                    raw: String::from_utf8_lossy(raw).into_owned(),
                }),
            }
        }
        Ok(())
    }

    /// Turns a row `feed` accepted into a reject after all (its `txn_id` already came from another
    /// file): the counts move from the row's status to the rejects, so lines read still equal
    /// rows kept + rows rejected + other lines.
    pub fn withdraw(&mut self, t: &PgTxn<'_>, raw: &[u8], reason: String) {
        self.stats.data_rows -= 1;
        if let Some(n) = self.stats.by_status.get_mut(t.status) {
            *n -= 1;
            if *n == 0 {
                self.stats.by_status.remove(t.status);
            }
        }
        if t.status == CAPTURED {
            self.stats.captured -= 1;
            self.stats.captured_amount_paise -= t.amount.0;
        }
        self.rejects.push(Reject { line: t.line, reason, raw: String::from_utf8_lossy(raw).into_owned() });
    }

    /// The rejects found so far, in line order, handed out to be written as they come; they
    /// still count in the summary.
    pub fn take_rejects(&mut self) -> Vec<Reject> {
        self.drained += self.rejects.len() as u64;
        let mut out = std::mem::take(&mut self.rejects);
        out.sort_by_key(|r| r.line);
        out
    }

    pub fn finish(mut self) -> Result<PgSummary, PgFileError> {
        self.rejects.sort_by_key(|r| r.line);
        if !self.header_ok {
            return Err(PgFileError::Empty);
        }
        self.stats.rejected_rows = self.drained + self.rejects.len() as u64;
        Ok(PgSummary { stats: self.stats, rejects: self.rejects, dates: self.dates })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank_file::parse_bank_file;
    use crate::gen::{generate, GenConfig};
    use crate::pg_file::parse_pg_file;
    use crate::template::built_in_templates;

    /// Feeds `bytes` in blocks of `size` through [`LineBlocks`].
    fn stream_statement(bytes: &[u8], size: usize) -> (Vec<(u32, i64)>, Result<StatementSummary, BankFileError>) {
        let templates = built_in_templates();
        let mut s = StatementStream::new(&templates, None).unwrap();
        let mut rows = Vec::new();
        let mut blocks = LineBlocks::default();
        let mut result = Ok(());
        for piece in bytes.chunks(size.max(1)) {
            if let Some(block) = blocks.push(piece) {
                result = result.and_then(|()| s.feed("f.csv", &block, &mut |r| rows.push((r.line, r.amount.0))));
            }
        }
        if let Some(block) = blocks.finish() {
            result = result.and_then(|()| s.feed("f.csv", &block, &mut |r| rows.push((r.line, r.amount.0))));
        }
        (rows, result.and_then(|()| s.finish()))
    }

    #[test]
    fn streamed_statements_equal_whole_file_parses() {
        let g = generate(&GenConfig::new(3_000, 5));
        let templates = built_in_templates();
        for file in &g.banks {
            let whole = parse_bank_file("f.csv", &file.bytes, &templates, None).unwrap();
            let mut want: Vec<(u32, i64)> =
                whole.credits.iter().chain(&whole.withdrawals).map(|r| (r.line, r.amount.0)).collect();
            want.sort_unstable();
            for size in [1_000, 65_536, 10_000_000] {
                let (rows, summary) = stream_statement(&file.bytes, size);
                let summary = summary.unwrap();
                assert_eq!(rows, want, "{} in blocks of {size}", file.name);
                assert_eq!(summary.stats, whole.stats, "{}", file.name);
                assert_eq!(summary.rejects, whole.rejects, "{}", file.name);
                assert_eq!(summary.header_line, whole.header_line);
            }
        }
    }

    #[test]
    fn streamed_garbage_is_an_error() {
        assert_eq!(stream_statement(b"", 10).1.unwrap_err(), BankFileError::Empty);
        assert_eq!(stream_statement(b"\x00\x01binary", 10).1.unwrap_err(), BankFileError::Binary);
        assert!(matches!(stream_statement(b"a,b\n1,2\n", 10).1.unwrap_err(), BankFileError::UnknownLayout { .. }));
    }

    #[test]
    fn streamed_pg_export_equals_the_whole_file_parse() {
        let g = generate(&GenConfig::new(3_000, 5));
        let whole = parse_pg_file(&g.pg.bytes).unwrap();
        let mut s = PgStream::default();
        let mut ids = Vec::new();
        let mut blocks = LineBlocks::default();
        for piece in g.pg.bytes.chunks(4_096) {
            if let Some(block) = blocks.push(piece) {
                s.feed(&block, &mut |t, _| ids.push(t.txn_id.to_string())).unwrap();
            }
        }
        if let Some(block) = blocks.finish() {
            s.feed(&block, &mut |t, _| ids.push(t.txn_id.to_string())).unwrap();
        }
        let summary = s.finish().unwrap();
        ids.sort();
        let mut want: Vec<String> = whole.captured.iter().chain(&whole.other).map(|t| t.txn_id.to_string()).collect();
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(summary.stats, whole.stats);
        assert_eq!(summary.rejects.len(), whole.rejects.len());
    }
}
