//! `settlepaisa bench`: generates the data once, then times `settlepaisa recon` end to end in a
//! fresh process per run (so peak memory is recon's alone), and the DuckDB peer on the same files.

use crate::error::{io_err, CliError};
use crate::gen_cmd::{self, GenArgs};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// PG transactions to generate (the bank side gets about as many credits).
    #[arg(long, default_value_t = 1_000_000)]
    pub txns: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where the generated files live; reused when already there.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Timed runs of each implementation; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// A Python with DuckDB installed, to run `bench/peers/duckdb_recon.py` on the same files.
    #[arg(long)]
    pub peer_python: Option<PathBuf>,
    /// The peer script.
    #[arg(long, default_value = "bench/peers/duckdb_recon.py")]
    pub peer_script: PathBuf,
    /// Captures spread over this many days.
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// The PG export's rows in random order.
    #[arg(long)]
    pub shuffle: bool,
    /// Cards, net banking and wallets settle in bulk; recon reads the settlement reports.
    #[arg(long)]
    pub settlements: bool,
    /// Time the simple peer (`bench/peers/duckdb_simple.py`) on the data's clean twin instead of
    /// the full peer on the messy files.
    #[arg(long)]
    pub simple_peer: bool,
    /// After each recon run, time the floor on the same files (`settlepaisa floor`: read them,
    /// cut them into lines and fields, write as many bytes as recon's reports).
    #[arg(long)]
    pub floor: bool,
}

#[derive(Debug, Serialize)]
struct RunResult {
    wall_ms: f64,
    peak_rss_bytes: u64,
    phases_ms: Value,
}

#[derive(Debug, Serialize)]
struct Report {
    txns: usize,
    input_bytes: u64,
    pg_records: u64,
    bank_records: u64,
    lines_read: u64,
    matched: u64,
    rust: Vec<RunResult>,
    peer: Vec<RunResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    floor: Vec<RunResult>,
}

pub fn run(args: &BenchArgs) -> Result<(), CliError> {
    // One folder per kind of data, so each is generated once.
    let variant = [
        (args.days > 1, format!("-{}d", args.days)),
        (args.shuffle, "-shuffled".into()),
        (args.settlements, "-settled".into()),
    ]
    .into_iter()
    .filter_map(|(on, tag)| on.then_some(tag))
    .collect::<String>();
    let default_dir = PathBuf::from(format!("bench/data/{}{variant}", args.txns));
    let data = args.data.clone().unwrap_or(default_dir);
    let pg = data.join("pg_transactions.csv");
    if !pg.exists() || (args.simple_peer && !data.join("pg.csv").exists()) {
        eprintln!("generating {} transactions into {} ...", args.txns, data.display());
        gen_cmd::run(&GenArgs {
            settlements: args.settlements,
            shuffle: args.shuffle,
            clean_twin: true,
            ..GenArgs::plain(args.txns, args.seed, args.days.max(1), data.clone())
        })?;
    }
    let mut banks: Vec<PathBuf> = std::fs::read_dir(&data)
        .map_err(io_err(&data))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            ["HDFC_", "ICICI_", "AXIS_"].iter().any(|b| name.starts_with(b))
        })
        .collect();
    banks.sort();
    let settlement_reports: Vec<PathBuf> = match args.settlements {
        false => Vec::new(),
        true => ["settlement_PAYU.csv", "settlement_BILLDESK.csv"]
            .iter()
            .map(|f| data.join(f))
            .filter(|p| p.exists())
            .collect(),
    };
    let exe = std::env::current_exe().map_err(io_err("settlepaisa"))?;

    let mut rust = Vec::new();
    let mut floor = Vec::new();
    let mut summary = Value::Null;
    for i in 0..args.runs.max(1) {
        let out = data.join("out-rust");
        let mut cmd = Command::new(&exe);
        cmd.arg("recon").arg("--pg").arg(&pg).arg("--out").arg(&out);
        for b in &banks {
            cmd.arg("--bank").arg(b);
        }
        for s in &settlement_reports {
            cmd.arg("--settlement").arg(s);
        }
        let (wall_ms, _) = timed(&mut cmd)?;
        let path = out.join("summary.json");
        summary = serde_json::from_slice(&std::fs::read(&path).map_err(io_err(&path))?).unwrap_or(Value::Null);
        let r = RunResult {
            wall_ms,
            peak_rss_bytes: summary["peak_rss_bytes"].as_u64().unwrap_or(0),
            phases_ms: summary["phases_ms"].clone(),
        };
        eprintln!("rust run {}: {:.0} ms, peak {} MB", i + 1, r.wall_ms, r.peak_rss_bytes >> 20);
        rust.push(r);
        if args.floor {
            let mut cmd = Command::new(&exe);
            cmd.arg("floor").arg("--reports").arg(&out).arg("--out").arg(data.join("out-floor")).arg(&pg);
            cmd.args(&banks).args(&settlement_reports);
            let (wall_ms, stdout) = timed(&mut cmd)?;
            let line: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or(Value::Null);
            eprintln!("floor run {}: {wall_ms:.0} ms", i + 1);
            floor.push(RunResult { wall_ms, peak_rss_bytes: 0, phases_ms: line });
        }
    }

    let mut peer = Vec::new();
    if let Some(python) = &args.peer_python {
        for i in 0..args.runs.max(1) {
            let mut cmd = Command::new(python);
            if args.simple_peer {
                let script = args.peer_script.with_file_name("duckdb_simple.py");
                cmd.arg(script).arg("--pg").arg(data.join("pg.csv")).arg("--bank").arg(data.join("bank.csv"));
            } else {
                cmd.arg(&args.peer_script).arg("--pg").arg(&pg);
                for b in &banks {
                    cmd.arg("--bank").arg(b);
                }
            }
            cmd.arg("--out").arg(data.join("out-duckdb"));
            let (wall_ms, stdout) = timed(&mut cmd)?;
            let line: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or(Value::Null);
            let r = RunResult {
                wall_ms,
                peak_rss_bytes: line["peak_rss_bytes"].as_u64().unwrap_or(0),
                phases_ms: line.clone(),
            };
            eprintln!(
                "duckdb run {}: {:.0} ms, peak {} MB (matched {})",
                i + 1,
                r.wall_ms,
                r.peak_rss_bytes >> 20,
                line["matched"]
            );
            peer.push(r);
        }
    }

    let totals = &summary["totals"];
    let lines_read = summary["pg_file"]["lines_read"].as_u64().unwrap_or(0)
        + summary["bank_files"].as_array().map_or(0, |a| a.iter().map(|f| f["lines_read"].as_u64().unwrap_or(0)).sum());
    let report = Report {
        txns: args.txns,
        input_bytes: summary["input_bytes"].as_u64().unwrap_or(0),
        pg_records: totals["pg_records"].as_u64().unwrap_or(0),
        bank_records: totals["bank_records"].as_u64().unwrap_or(0),
        lines_read,
        matched: totals["matched"].as_u64().unwrap_or(0),
        rust,
        peer,
        floor,
    };
    print_report(&report);
    let path = data.join("bench.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&report).unwrap_or_default()).map_err(io_err(&path))?;
    println!("raw figures: {}", path.display());
    Ok(())
}

