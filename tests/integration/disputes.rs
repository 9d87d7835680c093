//! Chargebacks and disputes (issue 13) through the stack: dispute files in any order and again,
//! the money reaching settlement exactly once, the merchant portal confined to its merchant,
//! evidence, responses once and on time, the daily expiry, representments and the KPIs.

use crate::api::put_presigned;
use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_dispute::file::HEADER;
use settlepaisa_dispute::model::Txn;
use settlepaisa_recon::date::{format_utc, Date};
use settlepaisa_tests::api::{assert_seed_error, reconciled_days_ago, Api};
use settlepaisa_tests::pipeline::{upload_bytes, IDLE};
use std::collections::BTreeMap;

/// Today in IST, as the API judges it.
fn today() -> Date {
    settlepaisa_http::time_filter::today()
}

fn row(id: &str, t: &Txn, amount: i64, stage: &str, raised: Date, respond_by: &str) -> String {
    format!(
        "{id},UPI,{},{},{amount},U008,Not received,{stage},{raised},{respond_by}\n",
        t.txn_id,
        t.rrn.clone().unwrap_or_default()
    )
}

/// Drops a dispute file and lets the stack apply it.
async fn drop_file(api: &Api, key: &str, rows: &[String]) {
    let text = format!("{HEADER}\n{}", rows.concat());
    upload_bytes(&api.stack, key, text.into_bytes()).await;
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
}

/// Every outcome line each delivery of `name` reported: `line,dispute_ref,outcome`.
async fn reported(api: &Api, name: &str) -> Vec<Vec<Vec<String>>> {
    let ctx = &api.stack.runner.ctx;
    let (s3, bucket) = (&ctx.clients.s3, &ctx.resources.artifacts_bucket);
    let keys = settlepaisa_aws::s3::list(s3, bucket, &format!("disputes/NPCI/{name}.outcome-")).await.unwrap();
    let mut out = Vec::new();
    for k in keys {
        let text = String::from_utf8(settlepaisa_aws::s3::get_bytes(s3, bucket, &k).await.unwrap()).unwrap();
        out.push(text.lines().skip(1).map(|l| l.split(',').take(3).map(String::from).collect::<Vec<_>>()).collect());
    }
    out
}

