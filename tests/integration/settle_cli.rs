//! `settlepaisa gen`, `recon`, then `settle`: the merchants' cycle over the generated days pays
//! only reconciled money, each transaction once, with every batch's lines adding up to its net;
//! a run of the same days again writes the same reports.

use settlepaisa_cli::gen_cmd::{self, GenArgs};
use settlepaisa_cli::recon_cmd::{self, ReconArgs};
use settlepaisa_cli::settle_cmd::{self, SettleArgs};
use settlepaisa_tests::read_csv;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn settle(dir: &Path, out: &str, refunds: bool) -> String {
    settle_cmd::run(&SettleArgs {
        merchants: dir.join("merchants.csv"),
        pg: dir.join("pg_transactions.csv"),
        recon: dir.join("recon"),
        refunds: refunds.then(|| dir.join("refunds.csv")),
        adjustments: refunds.then(|| dir.join("adjustments.csv")),
        holidays: Some(dir.join("holidays.txt")),
        from: "2026-10-01".into(),
        to: "2026-10-31".into(),
        out: dir.join(out),
    })
    .unwrap()
}

#[test]
fn the_cycle_pays_reconciled_money_once_and_its_reports_add_up() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    gen_cmd::run(&GenArgs::plain(6_000, 61, 5, dir.to_path_buf())).unwrap();
    let banks: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            ["HDFC_", "ICICI_", "AXIS_"].iter().any(|b| p.file_name().unwrap().to_string_lossy().starts_with(b))
        })
        .collect();
    recon_cmd::run(&ReconArgs {
        pg: dir.join("pg_transactions.csv"),
        bank: banks,
        out: dir.join("recon"),
        format: None,
        template: vec![],
        settlement: vec![],
        fees: None,
    })
    .unwrap();
    // A holiday on Friday 2 Oct (Gandhi Jayanti), a refund of one matched payment, a chargeback.
    std::fs::write(dir.join("holidays.txt"), "2026-10-02\n").unwrap();
    let matched: BTreeSet<String> =
        read_csv(&dir.join("recon/matches.csv")).into_iter().map(|r| r[0].clone()).collect();
    let pg = read_csv(&dir.join("pg_transactions.csv"));
    let paid = pg.iter().find(|r| matched.contains(&r[0])).unwrap();
    std::fs::write(
        dir.join("refunds.csv"),
        format!("refund_id,txn_id,amount_paise,refunded_at\nRF1,{},100,2026-10-03T06:00:00Z\n", paid[0]),
    )
    .unwrap();
    std::fs::write(
        dir.join("adjustments.csv"),
        format!("adjustment_id,merchant_id,kind,amount_paise,effective_on,reference\nADJ1,{},chargeback_debit,-500,2026-10-05,DSP-1\n", paid[1]),
    )
    .unwrap();
    let text = settle(dir, "settle", true);
    assert!(text.contains("batches"), "{text}");

    let settlements = read_csv(&dir.join("settle/settlements.csv"));
    let lines = read_csv(&dir.join("settle/settlement_lines.csv"));
    assert!(!settlements.is_empty());
    // Paid transactions: reconciled ones only, each once.
    let mut paid_txns = BTreeSet::new();
    for l in lines.iter().filter(|l| l[1] == "payment") {
        assert!(matched.contains(&l[2]), "{} was not reconciled", l[2]);
        assert!(paid_txns.insert(l[2].clone()), "{} paid twice", l[2]);
    }
    assert!(lines.iter().any(|l| l[1] == "refund" && l[2] == "RF1"));
    assert!(lines.iter().any(|l| l[1] == "adjustment" && l[2] == "ADJ1"));
    // Each batch's lines add up to its net, and its net to the formula.
    let mut by_batch: BTreeMap<&str, i64> = BTreeMap::new();
    for l in &lines {
        let n = |i: usize| l[i].parse::<i64>().unwrap();
        *by_batch.entry(&l[0]).or_default() += n(3) - n(4) - n(5);
    }
    for s in &settlements {
        let n = |i: usize| s[i].parse::<i64>().unwrap();
        assert_eq!(n(11), n(4) - n(5) - n(6) - n(7) + n(8) - n(9) + n(10), "{s:?}");
        assert_eq!(by_batch[s[0].as_str()], n(11), "{s:?}");
        assert!(n(11) > 0);
        // No batch on the holiday or a weekend's 2nd/4th Saturday or Sunday.
        assert!(!["2026-10-02", "2026-10-04", "2026-10-10", "2026-10-11"].contains(&s[2].as_str()), "{s:?}");
    }
    let payouts: usize =
        std::fs::read_dir(dir.join("settle/payouts")).unwrap().map(|e| read_csv(&e.unwrap().path()).len()).sum();
    assert_eq!(payouts, settlements.len(), "one payout line per batch");
    // The same days again: the same reports.
    settle(dir, "settle-again", true);
    for name in ["settlements.csv", "settlement_lines.csv", "carried_forward.csv"] {
        assert_eq!(
            std::fs::read(dir.join("settle").join(name)).unwrap(),
            std::fs::read(dir.join("settle-again").join(name)).unwrap(),
            "{name}"
        );
    }
    // A refund of a transaction the export does not know, or more than was paid: refused.
    for (row, why) in [
        ("RF2,NOPE,100,2026-10-03T06:00:00Z".to_string(), "is not a captured transaction"),
        (format!("RF3,{},{},2026-10-03T06:00:00Z", paid[0], paid[4].parse::<i64>().unwrap() + 1), "more than its"),
    ] {
        std::fs::write(dir.join("refunds.csv"), format!("refund_id,txn_id,amount_paise,refunded_at\n{row}\n")).unwrap();
        let err = settle_cmd::run(&SettleArgs {
            merchants: dir.join("merchants.csv"),
            pg: dir.join("pg_transactions.csv"),
            recon: dir.join("recon"),
            refunds: Some(dir.join("refunds.csv")),
            adjustments: None,
            holidays: None,
            from: "2026-10-01".into(),
            to: "2026-10-31".into(),
            out: dir.join("settle-refused"),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(why), "{err}");
    }
}

