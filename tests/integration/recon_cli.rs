//! `settlepaisa gen` then `settlepaisa recon`, checked against the generator's truth.

use settlepaisa_cli::recon_cmd::{self, ReconArgs};
use settlepaisa_tests::pipeline::generated_days;
use settlepaisa_tests::{outcomes_from_reports, outcomes_from_truth};
use std::path::{Path, PathBuf};

fn gen(dir: &Path, txns: usize, seed: u64, days: u32) -> Vec<PathBuf> {
    generated_days(dir, txns, seed, days).1
}

fn recon_args(dir: &Path, banks: Vec<PathBuf>, out: &str) -> ReconArgs {
    ReconArgs { pg: dir.join("pg_transactions.csv"), bank: banks, out: dir.join(out), format: None, template: vec![] }
}

#[test]
fn recon_of_generated_files_gives_exactly_the_intended_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let banks = gen(dir.path(), 20_000, 42, 3);
    let summary = recon_cmd::run(&recon_args(dir.path(), banks, "out")).unwrap();

    let (truth, unlisted) = outcomes_from_truth(&dir.path().join("truth.csv"));
    let got = outcomes_from_reports(&dir.path().join("out"));
    let wrong: Vec<_> = truth
        .iter()
        .filter(|(record, want)| got.get(*record) != Some(want))
        .map(|(record, want)| format!("{record}: want {want:?}, got {:?}", got.get(record)))
        .take(10)
        .collect();
    assert!(wrong.is_empty(), "outcomes differ from truth:\n{}", wrong.join("\n"));
    assert_eq!(got.len(), truth.len(), "the reports list records the truth does not");

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
        (ReconArgs { pg: bad_pg, ..recon_args(dir.path(), banks.clone(), "x") }, "bad_pg.csv: expected the header"),
        (
            ReconArgs { format: Some("sbi".into()), ..recon_args(dir.path(), banks.clone(), "x") },
            "unknown layout `sbi`",
        ),
        (recon_args(dir.path(), vec![banks[0].clone(), banks[0].clone()], "x"), "base names must differ"),
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
