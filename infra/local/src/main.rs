//! `settlepaisa`: the ops and developer CLI. Offline reconciliation of files, test-data
//! generation, and the end-to-end benchmark.

use clap::{Parser, Subcommand};
use settlepaisa_cli::{
    audit_cmd, bench_api_cmd, bench_cmd, bench_report_cmd, bench_webhooks_cmd, floor_cmd, gen_cmd, local_cmd,
    merchants_cmd, recon_cmd, settle_cmd, startup_cmd, token_cmd,
};
use std::process::ExitCode;

/// Counts heap use, so the local runner can report each function's largest invocation.
#[global_allocator]
static ALLOCATOR: peak_alloc::PeakAlloc = peak_alloc::PeakAlloc;

#[derive(Parser)]
#[command(name = "settlepaisa", version, about = "SettlePaisa settlement and reconciliation tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Reconcile a PG export against bank statements and write the reports into a folder.
    Recon(recon_cmd::ReconArgs),
    /// Generate a PG export, HDFC/ICICI/AXIS statements and the intended outcome (truth.csv).
    Gen(gen_cmd::GenArgs),
    /// Run the merchants' settlement cycle over business days: batches, lines, carry-forward and
    /// payout files.
    Settle(settle_cmd::SettleArgs),
    /// The merchants table of a running local stack: `merchants import FILE`, `merchants list`.
    #[command(subcommand)]
    Merchants(merchants_cmd::MerchantsCommand),
    /// Generate data once, then time `recon` end to end (and the DuckDB peer, if given).
    Bench(bench_cmd::BenchArgs),
    /// The floor under `recon` on the same files: read, cut into lines and fields, write as many
    /// bytes as a reports folder (run by `bench --floor`).
    #[command(hide = true)]
    Floor(floor_cmd::FloorArgs),
    /// Time the HTTP API in-process against the emulator: AWS calls per request, p50/p99.
    BenchApi(bench_api_cmd::BenchApiArgs),
    /// Time PG webhook deliveries in-process: ack, replay, an inline-processing peer, the queue.
    BenchWebhooks(bench_webhooks_cmd::BenchWebhooksArgs),
    /// Generate a merchant statement of many rows through the report queue: time and memory.
    BenchReport(bench_report_cmd::BenchReportArgs),
    /// The serverless pipeline on a local emulator: `local up`, `local demo`.
    #[command(subcommand)]
    Local(local_cmd::LocalCommand),
    /// Run one function's handler with a sample event against the running local stack.
    Invoke(local_cmd::InvokeArgs),
    /// Time each function binary from process start to its first runtime API request.
    Startup(startup_cmd::StartupArgs),
    /// Mint a development JWT for the local stack.
    Token(token_cmd::TokenArgs),
    /// The audit trail: `audit verify` recomputes its hash chains.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Recon(_)) {
        settlepaisa_cli::memory::reexec_with_fixed_mmap_threshold();
    }
    let result = match cli.command {
        Command::Recon(args) => recon_cmd::run(&args).map(|summary| {
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), summary.to_text(&args.out).as_bytes());
        }),
        Command::Gen(args) => gen_cmd::run(&args),
        Command::Merchants(cmd) => merchants_cmd::run(&cmd),
        Command::Settle(args) => settle_cmd::run(&args).map(|text| {
            let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
        }),
        Command::Bench(args) => bench_cmd::run(&args),
        Command::Floor(args) => floor_cmd::run(&args).map(|run| {
            println!("{}", serde_json::to_string(&run).unwrap_or_default());
        }),
        Command::BenchApi(args) => bench_api_cmd::run(&args),
        Command::BenchWebhooks(args) => bench_webhooks_cmd::run(&args),
        Command::BenchReport(args) => bench_report_cmd::run(&args),
        Command::Local(cmd) => local_cmd::run(&cmd),
        Command::Invoke(args) => local_cmd::invoke(&args),
        Command::Startup(args) => startup_cmd::run(&args),
        Command::Token(args) => token_cmd::run(&args),
        Command::Audit(cmd) => audit_cmd::run(&cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
