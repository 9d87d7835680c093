//! `settlepaisa gen` then `settlepaisa recon`, checked against the generator's truth.

use settlepaisa_cli::gen_cmd::{self, GenArgs};
use settlepaisa_cli::recon_cmd::{self, ReconArgs};
use settlepaisa_tests::pipeline::generated_days;
use settlepaisa_tests::{outcomes_from_reports, outcomes_from_truth, Outcomes};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn gen(dir: &Path, txns: usize, seed: u64, days: u32) -> Vec<PathBuf> {
    generated_days(dir, txns, seed, days).1
}

fn recon_args(dir: &Path, banks: Vec<PathBuf>, out: &str) -> ReconArgs {
    ReconArgs {
        pg: dir.join("pg_transactions.csv"),
        bank: banks,
        out: dir.join(out),
        format: None,
        template: vec![],
        settlement: vec![],
        fees: None,
    }
}

/// Every record's outcome in the reports of `dir/out` is the truth's, and the reports list
/// nothing else (the first ten differences shown). Returns the truth and what it counts apart.
fn assert_reports_equal_truth(dir: &Path, out: &str) -> (Outcomes, BTreeMap<String, usize>) {
    let (truth, unlisted) = outcomes_from_truth(&dir.join("truth.csv"));
    let got = outcomes_from_reports(&dir.join(out));
    let wrong: Vec<_> = truth
        .iter()
        .filter(|(record, want)| got.get(*record) != Some(want))
        .map(|(record, want)| format!("{record}: want {want:?}, got {:?}", got.get(record)))
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "outcomes differ from truth:\n{}", wrong.join("\n"));
    assert_eq!(got.len(), truth.len(), "the reports list records the truth does not");
    (truth, unlisted)
}

#[test]
fn recon_of_generated_files_gives_exactly_the_intended_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let banks = gen(dir.path(), 20_000, 42, 3);
    let summary = recon_cmd::run(&recon_args(dir.path(), banks, "out")).unwrap();

    let (truth, unlisted) = assert_reports_equal_truth(dir.path(), "out");

    // Every category occurs, so the comparison above exercised each of them.
    for category in
        ["MATCHED", "DUPLICATE_UTR", "AMOUNT_MISMATCH", "UTR_MISSING", "UNMATCHED_PG", "UNMATCHED_BANK", "REJECTED"]
    {
        assert!(truth.values().any(|(o, _)| o == category), "no {category} in the generated data");
    }
    let withdrawals: u64 = summary.bank_files.iter().map(|f| f.stats.withdrawals).sum();
    assert_eq!(withdrawals as usize, unlisted["WITHDRAWAL"]);
    let not_captured = summary.pg_file.stats.data_rows - summary.pg_file.stats.captured;
    assert_eq!(not_captured as usize, unlisted["NOT_CAPTURED"]);
    for f in &summary.bank_files {
        let s = &f.stats;
        assert_eq!(s.lines_read, s.data_rows + s.rejected_rows + s.non_data_lines, "{}", f.file);
        assert!(s.rejected_rows > 0 && s.non_data_lines > 2, "{}: the generator adds junk to every file", f.file);
    }
    let p = &summary.pg_file.stats;
    assert_eq!(p.lines_read, p.data_rows + p.rejected_rows + p.non_data_lines);
    assert!(summary.totals.matched_pg_amount_paise > 0);
}

#[test]
fn the_order_of_bank_files_does_not_change_the_reports() {
    let dir = tempfile::tempdir().unwrap();
    let banks = gen(dir.path(), 3_000, 9, 1);
    let mut reversed = banks.clone();
    reversed.reverse();
    recon_cmd::run(&recon_args(dir.path(), banks, "a")).unwrap();
    recon_cmd::run(&recon_args(dir.path(), reversed, "b")).unwrap();
    for report in ["matches.csv", "exceptions.csv", "rejects.csv"] {
        let a = std::fs::read(dir.path().join("a").join(report)).unwrap();
        let b = std::fs::read(dir.path().join("b").join(report)).unwrap();
        assert!(a == b, "{report} differs with the bank files reordered");
    }
}