#[test]
fn a_merchants_file_with_a_bad_row_is_refused_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("merchants.csv"),
        format!("{}\nM1,N,ACTIVE,1,0,0,0,0,200,190,190,1800,HDFC0001234,123456789,B\nM2,N,ACTIVE,1,0,0,0,0,200,190,190,1800,BAD,123456789,B\n", settlepaisa_payout::merchant::MERCHANTS_HEADER),
    )
    .unwrap();
    let err = settle_cmd::run(&SettleArgs {
        merchants: dir.join("merchants.csv"),
        pg: dir.join("pg.csv"),
        recon: dir.join("recon"),
        refunds: None,
        adjustments: None,
        holidays: None,
        from: "2026-10-01".into(),
        to: "2026-10-02".into(),
        out: dir.join("out"),
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("refused, nothing read") && err.contains("line 3: ifsc"), "{err}");
}

/// `settlepaisa merchants import` into the local stack: the generated merchants read back as they
/// were; a file with one bad row writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchants_import_whole_files_only() {
    use settlepaisa_cli::merchants_cmd;
    let stack = settlepaisa_cli::local::LocalStack::start(None).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let merchants = settlepaisa_payout::merchant::generated(25);
    let good = tmp.path().join("merchants.csv");
    std::fs::write(&good, settlepaisa_payout::merchant::write_merchants(&merchants)).unwrap();
    assert_eq!(merchants_cmd::import(&stack, &good).await.unwrap(), 25);
    assert_eq!(merchants_cmd::list(&stack).await.unwrap(), merchants);
    // A file of 30 whose last row is bad: refused whole, the table as it was.
    let mut more = settlepaisa_payout::merchant::generated(30);
    more[29].ifsc = "BAD".into();
    let text = settlepaisa_payout::merchant::write_merchants(&more);
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, text).unwrap();
    let err = merchants_cmd::import(&stack, &bad).await.unwrap_err().to_string();
    assert!(err.contains("nothing imported") && err.contains("line 31: ifsc"), "{err}");
    assert_eq!(merchants_cmd::list(&stack).await.unwrap(), merchants, "nothing half-imported");
}
