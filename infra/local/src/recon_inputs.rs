//! `settlepaisa recon`'s inputs, read and normalized one kind after another: the PG export, the
//! statements, the settlement reports. Each kind's files are freed once its rows' text is copied
//! out (`settlepaisa_recon::compact`), so the run holds at most one kind's files and the next
//! kind's being read, never all of them (issue 11 §3: peak memory under twice the input). Each
//! kind's files are read and parsed in parallel, each file in parallel chunks; the next kind is
//! read while the last one's rows are rebound.

use crate::error::{io_err, CliError};
use rayon::prelude::*;
use settlepaisa_recon::bank_file::{parse_bank_file, BankRow, FileStats};
use settlepaisa_recon::compact::{Arena, PgText};
use settlepaisa_recon::pg_file::{read_pg_rows, sort_pg_rows, PgFile, PgStats, PgTxn};
use settlepaisa_recon::reject::Reject;
use settlepaisa_recon::settlement::report_file::{parse_settlement_file, SettlementStats};
use settlepaisa_recon::settlement::SettlementRow;
use settlepaisa_recon::template::Template;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The files of a run and the names their rows and rejects carry.
pub struct Inputs<'a> {
    pub pg: &'a PathBuf,
    pub pg_name: &'a str,
    pub banks: &'a [PathBuf],
    pub bank_names: &'a [String],
    pub settlements: &'a [PathBuf],
    pub settlement_names: &'a [String],
    pub templates: &'a [Template],
    /// A layout forced on every statement.
    pub format: Option<&'a str>,
}

/// The text the normalized rows keep, once their files are freed: [`read_and_normalize`] fills it.
#[derive(Debug, Default)]
pub struct Texts {
    pg: PgText,
    banks: Vec<Arena>,
    settlements: Vec<Arena>,
}

/// What the run keeps of the PG export besides its rows.
#[derive(Debug)]
pub struct PgFileParsed {
    pub rejects: Vec<Reject>,
    pub stats: PgStats,
}

/// What the run keeps of a statement besides its credits.
#[derive(Debug)]
pub struct BankFileParsed {
    pub layout: String,
    pub header_line: u32,
    pub rejects: Vec<Reject>,
    pub stats: FileStats,
}

/// What the run keeps of a settlement report besides its rows.
#[derive(Debug)]
pub struct SettlementFileParsed {
    pub rejects: Vec<Reject>,
    pub stats: SettlementStats,
    /// Its size when read: a report read again for its refused lines must not have changed.
    pub bytes: u64,
    /// Whether its rows kept their lines (it is not a file that can be read again).
    pub with_lines: bool,
}

/// Every input, normalized: each kind's rows in one list, and each file's rejects and counts in
/// the order the files were given.
#[derive(Debug)]
pub struct Normalized<'t> {
    pub pg_txns: Vec<PgTxn<'t>>,
    pub pg: PgFileParsed,
    pub bank_rows: Vec<BankRow<'t>>,
    pub banks: Vec<BankFileParsed>,
    pub settlement_rows: Vec<SettlementRow<'t>>,
    pub settlements: Vec<SettlementFileParsed>,
    pub input_bytes: u64,
    /// Time spent reading files (some of it beside parsing), and the rest.
    pub read_ms: f64,
    pub normalize_ms: f64,
}