#[test]
fn unusable_inputs_fail_with_one_line_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let banks = gen(dir.path(), 200, 1, 1);
    let garbage = dir.path().join("garbage.csv");
    std::fs::write(&garbage, (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect::<Vec<u8>>())
        .unwrap();
    let text_junk = dir.path().join("notes.txt");
    std::fs::write(&text_junk, "hello\nthis is not a statement\n").unwrap();
    let bad_pg = dir.path().join("bad_pg.csv");
    std::fs::write(&bad_pg, "id,amount\n1,2\n").unwrap();

    let cases = [
        (recon_args(dir.path(), vec![garbage.clone()], "x"), "garbage.csv: the file is binary data"),
        (recon_args(dir.path(), vec![text_junk], "x"), "notes.txt: no known statement header"),
        (recon_args(dir.path(), vec![dir.path().join("missing.csv")], "x"), "missing.csv: No such file"),
        // A missing file is found before any file is parsed, whatever its kind.
        (
            ReconArgs {
                pg: bad_pg.clone(),
                settlement: vec![dir.path().join("missing_report.csv")],
                ..recon_args(dir.path(), banks.clone(), "x")
            },
            "missing_report.csv: No such file",
        ),
        (ReconArgs { pg: bad_pg, ..recon_args(dir.path(), banks.clone(), "x") }, "bad_pg.csv: expected the header"),
        (
            ReconArgs { format: Some("sbi".into()), ..recon_args(dir.path(), banks.clone(), "x") },
            "unknown layout `sbi`",
        ),
        (recon_args(dir.path(), vec![banks[0].clone(), banks[0].clone()], "x"), "base names must differ"),
        (
            ReconArgs { settlement: vec![banks[0].clone()], ..recon_args(dir.path(), banks.clone(), "x") },
            "base names must differ",
        ),
    ];
    for (args, want) in cases {
        let err = recon_cmd::run(&args).expect_err(want).to_string();
        assert!(err.contains(want), "`{err}` should contain `{want}`");
        assert!(!err.contains('\n'), "one line: {err}");
    }
}

#[test]
fn a_new_bank_is_a_template_file_not_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pg_transactions.csv"),
        "txn_id,merchant_id,merchant_ref,method,amount_paise,status,utr,captured_at\n\
T1,M1,ORD-1,UPI,85000,captured,629412345678,2026-10-01T10:15:00+05:30\n",
    )
    .unwrap();
    // A `;`-delimited layout with dotted dates that no built-in template knows.
    std::fs::write(
        dir.path().join("sbi.csv"),
        "Txn Date;Description;Credit;Debit\n02.10.2026;UPI/629412345678/X;850.00;\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sbi.toml"),
        "name = \"sbi\"\nbank = \"State Bank of India\"\ndelimiter = \";\"\nheader = [\"Txn Date\", \"Description\", \"Credit\", \"Debit\"]\n\
date_column = \"Txn Date\"\ndate_formats = [\"DD.MM.YYYY\"]\nnarration_column = \"Description\"\ncredit_column = \"Credit\"\ndebit_column = \"Debit\"\n",
    )
    .unwrap();
    let args = ReconArgs {
        template: vec![dir.path().join("sbi.toml")],
        ..recon_args(dir.path(), vec![dir.path().join("sbi.csv")], "out")
    };
    let summary = recon_cmd::run(&args).unwrap();
    assert_eq!(summary.bank_files[0].layout, "sbi");
    assert_eq!(summary.totals.matched, 1);
}

