//! `settlepaisa gen`: writes generated files into a folder.

use crate::error::{io_err, CliError};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::gen::{generate, GenConfig};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct GenArgs {
    /// Number of PG transactions.
    #[arg(long, default_value_t = 10_000)]
    pub txns: usize,
    /// Random seed: the same seed always gives the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First capture date, YYYY-MM-DD (IST).
    #[arg(long, default_value = "2026-10-01")]
    pub start: String,
    /// Days the captures are spread over.
    #[arg(long, default_value_t = 1)]
    pub days: u32,
    /// Cards, net banking and wallets settle in bulk: also write acquirer settlement reports
    /// (settlement_PAYU.csv, settlement_BILLDESK.csv) with one bulk credit per acquirer and day.
    #[arg(long)]
    pub settlements: bool,
    /// The PG export's rows in random order (exports are not guaranteed sorted).
    #[arg(long)]
    pub shuffle: bool,
    /// Also pg.csv and bank.csv: the reconciled records already parsed (`utr,amount_paise,date`),
    /// for the simple DuckDB peer.
    #[arg(long)]
    pub clean_twin: bool,
    /// Merchants the transactions are spread over (`MERCH001`…), written to merchants.csv.
    #[arg(long, default_value_t = 25)]
    pub merchants: u32,
    #[arg(long)]
    pub out: PathBuf,
}

impl GenArgs {
    /// A day's files as `gen` writes them by default: sorted, per-payment credits, no twin.
    pub fn plain(txns: usize, seed: u64, days: u32, out: PathBuf) -> GenArgs {
        GenArgs {
            txns,
            seed,
            start: "2026-10-01".into(),
            days,
            settlements: false,
            shuffle: false,
            clean_twin: false,
            merchants: 25,
            out,
        }
    }
}

pub fn run(args: &GenArgs) -> Result<(), CliError> {
    let start = Date::parse_iso(&args.start)
        .ok_or_else(|| CliError::Usage(format!("--start `{}` is not a YYYY-MM-DD date", args.start)))?;
    let cfg = GenConfig {
        start,
        days: args.days.max(1),
        settlements: args.settlements,
        shuffle: args.shuffle,
        clean_twin: args.clean_twin,
        merchants: args.merchants.max(1),
        ..GenConfig::new(args.txns, args.seed)
    };
    let generated = generate(&cfg);
    std::fs::create_dir_all(&args.out).map_err(io_err(&args.out))?;
    let files =
        std::iter::once(&generated.pg).chain(&generated.banks).chain(&generated.settlements).chain(&generated.twin);
    for file in files.chain(std::iter::once(&generated.truth)) {
        let path = args.out.join(&file.name);
        std::fs::write(&path, &file.bytes).map_err(io_err(&path))?;
        println!("{} ({} bytes)", path.display(), file.bytes.len());
    }
    // The merchants the export names, with settlement plans (`settlepaisa settle --merchants`).
    let merchants =
        settlepaisa_payout::merchant::write_merchants(&settlepaisa_payout::merchant::generated(cfg.merchants));
    let path = args.out.join("merchants.csv");
    std::fs::write(&path, &merchants).map_err(io_err(&path))?;
    println!("{} ({} bytes)", path.display(), merchants.len());
    Ok(())
}
