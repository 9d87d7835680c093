//! The settlement cycle as Lambda runs it, on the local stack: the same batches and lines as the
//! offline `settlepaisa settle` of the same files; payout files; the bank's responses crediting
//! and failing batches once however often they arrive, a failed batch's payments paid again next
//! cycle; the funnel's states; and two runs racing on a day making each batch once.

use settlepaisa_cli::local::LocalStack;
use settlepaisa_cli::settle_cmd::{self, SettleArgs};
use settlepaisa_payout::payout_response::BatchStatus;
use settlepaisa_pipeline::job::PlanRequest;
use settlepaisa_pipeline::plan;
use settlepaisa_recon::date::Date;
use settlepaisa_settlement::cycle_run;
use settlepaisa_store::settlements::{self, BatchRecord};
use settlepaisa_tests::pipeline::{generated_days, ingest_all, upload_bytes, IDLE};
use settlepaisa_tests::read_csv;
use std::collections::BTreeMap;
use std::path::Path;

const FROM: &str = "2026-10-01";
const TO: &str = "2026-10-16";

fn d(s: &str) -> Date {
    Date::parse_iso(s).unwrap()
}

/// Generated days, ingested and reconciled by one job over them; the merchants imported.
async fn reconciled_stack(dir: &Path) -> LocalStack {
    let (pg, banks) = generated_days(dir, 3_000, 23, 5);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    let merchants =
        settlepaisa_payout::merchant::parse_merchants(&std::fs::read_to_string(dir.join("merchants.csv")).unwrap())
            .unwrap();
    settlepaisa_store::merchants::put_merchants(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &merchants)
        .await
        .unwrap();
    ingest_all(&stack, &pg, &banks).await;
    let req =
        PlanRequest { job_id: Some("JOB-SETTLE".into()), from: FROM.into(), to: "2026-10-05".into(), shards: Some(4) };
    assert!(plan::handle(ctx, req).await.unwrap().created);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    // The offline recon of the same files (into `dir/offline`), for the offline settle.
    settlepaisa_tests::offline_reports(dir, &pg, &banks);
    stack
}

async fn all_batches(stack: &LocalStack, from: Date, to: Date) -> Vec<BatchRecord> {
    let ctx = &stack.runner.ctx;
    let mut out = Vec::new();
    for i in 0..=from.days_until(to) {
        let day = from.add_days(i).to_string();
        // The index is eventually consistent on AWS; read each batch again by its key.
        for b in
            settlements::all_day_batches(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &day).await.unwrap()
        {
            let fresh =
                settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &b.settlement_id)
                    .await
                    .unwrap()
                    .unwrap();
            out.push(fresh);
        }
    }
    out
}

/// `settlements.csv` rows without the status, as the cloud's batches give them.
fn settlement_rows(batches: &[BatchRecord]) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = batches
        .iter()
        .map(|b| {
            let t = b.totals;
            [
                b.settlement_id.clone(),
                b.merchant_id.clone(),
                b.cycle_date.clone(),
                t.txns.to_string(),
                t.gross.0.to_string(),
                t.fees.0.to_string(),
                t.gst.0.to_string(),
                t.refunds.0.to_string(),
                t.adjustments.0.to_string(),
                t.reserve_withheld.0.to_string(),
                t.reserve_released.0.to_string(),
                t.net.0.to_string(),
            ]
            .to_vec()
        })
        .collect();
    rows.sort();
    rows
}

async fn lines_of(stack: &LocalStack, batches: &[BatchRecord]) -> Vec<Vec<String>> {
    let ctx = &stack.runner.ctx;
    let mut rows = Vec::new();
    for b in batches {
        let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &b.lines_key)
            .await
            .unwrap();
        rows.extend(
            String::from_utf8(bytes).unwrap().lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()),
        );
    }
    rows.sort();
    rows
}