/// A day with card payments settled in bulk: the report proves the credit, checks each row, and
/// the transactions it paid are matched through it; the reports say so in every file.
#[test]
fn a_settlement_report_proves_its_bulk_credit_and_matches_what_it_paid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pg = "txn_id,merchant_id,merchant_ref,method,amount_paise,status,utr,captured_at\n\
              TXN1,M1,,CARD,100000,captured,,2026-10-04T10:00:00+05:30\n\
              TXN2,M1,,CARD,50000,captured,,2026-10-04T11:00:00+05:30\n\
              TXN3,M2,,NETBANKING,20000,captured,,2026-10-04T12:00:00+05:30\n\
              TXN4,M2,,UPI,30000,captured,629412345678,2026-10-04T12:30:00+05:30\n";
    std::fs::write(d.join("pg_transactions.csv"), pg).unwrap();
    // HDFC's layout: one UPI credit, one bulk credit for setl_A (short by a rupee), one that no
    // settlement or transaction explains.
    let bank = "Date,Narration,Chq./Ref.No.,Value Dt,Withdrawal Amt.,Deposit Amt.,Closing Balance\n\
                04/10/26,UPI/629412345678/TXN4,629412345678,04/10/26,,300.00,300.00\n\
                05/10/26,NEFT CR-HDFCN52026100512-CARD ACQ SETTL,HDFCN52026100512,05/10/26,,1427.93,1727.93\n\
                05/10/26,NEFT CR-UNKNOWN PAYER,ICICN52026109999,05/10/26,,10.00,1737.93\n";
    std::fs::write(d.join("hdfc.csv"), bank).unwrap();
    // setl_A: TXN1 at 2 % + GST; TXN2 charged 2.5 %; TXN3 at 1.9 %; a refund of TXN4; a row for
    // a transaction the PG never captured; a bad amount. setl_B: TXN2 again, credit never came.
    let settlement =
        "settlement_id,settlement_utr,settled_on,type,entity_id,txn_id,amount_paise,fee_paise,tax_paise\r\n\
                      setl_A,HDFCN52026100512,2026-10-05,payment,pay_1,TXN1,100000,2000,360\r\n\
                      setl_A,HDFCN52026100512,2026-10-05,payment,pay_2,TXN2,50000,1250,225\r\n\
                      setl_A,HDFCN52026100512,2026-10-05,payment,pay_3,TXN3,20000,380,68\r\n\
                      setl_A,HDFCN52026100512,2026-10-05,refund,rfnd_1,TXN4,5000,0,0\r\n\
                      setl_A,HDFCN52026100512,2026-10-05,payment,pay_9,TXN9,1000,20,4\r\n\
                      setl_A,HDFCN52026100512,2026-10-05,payment,pay_x,TXN1,12.50,0,0\r\n\
                      setl_B,ICICN52026100001,2026-10-06,payment,pay_2b,TXN2,50000,1000,180\r\n";
    std::fs::write(d.join("acquirer.csv"), settlement).unwrap();
    std::fs::write(d.join("fees.toml"), "gst_bps = 1800\n[mdr_bps]\nNETBANKING = 190\n").unwrap();
    let args = ReconArgs {
        bank: vec![d.join("hdfc.csv")],
        settlement: vec![d.join("acquirer.csv")],
        fees: Some(d.join("fees.toml")),
        ..recon_args(d, vec![], "out")
    };
    let summary = recon_cmd::run(&args).unwrap();
    let read = |name: &str| -> Vec<String> {
        let text = std::fs::read_to_string(d.join("out").join(name)).unwrap();
        let mut rows: Vec<String> = text.lines().skip(1).map(str::to_string).collect();
        rows.sort();
        rows
    };
    // Expected credit: (100000 + 50000 + 20000 + 1000) − fees 3650 − tax 657 − refund 5000 = 161693
    // paise; the bank credited ₹1,427.93, 18,900 paise short.
    assert_eq!(
        read("settlements.csv"),
        [
            "setl_A,HDFCN52026100512,hdfc.csv:3,2026-10-05,5,171000,3650,657,5000,161693,142793,-18900,SHORT_CREDIT",
            "setl_B,ICICN52026100001,,2026-10-06,1,50000,1000,180,0,48820,0,-48820,CREDIT_MISSING",
        ]
    );
    assert_eq!(
        read("settlement_exceptions.csv"),
        [
            "setl_A,TXN2,FEE_MISMATCH,1000,1250,fee 1250 paise where the contract's CARD MDR of 200 bps on 50000 paise is 1000 paise",
            "setl_A,TXN9,UNKNOWN_TXN,,1000,payment of TXN9 which the PG export has not captured",
            "setl_B,TXN2,DOUBLE_SETTLED,,50000,already paid in settlement setl_A (acquirer.csv line 3)",
        ]
    );
    // TXN4 matched its own UPI credit; TXN1-3 through setl_A's bulk credit.
    assert_eq!(
        read("matches.csv"),
        [
            "TXN1,hdfc.csv:3,HDFCN52026100512,100000,1,settlement",
            "TXN2,hdfc.csv:3,HDFCN52026100512,50000,1,settlement",
            "TXN3,hdfc.csv:3,HDFCN52026100512,20000,1,settlement",
        ]
        .into_iter()
        .map(str::to_string)
        .chain(read("matches.csv").into_iter().filter(|r| r.starts_with("TXN4,hdfc.csv:2,629412345678,30000,")))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    assert_eq!(read("matches.csv").len(), 4, "each transaction once");
    // Only the unexplained credit is left as an exception.
    let exceptions = read("exceptions.csv");
    assert_eq!(exceptions.len(), 1, "{exceptions:?}");
    assert!(exceptions[0].contains(",UNMATCHED_BANK,,hdfc.csv:4,"), "{}", exceptions[0]);
    assert!(read("rejects.csv").iter().any(|r| r.starts_with("acquirer.csv,7,amount_paise `12.50`")));
    let s = summary.settlement.expect("settlement totals");
    assert_eq!(s.totals.by_status["SHORT_CREDIT"].settlements, 1);
    assert_eq!(s.totals.by_status["CREDIT_MISSING"].expected_net_paise, 48_820);
    // TXN2: 1250 + 225 where 1000 + 180 was owed.
    assert_eq!(s.totals.fee_overcharge_paise, 295);
    assert_eq!(summary.totals.matched, 4);
    assert_eq!(summary.totals.settlement_matched, 3);
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(json["settlement"]["by_status"]["SETTLED"]["settlements"], 0);
    assert_eq!(json["settlement"]["fee_overcharge_paise"], 295);
}

