//! `settlepaisa recon`: files in, reports out. Reads, normalizes, matches, categorizes and writes,
//! timing each phase.

use crate::error::{io_err, CliError};
use crate::memory::peak_rss_bytes;
use crate::recon_inputs::{read_and_normalize, refused_lines, Inputs, Normalized, Texts};
use serde::Serialize;
use settlepaisa_recon::bank_file::FileStats;
use settlepaisa_recon::engine::reconcile_with_settlements;
use settlepaisa_recon::money::format_indian;
use settlepaisa_recon::pg_file::PgStats;
use settlepaisa_recon::report::{write_exceptions, write_matches, write_rejects};
use settlepaisa_recon::settlement::report::{write_settlement_exceptions, write_settlements, SettlementTotals};
use settlepaisa_recon::settlement::report_file::SettlementStats;
use settlepaisa_recon::settlement::FeeSchedule;
use settlepaisa_recon::template::{built_in_templates, Template};
use settlepaisa_recon::totals::OutcomeTotals;
use settlepaisa_recon::{MatchConfig, Paise};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct ReconArgs {
    /// The PG transaction export (CSV).
    #[arg(long)]
    pub pg: PathBuf,
    /// A bank statement; repeat for several banks or days.
    #[arg(long, required = true)]
    pub bank: Vec<PathBuf>,
    /// Folder for matches.csv, exceptions.csv, rejects.csv and summary.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Force one layout (hdfc, icici, axis, or a --template's name) instead of detecting it.
    #[arg(long)]
    pub format: Option<String>,
    /// An extra normalization template (TOML) for a bank without a built-in one; repeatable.
    #[arg(long)]
    pub template: Vec<PathBuf>,
    /// An acquirer settlement report (CSV); repeatable. Adds settlements.csv and
    /// settlement_exceptions.csv to the reports.
    #[arg(long)]
    pub settlement: Vec<PathBuf>,
    /// Contracted rates (TOML: `gst_bps`, `[mdr_bps]` by method); docs/reconciliation.md has the
    /// defaults used without it.
    #[arg(long)]
    pub fees: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub pg_file: PgFileSummary,
    pub bank_files: Vec<BankFileSummary>,
    pub totals: OutcomeTotals,
    /// Matched PG transactions over captured PG transactions.
    pub match_rate: f64,
    pub config: MatchConfig,
    /// Present when settlement reports were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settlement: Option<SettlementSummary>,
    pub phases_ms: Phases,
    pub input_bytes: u64,
    pub peak_rss_bytes: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct PgFileSummary {
    pub file: String,
    #[serde(flatten)]
    pub stats: PgStats,
}

#[derive(Debug, Serialize)]
pub struct BankFileSummary {
    pub file: String,
    pub layout: String,
    pub header_line: u32,
    #[serde(flatten)]
    pub stats: FileStats,
}

#[derive(Debug, Serialize)]
pub struct SettlementSummary {
    pub files: Vec<SettlementFileSummary>,
    pub fees: FeeSchedule,
    #[serde(flatten)]
    pub totals: SettlementTotals,
}

#[derive(Debug, Serialize)]
pub struct SettlementFileSummary {
    pub file: String,
    #[serde(flatten)]
    pub stats: SettlementStats,
}

/// Milliseconds per phase. Each kind of file is read while the last kind's rows are rebound, so
/// `read` is time spent reading (some of it beside normalizing) and `normalize` the rest of the
/// time until matching starts.
#[derive(Debug, Default, Serialize)]
pub struct Phases {
    pub read: f64,
    pub normalize: f64,
    #[serde(rename = "match")]
    pub matching: f64,
    pub categorize: f64,
    pub write: f64,
    pub total: f64,
}

impl Summary {
    /// The summary as a person reads it at a terminal; `summary.json` has everything.
    pub fn to_text(&self, out: &Path) -> String {
        let mut t = String::new();
        let p = &self.pg_file;
        t += &format!(
            "{:<24} pg     lines {:>9}  rows {:>9}  rejected {:>5}  non-data {:>4}  captured {:>9}\n",
            p.file,
            p.stats.lines_read,
            p.stats.data_rows,
            p.stats.rejected_rows,
            p.stats.non_data_lines,
            p.stats.captured
        );
        for b in &self.bank_files {
            let s = &b.stats;
            t += &format!(
                "{:<24} {:<6} lines {:>9}  rows {:>9}  rejected {:>5}  non-data {:>4}  credits {:>9}  withdrawals {:>6}\n",
                b.file, b.layout, s.lines_read, s.data_rows, s.rejected_rows, s.non_data_lines, s.credits, s.withdrawals
            );
        }
        let x = &self.totals;
        t += &format!(
            "\nmatched {} of {} captured PG transactions ({:.2}%), ₹{}\n",
            x.matched,
            x.pg_records,
            self.match_rate * 100.0,
            format_indian(Paise(x.matched_pg_amount_paise))
        );
        for (category, c) in &x.categories {
            t += &format!(
                "  {:<16} {:>7} exceptions  {:>7} PG  {:>7} bank  bank − PG ₹{:>16}\n",
                category,
                c.exceptions,
                c.pg_records,
                c.bank_records,
                format_indian(Paise(c.amount_delta_paise))
            );
        }
        if let Some(s) = &self.settlement {
            t += &format!(
                "\nsettlements {} ({} rows), fee overcharge ₹{}\n",
                s.totals.settlements,
                s.totals.rows,
                format_indian(Paise(s.totals.fee_overcharge_paise))
            );
            for (status, x) in &s.totals.by_status {
                t += &format!(
                    "  {:<16} {:>7} settlements  expected ₹{:>16}  credited − expected ₹{:>14}\n",
                    status,
                    x.settlements,
                    format_indian(Paise(x.expected_net_paise)),
                    format_indian(Paise(x.delta_paise))
                );
            }
            let lines: Vec<String> = s.totals.line_exceptions.iter().map(|(c, n)| format!("{c} {n}")).collect();
            t += &format!("  line checks: {}\n", lines.join("  "));
        }
        let ph = &self.phases_ms;
        t += &format!(
            "\nphases (ms): read {:.1}  normalize {:.1}  match {:.1}  categorize {:.1}  write {:.1}  total {:.1}\n",
            ph.read, ph.normalize, ph.matching, ph.categorize, ph.write, ph.total
        );
        let settlement_reports =
            if self.settlement.is_some() { " settlements.csv settlement_exceptions.csv" } else { "" };
        t += &format!(
            "reports in {}: matches.csv exceptions.csv rejects.csv{settlement_reports} summary.json\n",
            out.display()
        );
        t
    }
}

fn base_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

pub fn run(args: &ReconArgs) -> Result<Summary, CliError> {
    let started = Instant::now();
    let cfg = MatchConfig::from_env()?;
    let mut templates = built_in_templates();
    for path in &args.template {
        let text = std::fs::read_to_string(path).map_err(io_err(path))?;
        templates.push(Template::from_toml(&base_name(path), &text)?);
    }
    let bank_names: Vec<String> = args.bank.iter().map(|p| base_name(p)).collect();
    for (i, name) in bank_names.iter().enumerate() {
        if bank_names[..i].contains(name) {
            return Err(CliError::DuplicateFileName(name.clone()));
        }
    }
    let settlement_names: Vec<String> = args.settlement.iter().map(|p| base_name(p)).collect();
    // Rows and rejects are FILE:LINE across all inputs: a report may not share a name with any.
    let pg_name = base_name(&args.pg);
    for (i, name) in settlement_names.iter().enumerate() {
        if settlement_names[..i].contains(name) || bank_names.contains(name) || *name == pg_name {
            return Err(CliError::DuplicateSettlementName(name.clone()));
        }
    }
    let fees = match &args.fees {
        None => FeeSchedule::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(io_err(path))?;
            FeeSchedule::from_toml(&text).map_err(|source| CliError::Fees { file: base_name(path), source })?
        }
    };

    let inputs = Inputs {
        pg: &args.pg,
        pg_name: &pg_name,
        banks: &args.bank,
        bank_names: &bank_names,
        settlements: &args.settlement,
        settlement_names: &settlement_names,
        templates: &templates,
        format: args.format.as_deref(),
    };
    let mut texts = Texts::default();
    let Normalized {
        pg_txns,
        pg: pg_file,
        bank_rows,
        banks: bank_files,
        settlement_rows,
        settlements: mut settlement_files,
        input_bytes,
        read_ms: read,
        normalize_ms: normalize,
    } = read_and_normalize(&inputs, &mut texts)?;

    let (outcome, settled) = reconcile_with_settlements(pg_txns, bank_rows, settlement_rows, &fees, &cfg);
    // Rows the settlement step refused were read, then rejected: they join their file's rejects,
    // in line order, and are counted there.
    for ((name, path), file) in settlement_names.iter().zip(&args.settlement).zip(&mut settlement_files) {
        let before = file.rejects.len();
        file.rejects.extend(settled.rejects.iter().filter(|(f, _)| f == name).map(|(_, r)| r.clone()));
        // The rows no longer hold their lines (the report was freed): read those lines again.
        refused_lines(path, file, before)?;
        let refused = (file.rejects.len() - before) as u64;
        file.rejects.sort_by_key(|r| r.line);
        file.stats.data_rows -= refused;
        file.stats.rejected_rows += refused;
    }

    // Write.
    let t = Instant::now();
    std::fs::create_dir_all(&args.out).map_err(io_err(&args.out))?;
    // The PG export's rejects, then each statement's by file name: the same whatever the order
    // the files were given in.
    let mut bank_rejects: Vec<(&str, &[_])> =
        bank_names.iter().zip(&bank_files).map(|(n, f)| (n.as_str(), f.rejects.as_slice())).collect();
    bank_rejects.sort_by_key(|(name, _)| *name);
    // Then each settlement report's (the settlement step's included), by file name.
    let mut settlement_rejects: Vec<(&str, &[_])> =
        settlement_names.iter().zip(&settlement_files).map(|(n, f)| (n.as_str(), f.rejects.as_slice())).collect();
    settlement_rejects.sort_by_key(|(name, _)| *name);
    let rejects =
        std::iter::once((pg_name.as_str(), pg_file.rejects.as_slice())).chain(bank_rejects).chain(settlement_rejects);
    // matches.csv is most of the output, and its writing mostly the kernel's copy into the page
    // cache: the other reports are written beside it.
    let (matches, others) = rayon::join(
        || write_report(&args.out.join("matches.csv"), |w| write_matches(&outcome, w)),
        || -> Result<(), CliError> {
            write_report(&args.out.join("exceptions.csv"), |w| write_exceptions(&outcome, w))?;
            write_report(&args.out.join("rejects.csv"), |w| write_rejects(rejects, w))?;
            if !args.settlement.is_empty() {
                write_report(&args.out.join("settlements.csv"), |w| write_settlements(&settled, &outcome.bank, w))?;
                write_report(&args.out.join("settlement_exceptions.csv"), |w| {
                    write_settlement_exceptions(&settled, w)
                })?;
            }
            Ok(())
        },
    );
    matches.and(others)?;
    let write = ms(t);

    let totals = OutcomeTotals::of(&outcome);
    let summary = Summary {
        pg_file: PgFileSummary { file: pg_name.clone(), stats: pg_file.stats.clone() },
        bank_files: bank_names
            .iter()
            .zip(&bank_files)
            .map(|(name, f)| BankFileSummary {
                file: name.clone(),
                layout: f.layout.clone(),
                header_line: f.header_line,
                stats: f.stats.clone(),
            })
            .collect(),
        match_rate: totals.match_rate_bps as f64 / 10_000.0,
        totals,
        config: cfg,
        settlement: match args.settlement.is_empty() {
            true => None,
            false => Some(SettlementSummary {
                files: settlement_names
                    .iter()
                    .zip(&settlement_files)
                    .map(|(name, f)| SettlementFileSummary { file: name.clone(), stats: f.stats.clone() })
                    .collect(),
                fees,
                totals: SettlementTotals {
                    rejected_rows: settlement_files.iter().map(|f| f.stats.rejected_rows).sum(),
                    ..SettlementTotals::of(&settled)?
                },
            }),
        },
        phases_ms: Phases {
            read,
            normalize,
            matching: outcome.timings.match_us as f64 / 1000.0,
            categorize: outcome.timings.categorize_us as f64 / 1000.0,
            write,
            total: 0.0,
        },
        input_bytes,
        peak_rss_bytes: None,
    };
    let mut summary = summary;
    summary.phases_ms.total = ms(started);
    summary.peak_rss_bytes = peak_rss_bytes();
    let json = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    let path = args.out.join("summary.json");
    std::fs::write(&path, json).map_err(io_err(&path))?;
    Ok(summary)
}

fn write_report(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<(), CliError> {
    let file = File::create(path).map_err(io_err(path))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w).and_then(|()| w.flush()).map_err(io_err(path))
}