pub fn read_and_normalize<'t>(inputs: &Inputs<'t>, texts: &'t mut Texts) -> Result<Normalized<'t>, CliError> {
    let started = Instant::now();
    // A missing file is reported before anything is parsed, in argument order. (Looked up, not
    // opened: opening a named pipe to check it would take its writer's data.) A settlement report
    // that is not a file (a pipe) cannot be read twice: its rows keep their lines.
    let mut reread_settlements = Vec::with_capacity(inputs.settlements.len());
    for path in std::iter::once(inputs.pg).chain(inputs.banks).chain(inputs.settlements) {
        let metadata = std::fs::metadata(path).map_err(io_err(path))?;
        reread_settlements.push(metadata.is_file());
    }
    let reread_settlements = reread_settlements.split_off(1 + inputs.banks.len());
    let Texts { pg: pg_text, banks: bank_texts, settlements: settlement_texts } = texts;
    let mut read_ms = 0.0;
    let mut input_bytes = 0u64;
    let mut read_all = |paths: &[PathBuf]| -> Result<Vec<Vec<u8>>, CliError> {
        let reading = Instant::now();
        // In parallel, collected in argument order first: the error reported is the first failing
        // file's as given, whichever failed first in time.
        let files: Vec<Vec<u8>> = paths
            .par_iter()
            .map(|p| std::fs::read(p).map_err(io_err(p)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect::<Result<_, _>>()?;
        read_ms += ms(reading);
        input_bytes += files.iter().map(|f| f.len() as u64).sum::<u64>();
        Ok(files)
    };

    // The PG export: its rows read in file order, their text copied out, the export freed, and
    // only then the rows put in `txn_id` order (which holds them twice for a moment).
    let pg_bytes = read_all(std::slice::from_ref(inputs.pg))?;
    let pg_error = |source| CliError::Pg { file: inputs.pg_name.to_string(), source };
    let PgFile { captured, other, rejects, stats } = read_pg_rows(&pg_bytes[0]).map_err(pg_error)?;
    *pg_text = PgText::of(&captured, &other);
    let pg_text: &'t PgText = pg_text;
    // Rebinding is one pass on one core: the other reads the statements meanwhile.
    let ((captured, other), bank_bytes) = rayon::join(|| pg_text.rebind(captured, other), || read_all(inputs.banks));
    drop(pg_bytes);
    let PgFile { captured: pg_txns, rejects, stats, .. } =
        sort_pg_rows(PgFile { captured, other, rejects, stats }).map_err(pg_error)?;
    let pg = PgFileParsed { rejects, stats };
    let bank_bytes = bank_bytes?;

    // The statements; the settlement reports are read while their credits are rebound.
    let parsed = bank_bytes
        .par_iter()
        .zip(inputs.bank_names)
        .map(|(bytes, name)| {
            let f = parse_bank_file(name, bytes, inputs.templates, inputs.format)
                .map_err(|source| CliError::Bank { file: name.clone(), source })?;
            let text = Arena::of_bank(&f.credits);
            let file = BankFileParsed {
                layout: f.layout.name.clone(),
                header_line: f.header_line,
                rejects: f.rejects,
                stats: f.stats,
            };
            Ok((file, text, f.credits))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>, CliError>>()?;
    let (banks, texts, rows) = unzip3(parsed);
    *bank_texts = texts;
    let bank_texts: &'t [Arena] = bank_texts;
    let rebind = || -> Vec<Vec<BankRow<'t>>> {
        bank_texts.par_iter().zip(inputs.bank_names).zip(rows).map(|((t, name), r)| t.rebind_bank(name, r)).collect()
    };
    let (mut credits, settlement_bytes) = rayon::join(rebind, || read_all(inputs.settlements));
    drop(bank_bytes);
    let settlement_bytes = settlement_bytes?;

    // The settlement reports. The rows of a report that is a file keep no line: the few the
    // settlement step refuses are read again for the rejects ([`refused_lines`]).
    let parsed = settlement_bytes
        .par_iter()
        .zip(inputs.settlement_names)
        .zip(&reread_settlements)
        .map(|((bytes, name), &rereadable)| {
            let f = parse_settlement_file(name, bytes)
                .map_err(|source| CliError::Settlement { file: name.clone(), source })?;
            let with_lines = !rereadable;
            let text = Arena::of_settlement(&f.rows, with_lines);
            let file =
                SettlementFileParsed { rejects: f.rejects, stats: f.stats, bytes: bytes.len() as u64, with_lines };
            Ok((file, text, f.rows))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>, CliError>>()?;
    let (settlements, texts, rows) = unzip3(parsed);
    *settlement_texts = texts;
    let settlement_texts: &'t [Arena] = settlement_texts;
    let mut settlement_rows: Vec<Vec<SettlementRow<'t>>> = settlement_texts
        .par_iter()
        .zip(inputs.settlement_names)
        .zip(rows)
        .zip(&settlements)
        .map(|(((t, name), r), file)| t.rebind_settlement(name, r, file.with_lines))
        .collect();
    drop(settlement_bytes);

    Ok(Normalized {
        pg_txns,
        pg,
        bank_rows: concat_largest_first(credits.iter_mut().collect()),
        banks,
        settlement_rows: concat_largest_first(settlement_rows.iter_mut().collect()),
        settlements,
        input_bytes,
        normalize_ms: ms(started) - read_ms,
        read_ms,
    })
}

/// Sets the `raw` of `report`'s rejects from `from` on (those the settlement step refused) to
/// their lines, read again from `path`, unless its rows kept their lines. A report that changed
/// since it was read is an error: its lines would not be the rows that were refused.
pub fn refused_lines(path: &Path, report: &mut SettlementFileParsed, from: usize) -> Result<(), CliError> {
    let rejects = &mut report.rejects[from..];
    if rejects.is_empty() || report.with_lines {
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    if bytes.len() as u64 != report.bytes {
        return Err(CliError::Usage(format!(
            "{} changed while recon ran ({} bytes, then {}); run recon again",
            path.display(),
            report.bytes,
            bytes.len()
        )));
    }
    let wanted: std::collections::BTreeSet<u32> = rejects.iter().map(|r| r.line).collect();
    let last = wanted.last().copied().unwrap_or(0);
    let mut found = std::collections::HashMap::with_capacity(wanted.len());
    for (number, line) in (1u32..).zip(settlepaisa_recon::lines::lines(&bytes)).take(last as usize) {
        if wanted.contains(&number) {
            found.insert(number, String::from_utf8_lossy(line).into_owned());
        }
    }
    for r in rejects {
        r.raw = found.get(&r.line).cloned().unwrap_or_default();
    }
    Ok(())
}

fn unzip3<A, B, C>(items: Vec<(A, B, C)>) -> (Vec<A>, Vec<B>, Vec<C>) {
    let mut out = (Vec::with_capacity(items.len()), Vec::with_capacity(items.len()), Vec::with_capacity(items.len()));
    for (a, b, c) in items {
        out.0.push(a);
        out.1.push(b);
        out.2.push(c);
    }
    out
}

/// Moves every list's items into one: the largest list becomes the result (grown in place) and
/// the others move in, so the rows are never all held twice.
fn concat_largest_first<T>(mut lists: Vec<&mut Vec<T>>) -> Vec<T> {
    let total: usize = lists.iter().map(|l| l.len()).sum();
    let Some(largest) = (0..lists.len()).max_by_key(|&i| lists[i].len()) else {
        return Vec::new();
    };
    let mut all = std::mem::take(lists[largest]);
    all.reserve_exact(total - all.len());
    for list in lists {
        all.append(list);
        *list = Vec::new();
    }
    all
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