/// A row that disagrees with its settlement's UTR is refused by the settlement step, which runs
/// after the report's bytes were freed: rejects.csv still carries the line as the file wrote it.
#[test]
fn a_row_the_settlement_step_refuses_is_reported_with_its_line_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pg = "txn_id,merchant_id,merchant_ref,method,amount_paise,status,utr,captured_at\n\
              TXN1,M1,,CARD,100000,captured,,2026-10-04T10:00:00+05:30\n";
    std::fs::write(d.join("pg_transactions.csv"), pg).unwrap();
    let bank = "Date,Narration,Chq./Ref.No.,Value Dt,Withdrawal Amt.,Deposit Amt.,Closing Balance\n\
                05/10/26,NEFT CR-UNKNOWN PAYER,ICICN52026109999,05/10/26,,10.00,10.00\n";
    std::fs::write(d.join("hdfc.csv"), bank).unwrap();
    let refused = r#"setl_A,"HDFCN52026100599",2026-10-05,payment,"pay_2",TXN2,500,10,2"#;
    let report = format!(
        "settlement_id,settlement_utr,settled_on,type,entity_id,txn_id,amount_paise,fee_paise,tax_paise\r\n\
         setl_A,HDFCN52026100512,2026-10-05,payment,pay_1,TXN1,100000,2000,360\r\n\
         \r\n\
         {refused}\r\n"
    );
    std::fs::write(d.join("acquirer.csv"), &report).unwrap();
    let args = ReconArgs {
        bank: vec![d.join("hdfc.csv")],
        settlement: vec![d.join("acquirer.csv")],
        ..recon_args(d, vec![], "out")
    };
    let summary = recon_cmd::run(&args).unwrap();
    let rejects = std::fs::read_to_string(d.join("out/rejects.csv")).unwrap();
    let rows: Vec<&str> = rejects.lines().skip(1).collect();
    let quoted = format!("\"{}\"", refused.replace('"', "\"\""));
    assert_eq!(rows.len(), 1, "{rejects}");
    assert!(rows[0].starts_with("acquirer.csv,4,"), "{}", rows[0]);
    assert!(rows[0].contains("this row says UTR HDFCN52026100599"), "{}", rows[0]);
    assert!(rows[0].ends_with(&quoted), "{} should end with the line as written, {quoted}", rows[0]);
    let stats = &summary.settlement.expect("settlement totals").files[0].stats;
    assert_eq!((stats.data_rows, stats.rejected_rows, stats.non_data_lines), (1, 1, 2));

    // A report that cannot be read twice (a named pipe) keeps its lines: the same rejects.csv.
    let fifo = d.join("piped").join("acquirer.csv");
    std::fs::create_dir(d.join("piped")).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let writer = {
        let (fifo, report) = (fifo.clone(), report.clone());
        // Opening a pipe to write waits for its reader: recon.
        std::thread::spawn(move || std::fs::write(fifo, report).unwrap())
    };
    let args = ReconArgs { settlement: vec![fifo], ..recon_args(d, vec![d.join("hdfc.csv")], "out-piped") };
    recon_cmd::run(&args).unwrap();
    writer.join().unwrap();
    assert_eq!(std::fs::read_to_string(d.join("out-piped/rejects.csv")).unwrap(), rejects);
}