/// The dispute adjustments recorded for the settlement engine: id → (merchant, paise).
async fn adjustments(api: &Api) -> BTreeMap<String, (String, i64)> {
    let ctx = &api.stack.runner.ctx;
    let days: Vec<Date> = (-3..=3).map(|i| today().add_days(i)).collect();
    let found =
        settlepaisa_store::disputes::adjustments_on(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &days)
            .await
            .unwrap();
    let mut out = BTreeMap::new();
    for a in found {
        assert!(out.insert(a.adjustment_id.clone(), (a.merchant_id, a.amount.0)).is_none(), "written once");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispute_files_in_any_order_and_again_move_money_once_and_settlement_takes_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let (api, day) = reconciled_days_ago(dir.path(), 600, 4, "JOB-DISPUTES").await;
    let txns = settlepaisa_cli::dispute_demo::captured_upi(&api.stack, 5).await.unwrap();
    assert_eq!(txns.len(), 5);
    let raised = day.add_days(1);
    // The outcome file comes first; the file that opened the disputes after it, then again.
    let outcome = [row("NP-2", &txns[1], txns[1].amount_paise, "won", raised, "")];
    drop_file(&api, "incoming/disputes/NPCI/outcomes.csv", &outcome).await;
    let mut opening = vec![
        row("NP-1", &txns[0], txns[0].amount_paise, "chargeback", raised, ""),
        row("NP-2", &txns[1], txns[1].amount_paise, "chargeback", raised, ""),
        row("NP-3", &txns[2], txns[2].amount_paise, "retrieval", raised, ""),
        row("NP-7", &txns[4], txns[4].amount_paise, "chargeback", raised, ""),
        row("NP-4", &txns[3], txns[3].amount_paise + 1, "chargeback", raised, ""),
    ];
    let mut unknown = txns[3].clone();
    unknown.txn_id = "TXN-NOBODY".into();
    unknown.rrn = None;
    opening.push(row("NP-5", &unknown, 100, "chargeback", raised, ""));
    opening.push("NP-6,UPI,T,,100,U008,x,refund,2026-10-05,\n".into());
    drop_file(&api, "incoming/disputes/NPCI/openings.csv", &opening).await;
    drop_file(&api, "incoming/disputes/NPCI/openings-again.csv", &opening).await;
    // NP-7's chargeback is decided for the merchant afterwards: its debit is given back.
    let decided = [row("NP-7", &txns[4], txns[4].amount_paise, "won", raised, "")];
    drop_file(&api, "incoming/disputes/NPCI/decisions.csv", &decided).await;

    let outcomes = |o: &[Vec<String>]| o.iter().map(|r| (r[1].clone(), r[2].clone())).collect::<Vec<_>>();
    let first = reported(&api, "openings.csv").await;
    assert_eq!(first.len(), 1, "one delivery, one report");
    let expected = [
        ("NP-1", "applied"),
        ("NP-2", "recorded"),
        ("NP-3", "applied"),
        ("NP-7", "applied"),
        ("NP-4", "rejected"),
        ("NP-5", "rejected"),
        ("", "rejected"),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(outcomes(&first[0]), expected);
    let again = reported(&api, "openings-again.csv").await;
    assert!(outcomes(&again[0]).iter().all(|(id, o)| o != "applied" || id.is_empty()), "{again:?}");

    let finance = api.token(Role::SpFinance, None);
    let get = |id: &str| {
        let (api, finance) = (&api, &finance);
        let id = id.to_string();
        async move { api.call("GET", &format!("/api/disputes/{id}"), Some(finance), None).await }
    };
    let np1 = get("NP-1").await.body;
    assert_eq!((np1["stage"].as_str(), np1["status"].as_str()), (Some("chargeback"), Some("needs_response")));
    assert_eq!(np1["money"]["debitedPaise"], txns[0].amount_paise);
    // NP-2 was known won before its chargeback's row came: nothing was ever taken.
    let np2 = get("NP-2").await.body;
    assert_eq!((np2["stage"].as_str(), np2["status"].as_str()), (Some("chargeback"), Some("won")));
    assert_eq!((np2["money"]["debitedPaise"].as_i64(), np2["money"]["reversedPaise"].as_i64()), (Some(0), Some(0)));
    let np7 = get("NP-7").await.body;
    assert_eq!(np7["status"], "won");
    assert_eq!(np7["money"]["reversedPaise"], txns[4].amount_paise);
    assert_eq!(np7["money"]["netDebitedPaise"], 0);
    assert_eq!(get("NP-3").await.body["money"]["debitedPaise"], 0, "a retrieval moves no money");
    assert_eq!(get("NP-4").await.status, 404, "larger than its transaction: a reject, not a dispute");

    let adj = adjustments(&api).await;
    let want: BTreeMap<String, (String, i64)> = [
        ("NP-1-debit".to_string(), (txns[0].merchant_id.clone(), -txns[0].amount_paise)),
        ("NP-7-debit".to_string(), (txns[4].merchant_id.clone(), -txns[4].amount_paise)),
        ("NP-7-reversal".to_string(), (txns[4].merchant_id.clone(), txns[4].amount_paise)),
    ]
    .into();
    assert_eq!(adj, want);

    // The next business days' cycles: each adjustment in exactly one batch line.
    let ctx = &api.stack.runner.ctx;
    let first_day = ctx.settlement.calendar.add_business_days(today(), 1);
    let second_day = ctx.settlement.calendar.add_business_days(first_day, 1);
    for d in [first_day, second_day] {
        Box::pin(settlepaisa_settlement::cycle_run::run(ctx, d)).await.unwrap();
    }
    let mut lines: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let (s3, bucket) = (&ctx.clients.s3, &ctx.resources.artifacts_bucket);
    for d in [first_day, second_day] {
        let batches = settlepaisa_store::settlements::all_day_batches(
            &ctx.clients.dynamodb,
            &ctx.resources.settlements_table,
            &d.to_string(),
        )
        .await
        .unwrap();
        for b in batches {
            let text =
                String::from_utf8(settlepaisa_aws::s3::get_bytes(s3, bucket, &b.lines_key).await.unwrap()).unwrap();
            for l in text.lines() {
                let f: Vec<&str> = l.split(',').collect();
                if f.get(1) == Some(&"adjustment") {
                    lines.entry(f[2].to_string()).or_default().push(f[3].parse().unwrap());
                }
            }
        }
    }
    let taken: BTreeMap<String, Vec<i64>> = want.iter().map(|(k, (_, p))| (k.clone(), vec![*p])).collect();
    assert_eq!(lines, taken, "each debit and reversal in exactly one settlement");
    // The dispute names the settlement that carried each of its adjustments.
    let np7 = get("NP-7").await.body;
    let carried = np7["settlement"]["adjustments"].as_array().unwrap();
    assert_eq!(carried.len(), 2, "{np7}");
    assert!(carried.iter().all(|a| a["settlement"]["settlementId"].is_string()), "{np7}");
}

/// Opens a dispute through the ops API, due at `respond_by`.
async fn open(api: &Api, id: &str, t: &Txn, respond_by: &str) -> Value {
    let ops = api.token(Role::SpOps, None);
    let body = json!({
        "disputeId": id, "network": "UPI", "txnId": t.txn_id, "amountPaise": t.amount_paise,
        "reasonCode": "U008", "reason": "not received", "stage": "chargeback",
        "raisedOn": t.capture_day.add_days(1).to_string(), "respondBy": respond_by,
    });
    let r = api.call("POST", "/api/disputes", Some(&ops), Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

const PDF: &[u8] = b"%PDF-1.4\n% proof of delivery\n%%EOF\n";

/// Uploads `bytes` as evidence declared `content_type`: its id.
async fn evidence(api: &Api, token: &str, id: &str, name: &str, content_type: &str, bytes: &[u8]) -> String {
    let body = json!({ "fileName": name, "contentType": content_type, "sizeBytes": bytes.len() });
    let r = api.call("POST", &format!("/merchant/disputes/{id}/evidence"), Some(token), Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let status = put_presigned(r.body["upload"]["url"].as_str().unwrap(), &r.body["upload"]["headers"], bytes).await;
    assert_eq!(status, 200);
    r.body["evidence"]["evidenceId"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merchants_see_and_answer_only_their_disputes_once_and_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _) = reconciled_days_ago(dir.path(), 600, 3, "JOB-DISPUTES").await;
    let upi = settlepaisa_cli::dispute_demo::captured_upi(&api.stack, 60).await.unwrap();
    let a = upi[0].merchant_id.clone();
    let mine: Vec<&Txn> = upi.iter().filter(|t| t.merchant_id == a).take(3).collect();
    let theirs = upi.iter().find(|t| t.merchant_id != a).unwrap();
    assert_eq!(mine.len(), 3, "three transactions of one merchant");
    let later = format_utc(settlepaisa_tests::api::now() as i64 + 3600);
    open(&api, "A-1", mine[0], &later).await;
    open(&api, "A-2", mine[1], &later).await;
    let past = format_utc(settlepaisa_tests::api::now() as i64 - 1);
    open(&api, "A-LATE", mine[2], &past).await;
    open(&api, "B-1", theirs, &later).await;
    let merchant = api.token(Role::MerchantAdmin, Some(&a));

    // Confined: B's dispute answers as one that does not exist.
    let r = api.call("GET", "/merchant/disputes", Some(&merchant), None).await;
    let mut ids: Vec<String> =
        r.body["disputes"].as_array().unwrap().iter().map(|d| d["disputeId"].as_str().unwrap().into()).collect();
    ids.sort();
    assert_eq!(ids, ["A-1", "A-2", "A-LATE"]);
    for (method, suffix, body) in [
        ("GET", "", None),
        ("POST", "/evidence", Some(json!({ "fileName": "x.pdf", "contentType": "application/pdf", "sizeBytes": 10 }))),
        ("POST", "/respond", Some(json!({ "action": "accept" }))),
    ] {
        let theirs = api
            .call_with(
                method,
                &format!("/merchant/disputes/B-1{suffix}"),
                Some(&merchant),
                body.clone(),
                &[("idempotency-key", "key-00000001")],
            )
            .await;
        let nobody = api
            .call_with(
                method,
                &format!("/merchant/disputes/B-9{suffix}"),
                Some(&merchant),
                body,
                &[("idempotency-key", "key-00000001")],
            )
            .await;
        assert_seed_error(&theirs, 404);
        assert_eq!(
            theirs.body["error"]["message"].as_str().unwrap().replace("B-1", "B-9"),
            nobody.body["error"]["message"]
        );
    }
    let other =
        api.call("GET", &format!("/merchant/disputes?merchantId={}", theirs.merchant_id), Some(&merchant), None).await;
    assert_seed_error(&other, 403);

    // Evidence: a document not uploaded, or not of its declared type, is refused at response.
    let missing = {
        let body = json!({ "fileName": "x.pdf", "contentType": "application/pdf", "sizeBytes": PDF.len() });
        let r = api.call("POST", "/merchant/disputes/A-1/evidence", Some(&merchant), Some(body)).await;
        r.body["evidence"]["evidenceId"].as_str().unwrap().to_string()
    };
    let png = evidence(&api, &merchant, "A-1", "photo.png", "image/png", PDF).await;
    let pdf = evidence(&api, &merchant, "A-1", "pod.pdf", "application/pdf", PDF).await;
    let respond = |id: &str, key: &str, body: Value| {
        let (api, merchant) = (&api, &merchant);
        let (id, key) = (id.to_string(), key.to_string());
        async move {
            api.call_with(
                "POST",
                &format!("/merchant/disputes/{id}/respond"),
                Some(merchant),
                Some(body),
                &[("idempotency-key", &key)],
            )
            .await
        }
    };
    let contest = |e: &str| json!({ "action": "contest", "evidenceIds": [e], "note": "delivered" });
    assert_seed_error(&respond("A-1", "key-00000010", contest(&missing)).await, 409);
    assert_seed_error(&respond("A-1", "key-00000011", contest(&png)).await, 409);

    // Two responses at once: one is recorded, the other refused; the winner's key replays.
    let (x, y) = tokio::join!(
        respond("A-1", "key-00000020", contest(&pdf)),
        respond("A-1", "key-00000021", json!({ "action": "accept" }))
    );
    let mut statuses = [x.status.as_u16(), y.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", x.body, y.body);
    let winner =
        if x.status == 200 { ("key-00000020", contest(&pdf)) } else { ("key-00000021", json!({ "action": "accept" })) };
    let replay = respond("A-1", winner.0, winner.1).await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.body["responses"].as_array().unwrap().len(), 1);
    // The merchant sees who did what as itself, SettlePaisa or the network: no staff ids.
    let seen = api.call("GET", "/merchant/disputes/A-1", Some(&merchant), None).await.body;
    let who: std::collections::BTreeSet<&str> =
        seen["history"].as_array().unwrap().iter().map(|e| e["by"].as_str().unwrap()).collect();
    assert_eq!(who, ["SettlePaisa", "you"].into(), "{seen}");

    // A second past its deadline is refused; the daily job then expires it (lost, debited once).
    let late = respond("A-LATE", "key-00000030", json!({ "action": "accept" })).await;
    assert_seed_error(&late, 409);
    assert!(late.body["error"]["message"].as_str().unwrap().contains("due by"), "{}", late.body);
    let ctx = &api.stack.runner.ctx;
    let event = json!({ "time": format_utc(settlepaisa_tests::api::now() as i64) });
    let summary = settlepaisa_chargeback::expire::handle(ctx, event.clone()).await.unwrap();
    assert_eq!(summary.expired, ["A-LATE"]);
    assert!(
        summary.reminded.contains(&"A-2".to_string()) && summary.reminded.contains(&"B-1".to_string()),
        "{summary:?}"
    );
    let again = settlepaisa_chargeback::expire::handle(ctx, event).await.unwrap();
    assert!(again.expired.is_empty() && again.reminded.is_empty(), "{again:?}");
    let finance = api.token(Role::SpFinance, None);
    let lost = api.call("GET", "/api/disputes/A-LATE", Some(&finance), None).await.body;
    assert_eq!(
        (lost["status"].as_str(), lost["money"]["debitedPaise"].as_i64()),
        (Some("expired"), Some(mine[2].amount_paise))
    );

    // Representment of the contested one (if the contest won), once.
    let ops = api.token(Role::SpOps, None);
    let repr = api.call("POST", "/api/disputes/A-1/representment", Some(&ops), None).await;
    if x.status == 200 {
        assert_eq!(repr.status, 201, "{}", repr.body);
        let again = api.call("POST", "/api/disputes/A-1/representment", Some(&ops), None).await;
        assert_eq!(again.status, 200);
        let key = repr.body["package"].as_str().unwrap();
        let bucket = &ctx.resources.artifacts_bucket;
        let docs =
            settlepaisa_aws::s3::list(&ctx.clients.s3, bucket, key.trim_end_matches("summary.json")).await.unwrap();
        assert_eq!(docs.len(), 2, "the summary and the one document: {docs:?}");
        let won = api.call("POST", "/api/disputes/A-1/outcome", Some(&ops), Some(json!({ "outcome": "won" }))).await;
        assert_eq!(won.body["money"]["reversedPaise"], mine[0].amount_paise);
    } else {
        assert_seed_error(&repr, 409);
    }
    let contradict =
        api.call("POST", "/api/disputes/A-LATE/outcome", Some(&ops), Some(json!({ "outcome": "lost" }))).await;
    assert_eq!(contradict.status, 200, "lost after expiry: the network's word, no second debit");
    assert_eq!(contradict.body["money"]["debitedPaise"], mine[2].amount_paise);

    // The overview's dispute KPIs, all merchants' and the merchant's own.
    let o = api.call("GET", "/api/overview?range=today", Some(&ops), None).await;
    let k = &o.body["overview"]["disputes"];
    assert_eq!(k["open"], 2, "A-2 and B-1: {}", o.body);
    assert_eq!(k["dueWithin24h"], 2, "{k}");
    // A-LATE lost; A-1 won when the contest was recorded, accepted (lost) when the accept was.
    let (won, lost) = if x.status == 200 { (1, 1) } else { (0, 2) };
    assert_eq!((k["won"].as_i64(), k["lost"].as_i64()), (Some(won), Some(lost)), "{k}");
    // Spent hour counters (back to zero) are removed; the open ones stay.
    let removed = settlepaisa_store::disputes::prune_due_counters(
        &ctx.clients.dynamodb,
        &ctx.resources.kpi_table,
        settlepaisa_tests::api::now() as i64 + 30 * 86_400,
    )
    .await
    .unwrap();
    assert_eq!(removed, 2, "A-LATE's hour, in the ALL item and its merchant's (A-1 shares A-2's hour)");
    let o = api.call("GET", "/api/overview?range=today", Some(&ops), None).await;
    assert_eq!(o.body["overview"]["disputes"]["dueWithin24h"], 2, "{}", o.body);
    let own = api.call("GET", "/api/overview?range=today", Some(&merchant), None).await;
    assert_eq!(own.body["overview"]["disputes"]["open"], 1, "{}", own.body);
    let dash = api.call("GET", "/merchant/dashboard", Some(&merchant), None).await;
    assert_eq!(dash.body["openDisputes"]["open"], 1, "{}", dash.body);
}
