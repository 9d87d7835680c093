//! `settlepaisa settle`: the settlement cycle offline. Merchants, the PG export and a recon run's
//! matches in (only money that reached the nodal account is paid out), optional refunds,
//! adjustments and holidays; every business day from `--from` to `--to` run in order; batches,
//! their lines, what carried forward and the payout files out.

use crate::error::{io_err, CliError};
use settlepaisa_payout::calendar::Calendar;
use settlepaisa_payout::cycle::{run_days, Inputs, Ledger, Payment};
use settlepaisa_payout::files::{parse_adjustments, parse_refunds};
use settlepaisa_payout::merchant::{parse_merchants, BadRow};
use settlepaisa_payout::payout_file::payout_file;
use settlepaisa_payout::reports::{carried_csv, line_rows, LINES_HEADER};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::pg_file::parse_pg_file;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug)]
pub struct SettleArgs {
    /// The merchants file (`merchant_id,name,status,settlement_days,…`; `gen` writes one).
    #[arg(long)]
    pub merchants: PathBuf,
    /// The PG transaction export.
    #[arg(long)]
    pub pg: PathBuf,
    /// The folder `settlepaisa recon` wrote: its matches.csv names the transactions whose money
    /// arrived, the only ones paid out.
    #[arg(long)]
    pub recon: PathBuf,
    /// Refunds (`refund_id,txn_id,amount_paise,refunded_at`).
    #[arg(long)]
    pub refunds: Option<PathBuf>,
    /// Adjustments (`adjustment_id,merchant_id,kind,amount_paise,effective_on,reference`).
    #[arg(long)]
    pub adjustments: Option<PathBuf>,
    /// Bank holidays, one YYYY-MM-DD a line.
    #[arg(long)]
    pub holidays: Option<PathBuf>,
    /// First and last cycle date (YYYY-MM-DD); days that are not business days are skipped.
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    /// Folder for settlements.csv, settlement_lines.csv, carried_forward.csv and payouts/.
    #[arg(long)]
    pub out: PathBuf,
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

fn refused(path: &Path, bad: Vec<BadRow>) -> CliError {
    let rows: Vec<String> = bad.iter().take(20).map(|b| format!("line {}: {}", b.line, b.reason)).collect();
    CliError::Usage(format!(
        "{}: refused, nothing read ({} bad rows)\n  {}",
        path.display(),
        bad.len(),
        rows.join("\n  ")
    ))
}

fn date(name: &str, text: &str) -> Result<Date, CliError> {
    Date::parse_iso(text).ok_or_else(|| CliError::Usage(format!("--{name} `{text}` is not YYYY-MM-DD")))
}

pub fn run(args: &SettleArgs) -> Result<String, CliError> {
    let (from, to) = (date("from", &args.from)?, date("to", &args.to)?);
    if to < from {
        return Err(CliError::Usage(format!("--to {to} is before --from {from}")));
    }
    let merchants = parse_merchants(&read(&args.merchants)?).map_err(|bad| refused(&args.merchants, bad))?;
    let calendar = match &args.holidays {
        Some(p) => Calendar::parse(&read(p)?).map_err(|e| CliError::Usage(format!("{}: {e}", p.display())))?,
        None => Calendar::default(),
    };
    let matches = args.recon.join("matches.csv");
    let matched: BTreeSet<String> =
        read(&matches)?.lines().skip(1).filter_map(|l| l.split(',').next()).map(str::to_string).collect();
    let bytes = std::fs::read(&args.pg).map_err(io_err(&args.pg))?;
    let pg = parse_pg_file(&bytes).map_err(|source| CliError::Pg { file: args.pg.display().to_string(), source })?;
    let known: BTreeSet<&str> = merchants.iter().map(|m| m.merchant_id.as_str()).collect();
    let mut unknown_merchant = 0u64;
    let mut payments = Vec::new();
    for t in pg.captured.iter().filter(|t| matched.contains(t.txn_id)) {
        if !known.contains(t.merchant_id) {
            unknown_merchant += 1;
            continue;
        }
        payments.push(Payment {
            txn_id: t.txn_id.to_string(),
            merchant_id: t.merchant_id.to_string(),
            method: t.method,
            amount: t.amount,
            captured_on: t.date,
        });
    }
    let refunds = match &args.refunds {
        Some(p) => parse_refunds(&read(p)?).map_err(|bad| refused(p, bad))?,
        None => Vec::new(),
    };
    let adjustments = match &args.adjustments {
        Some(p) => parse_adjustments(&read(p)?).map_err(|bad| refused(p, bad))?,
        None => Vec::new(),
    };
    // A refund is its transaction's merchant's, whether or not that transaction is paid in this
    // run; one the export does not know, or refunds beyond what was paid, are refused.
    let owners: BTreeMap<String, String> =
        pg.captured.iter().chain(&pg.other).map(|t| (t.txn_id.to_string(), t.merchant_id.to_string())).collect();
    let amounts: BTreeMap<&str, i64> = pg.captured.iter().map(|t| (t.txn_id, t.amount.0)).collect();
    let mut refunded: BTreeMap<&str, i64> = BTreeMap::new();
    for r in &refunds {
        let Some(paid) = amounts.get(r.txn_id.as_str()) else {
            return Err(CliError::Usage(format!(
                "refund {}: transaction {} is not a captured transaction of the PG export",
                r.refund_id, r.txn_id
            )));
        };
        let total = refunded.entry(r.txn_id.as_str()).or_default();
        *total = total.saturating_add(r.amount.0);
        if *total > *paid {
            return Err(CliError::Usage(format!(
                "refund {}: refunds of {} add up to {} paise, more than its {} paise",
                r.refund_id, r.txn_id, total, paid
            )));
        }
    }
    let inputs = Inputs { payments, refunds, adjustments, owners };
    let mut ledger = Ledger::default();
    let out =
        run_days(from, to, &calendar, &merchants, &inputs, &mut ledger).map_err(|e| CliError::Usage(e.to_string()))?;

    std::fs::create_dir_all(&args.out).map_err(io_err(&args.out))?;
    let write = |name: &str, text: String| -> Result<(), CliError> {
        let path = args.out.join(name);
        std::fs::write(&path, text).map_err(io_err(path))
    };
    let mut settlements = String::from("settlement_id,merchant_id,cycle_date,txns,gross_paise,fee_paise,gst_paise,refund_paise,adjustment_paise,reserve_withheld_paise,reserve_released_paise,net_paise,status\n");
    let mut lines = format!("{LINES_HEADER}\n");
    for b in &out.batches {
        let t = b.totals;
        settlements.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},PENDING_PAYOUT\n",
            b.settlement_id,
            b.merchant_id,
            b.cycle_date,
            t.txns,
            t.gross.0,
            t.fees.0,
            t.gst.0,
            t.refunds.0,
            t.adjustments.0,
            t.reserve_withheld.0,
            t.reserve_released.0,
            t.net.0
        ));
        lines.push_str(&line_rows(b));
    }
    let carried = carried_csv(&out.carried);
    write("settlements.csv", settlements)?;
    write("settlement_lines.csv", lines)?;
    write("carried_forward.csv", carried)?;
    let payouts = args.out.join("payouts");
    std::fs::create_dir_all(&payouts).map_err(io_err(&payouts))?;
    let mut by_day: BTreeMap<Date, Vec<_>> = BTreeMap::new();
    for b in &out.batches {
        by_day.entry(b.cycle_date).or_default().push(b.clone());
    }
    for (day, batches) in &by_day {
        let path = payouts.join(format!("{day}.csv"));
        std::fs::write(&path, payout_file(batches, &merchants)).map_err(io_err(path))?;
    }
    let net: i64 = out.batches.iter().map(|b| b.totals.net.0).sum();
    let held: i64 = ledger.reserves.iter().filter(|r| r.released_by.is_none()).map(|r| r.amount.0).sum();
    Ok(format!(
        "{} batches over {} payout days, net {} paise; {} carried forward; reserve held {} paise; \
         {} matched transactions of merchants not in the merchants file left out\nreports in {}\n",
        out.batches.len(),
        by_day.len(),
        net,
        out.carried.len(),
        held,
        unknown_merchant,
        args.out.display()
    ))
}