async fn run_days(stack: &LocalStack, from: &str, to: &str) {
    let ctx = &stack.runner.ctx;
    for i in 0..=d(from).days_until(d(to)) {
        let day = d(from).add_days(i);
        let summary = Box::pin(cycle_run::run(ctx, day)).await.unwrap();
        assert_eq!(summary.business_day, ctx.settlement.calendar.is_business_day(day), "{summary:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_cycle_pays_what_the_offline_command_pays_and_the_banks_answers_move_batches_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let stack = reconciled_stack(dir).await;
    let ctx = &stack.runner.ctx;
    // A refund and a chargeback debit, dropped where the cycle reads them.
    let matched: Vec<Vec<String>> = read_csv(&dir.join("offline/matches.csv"));
    let pg = read_csv(&dir.join("pg_transactions.csv"));
    let paid = pg.iter().find(|r| matched.iter().any(|m| m[0] == r[0])).unwrap();
    let refunds = format!("refund_id,txn_id,amount_paise,refunded_at\nRF1,{},100,2026-10-06T06:00:00Z\n", paid[0]);
    let adjustments = format!(
        "adjustment_id,merchant_id,kind,amount_paise,effective_on,reference\nADJ1,{},chargeback_debit,-500,2026-10-07,DSP-1\n",
        paid[1]
    );
    std::fs::write(dir.join("refunds.csv"), &refunds).unwrap();
    std::fs::write(dir.join("adjustments.csv"), &adjustments).unwrap();
    upload_bytes(&stack, "incoming/refunds/refunds-20261006.csv", refunds.into_bytes()).await;
    upload_bytes(&stack, "incoming/adjustments/adjustments-20261007.csv", adjustments.into_bytes()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();

    run_days(&stack, FROM, TO).await;
    let batches = all_batches(&stack, d(FROM), d(TO)).await;
    assert!(batches.len() > 20, "{} batches", batches.len());
    assert!(batches.iter().all(|b| b.status == BatchStatus::SentToBank), "every batch went out in a payout file");

    // The offline command over the same files.
    settle_cmd::run(&SettleArgs {
        merchants: dir.join("merchants.csv"),
        pg: dir.join("pg_transactions.csv"),
        recon: dir.join("offline"),
        refunds: Some(dir.join("refunds.csv")),
        adjustments: Some(dir.join("adjustments.csv")),
        holidays: None,
        from: FROM.into(),
        to: TO.into(),
        out: dir.join("settle"),
    })
    .unwrap();
    let offline: Vec<Vec<String>> = {
        let mut rows: Vec<Vec<String>> = read_csv(&dir.join("settle/settlements.csv"))
            .into_iter()
            .map(|mut r| {
                r.truncate(12);
                r
            })
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(settlement_rows(&batches), offline, "the Lambda's batches are the offline command's");
    let mut offline_lines = read_csv(&dir.join("settle/settlement_lines.csv"));
    offline_lines.sort();
    assert_eq!(lines_of(&stack, &batches).await, offline_lines, "and their lines");

    // The payout files: every batch in exactly one, with its net.
    let keys =
        settlepaisa_aws::s3::list(&ctx.clients.s3, &ctx.resources.artifacts_bucket, "outgoing/payouts/").await.unwrap();
    let mut in_files: BTreeMap<String, i64> = BTreeMap::new();
    for k in &keys {
        let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, k).await.unwrap();
        for l in String::from_utf8(bytes).unwrap().lines().skip(1) {
            let f: Vec<&str> = l.split(',').collect();
            assert!(in_files.insert(f[0].to_string(), f[2].parse().unwrap()).is_none(), "{} in two files", f[0]);
        }
    }
    let want: BTreeMap<String, i64> = batches.iter().map(|b| (b.settlement_id.clone(), b.totals.net.0)).collect();
    assert_eq!(in_files, want);

    // The bank credits the first batch and returns the second.
    let (first, second) = (&batches[0], &batches[1]);
    let response = format!(
        "reference,status,utr,reason,processed_at\n{},SUCCESS,HDFCN0000001,,2026-10-17T10:00:00Z\n{},RETURNED,,account closed,2026-10-17T10:05:00Z\nSTL-NOPE-20261017,SUCCESS,HDFCN0000009,,2026-10-17T10:00:00Z\n",
        first.settlement_id, second.settlement_id
    );
    let funnel_before = funnel(&stack, &batches).await;
    for attempt in 0..2 {
        // The second delivery (the same file again) changes nothing.
        upload_bytes(&stack, "incoming/payout-responses/HDFC/resp-20261017.csv", response.clone().into_bytes()).await;
        stack.runner.run_until_idle(IDLE).await.unwrap();
        let get = |id: &str| {
            let id = id.to_string();
            async move {
                settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &id)
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        let (a, b) = (get(&first.settlement_id).await, get(&second.settlement_id).await);
        assert_eq!((a.status, a.utr.as_deref()), (BatchStatus::Credited, Some("HDFCN0000001")), "attempt {attempt}");
        assert_eq!((b.status, b.failure_reason.as_deref()), (BatchStatus::Failed, Some("account closed")));
        // Each delivery's outcome is kept under its own name.
        let reports = settlepaisa_aws::s3::list(
            &ctx.clients.s3,
            &ctx.resources.artifacts_bucket,
            "payout-responses/HDFC/resp-20261017.csv.outcome-",
        )
        .await
        .unwrap();
        assert_eq!(reports.len(), attempt + 1, "{reports:?}");
        for key in &reports {
            let report =
                settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key).await.unwrap();
            let report = String::from_utf8(report).unwrap();
            assert!(report.contains("STL-NOPE-20261017,SUCCESS,\"no such settlement\""), "{report}");
        }
        let funnel_now = funnel(&stack, &batches).await;
        assert_eq!(funnel_now["credited"], funnel_before["credited"] + first.totals.txns as i64, "credited once");
        assert_eq!(
            funnel_now["sent_to_bank"],
            funnel_before["sent_to_bank"] - first.totals.txns as i64 - second.totals.txns as i64,
            "a failed batch's transactions leave the funnel's later stages"
        );
    }
    // Running an earlier day again pays nothing twice: its batches exist, or took the payments.
    let rerun = Box::pin(cycle_run::run(ctx, d("2026-10-05"))).await.unwrap();
    assert!(rerun.batches.is_empty(), "{rerun:?}");
    // The returned batch's payments are paid again on the next cycle, in a new batch.
    let next = Box::pin(cycle_run::run(ctx, d("2026-10-19"))).await.unwrap();
    let again = settlements::get_batch(
        &ctx.clients.dynamodb,
        &ctx.resources.settlements_table,
        &format!("STL-{}-20261019", second.merchant_id),
    )
    .await
    .unwrap()
    .expect("a new batch for the returned one's merchant");
    assert!(next.batches.contains(&again.settlement_id));
    let old_lines = lines_of(&stack, std::slice::from_ref(second)).await;
    let new_lines = lines_of(&stack, std::slice::from_ref(&again)).await;
    for l in old_lines.iter().filter(|l| l[1] == "payment") {
        assert!(new_lines.iter().any(|n| n[1] == "payment" && n[2] == l[2]), "{} paid again", l[2]);
    }
}

/// The funnel's settlement stages over the batches' capture days: transactions in each.
async fn funnel(stack: &LocalStack, batches: &[BatchRecord]) -> BTreeMap<String, i64> {
    let ctx = &stack.runner.ctx;
    let days: std::collections::BTreeSet<&String> = batches.iter().flat_map(|b| b.days.keys()).collect();
    let mut out = BTreeMap::new();
    for day in days {
        let item = ctx
            .clients
            .dynamodb
            .get_item()
            .table_name(&ctx.resources.kpi_table)
            .key("day", settlepaisa_aws::dynamo::sv(day))
            .key("dimension", settlepaisa_aws::dynamo::sv(settlements::SETTLEMENT_DIMENSION))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_default();
        for stage in ["in_settlement", "sent_to_bank", "credited"] {
            *out.entry(stage.to_string()).or_insert(0) +=
                settlepaisa_aws::dynamo::n(&item, &format!("{stage}_n")).unwrap_or(0);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_racing_on_a_day_make_each_batch_once_and_take_each_payment_once() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = reconciled_stack(tmp.path()).await;
    let ctx = &stack.runner.ctx;
    // As DynamoDB does: moto alone lets two racing transactions both commit.
    stack.faults.isolate_transactions();
    // The same day twice at once, then two days at once (the later one's batches take what the
    // earlier one's would: only the ledger's version keeps them apart).
    for (x, y) in [("2026-10-05", "2026-10-05"), ("2026-10-06", "2026-10-07"), ("2026-10-08", "2026-10-08")] {
        let (a, b) = tokio::join!(Box::pin(cycle_run::run(ctx, d(x))), Box::pin(cycle_run::run(ctx, d(y))));
        let (a, b) = (a.unwrap(), b.unwrap());
        let mut made: Vec<&String> = a.batches.iter().chain(&b.batches).collect();
        made.sort();
        let n = made.len();
        made.dedup();
        assert_eq!(made.len(), n, "{x}/{y}: a batch made by both runs");
    }
    let batches = all_batches(&stack, d("2026-10-05"), d("2026-10-08")).await;
    assert!(batches.len() > 10);
    let lines = lines_of(&stack, &batches).await;
    let mut payments: Vec<&String> = lines.iter().filter(|l| l[1] == "payment").map(|l| &l[2]).collect();
    let n = payments.len();
    payments.sort();
    payments.dedup();
    assert_eq!(payments.len(), n, "a payment in two batches");
    // And each batch in one payout file, sent once.
    assert!(batches.iter().all(|b| b.status == BatchStatus::SentToBank && b.payout_key.is_some()));
    // Every matched payment is in a batch now: the next run reads none of those days.
    let next = Box::pin(cycle_run::run(ctx, d("2026-10-09"))).await.unwrap();
    assert_eq!((next.read.settled_days_skipped, next.read.payments), (5, 0), "{next:?}");
    assert!(next.batches.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_window_forgets_old_batches_without_paying_their_payments_again_and_reports_what_aged_out() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = reconciled_stack(tmp.path()).await;
    let mut ctx = stack.runner.ctx.clone();
    ctx.settlement.window_days = 7;
    // MERCH001 on hold through the window: its payments age out unpaid, and are reported.
    let db = &ctx.clients.dynamodb;
    let mut m1 =
        settlepaisa_store::merchants::get(db, &ctx.resources.merchants_table, "MERCH001").await.unwrap().unwrap();
    m1.status = settlepaisa_payout::merchant::MerchantStatus::OnHold;
    settlepaisa_store::merchants::put_merchants(db, &ctx.resources.merchants_table, &[m1]).await.unwrap();
    // A bonus on the 16th gives every other merchant a batch then: its ledger, pruned to the
    // 7-day window, forgets the batches that paid the 1st–5th.
    let mut bonus = String::from("adjustment_id,merchant_id,kind,amount_paise,effective_on,reference\n");
    for i in 2..=25 {
        bonus.push_str(&format!("BONUS-{i:03},MERCH{i:03},manual,100000,2026-10-16,promo\n"));
    }
    upload_bytes(&stack, "incoming/adjustments/bonus.csv", bonus.into_bytes()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    for i in 0..=d("2026-10-02").days_until(d("2026-10-16")) {
        let _ = Box::pin(cycle_run::run(&ctx, d("2026-10-02").add_days(i))).await.unwrap();
    }
    let before = all_batches(&stack, d("2026-10-01"), d("2026-10-31")).await;
    assert!(before.iter().all(|b| b.merchant_id != "MERCH001"));
    // The bonus batches of the 16th took the bonus, not the payments their ledgers forgot.
    let lines = lines_of(&stack, &before).await;
    let mut paid: Vec<&String> = lines.iter().filter(|l| l[1] == "payment").map(|l| &l[2]).collect();
    let n = paid.len();
    paid.sort();
    paid.dedup();
    assert_eq!(paid.len(), n, "a payment in two batches");
    let m2 = settlements::head(db, &ctx.resources.settlements_table, "MERCH002").await.unwrap();
    let ledger = settlepaisa_payout::cycle::Ledger::parse(
        &String::from_utf8(
            settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &m2.ledger_key.unwrap())
                .await
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(ledger.horizon, Some(d("2026-10-09")));
    assert!(!ledger.batches.iter().any(|b| b.ends_with("20261002")), "forgotten: {:?}", ledger.batches);
    // The ledgers now forget batches before 9 Oct; running 5 Oct again pays nothing twice.
    let again = Box::pin(cycle_run::run(&ctx, d("2026-10-05"))).await.unwrap();
    assert!(again.batches.is_empty(), "{again:?}");
    assert_eq!(all_batches(&stack, d("2026-10-01"), d("2026-10-31")).await.len(), before.len());
    // What MERCH001 never got left the window on the way: reported, not paid.
    let reports = settlepaisa_aws::s3::list(&ctx.clients.s3, &ctx.resources.artifacts_bucket, "settlements/2026-10-")
        .await
        .unwrap();
    let mut aged = String::new();
    for k in reports.iter().filter(|k| k.contains("carried_forward")) {
        aged.push_str(
            &String::from_utf8(
                settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, k).await.unwrap(),
            )
            .unwrap(),
        );
    }
    assert!(
        aged.lines().any(|l| l.starts_with("MERCH001,") && l.contains("left the settlement window unsettled")),
        "{aged}"
    );
}