/// Runs `cmd` to completion; its wall time in ms and its stdout. A failing run is an error.
fn timed(cmd: &mut Command) -> Result<(f64, String), CliError> {
    let started = Instant::now();
    let out = cmd.output().map_err(io_err(Path::new(cmd.get_program())))?;
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    if !out.status.success() {
        return Err(CliError::Usage(format!(
            "{} failed: {}",
            cmd.get_program().to_string_lossy(),
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")
        )));
    }
    Ok((wall_ms, String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

fn print_report(r: &Report) {
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    let rust_ms = median(r.rust.iter().map(|x| x.wall_ms).collect());
    let rust_peak = r.rust.iter().map(|x| x.peak_rss_bytes).max().unwrap_or(0);
    let phase = |name: &str| median(r.rust.iter().map(|x| x.phases_ms[name].as_f64().unwrap_or(0.0)).collect());
    let records = (r.pg_records + r.bank_records) as f64;
    println!(
        "\ninput: {} PG txns, {:.0} MB in {} lines; {} PG records, {} bank credits, {} matched",
        r.txns,
        mb(r.input_bytes),
        r.lines_read,
        r.pg_records,
        r.bank_records,
        r.matched
    );
    println!("\n| phase | median ms | throughput |\n|---|---:|---:|");
    println!("| read | {:.0} | {:.0} MB/s |", phase("read"), mb(r.input_bytes) / (phase("read") / 1000.0));
    println!(
        "| normalize | {:.0} | {:.2} M lines/s |",
        phase("normalize"),
        r.lines_read as f64 / phase("normalize") / 1000.0
    );
    println!("| match | {:.0} | {:.2} M records/s |", phase("match"), records / phase("match") / 1000.0);
    println!("| categorize | {:.0} | {:.2} M records/s |", phase("categorize"), records / phase("categorize") / 1000.0);
    println!("| write | {:.0} | {:.2} M records/s |", phase("write"), records / phase("write") / 1000.0);
    println!(
        "| **recon, end to end (process wall)** | **{rust_ms:.0}** | {:.2} M records/s |",
        records / rust_ms / 1000.0
    );
    println!(
        "\npeak memory: {:.0} MB = {:.2} x input ({:.0} MB)",
        mb(rust_peak),
        rust_peak as f64 / r.input_bytes.max(1) as f64,
        mb(r.input_bytes)
    );
    if !r.peer.is_empty() {
        let peer_ms = median(r.peer.iter().map(|x| x.wall_ms).collect());
        let peer_peak = r.peer.iter().map(|x| x.peak_rss_bytes).max().unwrap_or(0);
        println!("duckdb peer: {peer_ms:.0} ms median, peak {:.0} MB", mb(peer_peak));
        println!("speed-up: {:.2}x", peer_ms / rust_ms);
        if !r.floor.is_empty() {
            let floor_ms = median(r.floor.iter().map(|x| x.wall_ms).collect());
            let part = |name: &str| median(r.floor.iter().map(|x| x.phases_ms[name].as_f64().unwrap_or(0.0)).collect());
            println!(
                "floor (read {:.0} + lines and fields {:.0} + write {:.0} ms): {floor_ms:.0} ms median, {:.0}% of the \
                 {:.0} ms that 3x the peer allows; recon's work beyond the floor: {:.0} ms, against {:.0} ms left",
                part("read"),
                part("split"),
                part("write"),
                100.0 * floor_ms / (peer_ms / 3.0),
                peer_ms / 3.0,
                rust_ms - floor_ms,
                peer_ms / 3.0 - floor_ms
            );
        }
    }
}