/// `gen --settlements`: cards, net banking and wallets settle in bulk. Recon with the settlement
/// reports gives exactly the truth: every transaction, credit, settlement status, line check and
/// rejected row, whatever order the reports are given in.
#[test]
fn recon_of_generated_settlements_gives_exactly_the_intended_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let plain = GenArgs::plain(20_000, 7, 4, d.to_path_buf());
    // Shuffled too: the truth follows the PG rows wherever they land.
    gen_cmd::run(&GenArgs { settlements: true, shuffle: true, ..plain }).unwrap();
    let banks: Vec<PathBuf> =
        ["HDFC_20261002.csv", "ICICI_20261002.txt", "AXIS_20261002.csv"].map(|f| d.join(f)).into();
    let reports = vec![d.join("settlement_PAYU.csv"), d.join("settlement_BILLDESK.csv")];
    let run = |out: &str, reports: Vec<PathBuf>| {
        recon_cmd::run(&ReconArgs { settlement: reports, ..recon_args(d, banks.clone(), out) }).unwrap()
    };
    let summary = run("out", reports.clone());

    let (truth, _) = assert_reports_equal_truth(d, "out");

    // Every status, tie and line check occurs, so the comparison exercised each.
    for outcome in [
        "SETTLED",
        "SHORT_CREDIT",
        "EXCESS_CREDIT",
        "CREDIT_MISSING",
        "SETTLEMENT_CREDIT",
        "FEE_MISMATCH",
        "GST_MISMATCH",
        "UNKNOWN_TXN",
        "AMOUNT_DIFFERS",
        "DOUBLE_SETTLED",
    ] {
        assert!(truth.values().any(|(o, _)| o == outcome), "no {outcome} in the generated data");
    }
    let s = summary.settlement.as_ref().expect("settlement totals");
    assert!(s.totals.fee_overcharge_paise > 0);
    assert!(summary.totals.settlement_matched > 1_000, "{}", summary.totals.settlement_matched);
    for f in &s.files {
        let x = &f.stats;
        assert_eq!(x.lines_read, x.data_rows + x.rejected_rows + x.non_data_lines, "{}", f.file);
        assert_eq!(x.rejected_rows, 1, "{}", f.file);
    }

    // The reports in the other order: the same reports, byte for byte.
    run("reversed", reports.into_iter().rev().collect());
    for name in ["matches.csv", "exceptions.csv", "settlements.csv", "settlement_exceptions.csv", "rejects.csv"] {
        let a = std::fs::read(d.join("out").join(name)).unwrap();
        let b = std::fs::read(d.join("reversed").join(name)).unwrap();
        assert!(a == b, "{name} depends on the order of --settlement");
    }
}
