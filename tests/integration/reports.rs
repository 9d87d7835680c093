//! Reports (issue 15 §3): asked for, generated off the request (the report queue →
//! `generate-report`), streamed into S3 a part at a time, downloaded by a short-lived link; a
//! merchant user sees only their own; a million-row statement streams within its part buffer.

use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_payout::cycle::Totals;
use settlepaisa_payout::payout_response::BatchStatus;
use settlepaisa_recon::money::Paise;
use settlepaisa_store::settlements::BatchRecord;
use settlepaisa_tests::api::{assert_seed_error, Api};
use settlepaisa_tests::pipeline::IDLE;
use std::collections::BTreeMap;

/// A settlement batch of `merchant` on `day` whose lines object holds `lines` rows.
async fn batch(api: &Api, merchant: &str, day: &str, lines: &str) -> BatchRecord {
    let ctx = api.ctx;
    let id = format!("STL-{merchant}-{}", day.replace('-', ""));
    let key = format!("settlements/{merchant}/{id}/lines-test.csv");
    settlepaisa_aws::s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, lines.as_bytes().to_vec())
        .await
        .unwrap();
    let b = BatchRecord {
        settlement_id: id,
        merchant_id: merchant.into(),
        cycle_date: day.into(),
        totals: Totals { txns: 2, gross: Paise(105_000), net: Paise(102_640), ..Totals::default() },
        status: BatchStatus::Credited,
        lines_key: key,
        days: BTreeMap::new(),
        created_at: "2026-11-02T00:00:00Z".into(),
        on_demand: false,
        payout_key: None,
        payout_bank: None,
        utr: Some("HDFCN52026110212345678".into()),
        failure_reason: None,
        last_response_at: None,
        updated_at: None,
    };
    ctx.clients
        .dynamodb
        .put_item()
        .table_name(&ctx.resources.settlements_table)
        .set_item(Some(b.to_item()))
        .send()
        .await
        .unwrap();
    b
}

/// Asks for a report, runs the queue, and answers the report as `GET /api/reports/{id}` does.
async fn generated(api: &Api, token: &str, body: Value) -> Value {
    let r = api.call("POST", "/api/reports", Some(token), Some(body)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "QUEUED");
    let id = r.body["reportId"].as_str().unwrap().to_string();
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/reports/{id}"), Some(token), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// The body behind a presigned GET (the emulator is plain HTTP on loopback).
async fn download(url: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("the emulator is plain HTTP on loopback");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_string()
}

fn sorted_rows(csv: &str) -> Vec<String> {
    let mut rows: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    rows.sort();
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_are_generated_off_the_request_and_merchants_see_only_their_own() {
    let api = Api::start().await;
    let lines = |id: &str| {
        format!("settlement_id,kind,ref,amount_paise,fee_paise,gst_paise\n{id},payment,T1,100000,2000,360\n{id},refund,R1,-5000,0,0\n")
    };
    batch(&api, "MERCH001", "2026-11-02", &lines("STL-MERCH001-20261102")).await;
    batch(&api, "MERCH001", "2026-11-03", &lines("STL-MERCH001-20261103")).await;
    batch(&api, "MERCH002", "2026-11-03", &lines("STL-MERCH002-20261103")).await;
    let finance = api.token(Role::SpFinance, None);

    // Every batch of the range, one row each; downloaded through the link.
    let r = generated(&api, &finance, json!({ "type": "settlements", "from": "2026-11-01", "to": "2026-11-30" })).await;
    assert_eq!((r["status"].as_str(), r["rows"].as_u64()), (Some("READY"), Some(3)), "{r}");
    let csv = download(r["downloadUrl"].as_str().unwrap()).await;
    assert!(csv.starts_with("settlement_id,merchant_id,cycle_date,status,txns,gross_paise"), "{csv}");
    let ids: Vec<String> = sorted_rows(&csv).iter().map(|l| l.split(',').next().unwrap().to_string()).collect();
    assert_eq!(ids, vec!["STL-MERCH001-20261102", "STL-MERCH001-20261103", "STL-MERCH002-20261103"]);

    // A merchant user: their own statement, every line of their batches and no one else's.
    let merchant = api.token(Role::MerchantAdmin, Some("MERCH001"));
    let r =
        generated(&api, &merchant, json!({ "type": "merchant_statement", "from": "2026-11-01", "to": "2026-11-30" }))
            .await;
    let csv = download(r["downloadUrl"].as_str().unwrap()).await;
    assert_eq!(
        sorted_rows(&csv),
        vec![
            "MERCH001,2026-11-02,STL-MERCH001-20261102,payment,T1,100000,2000,360",
            "MERCH001,2026-11-02,STL-MERCH001-20261102,refund,R1,-5000,0,0",
            "MERCH001,2026-11-03,STL-MERCH001-20261103,payment,T1,100000,2000,360",
            "MERCH001,2026-11-03,STL-MERCH001-20261103,refund,R1,-5000,0,0",
        ]
    );
    let mine = r["reportId"].as_str().unwrap().to_string();
    // Another merchant's: refused; another merchant's report: not found; staff reports: refused.
    let other =
        json!({ "type": "merchant_statement", "from": "2026-11-01", "to": "2026-11-30", "merchantId": "MERCH002" });
    assert_seed_error(&api.call("POST", "/api/reports", Some(&merchant), Some(other)).await, 403);
    let theirs = api.token(Role::MerchantAdmin, Some("MERCH002"));
    assert_seed_error(&api.call("GET", &format!("/api/reports/{mine}"), Some(&theirs), None).await, 404);
    let summary = json!({ "type": "recon_summary", "from": "2026-11-01", "to": "2026-11-30" });
    assert_seed_error(&api.call("POST", "/api/reports", Some(&merchant), Some(summary)).await, 403);
    // What a person can act on.
    for (body, why) in [
        (json!({ "type": "exceptions", "from": "2026-11-01", "to": "2026-11-02" }), "jobId"),
        (json!({ "type": "merchant_statement", "from": "2026-11-01", "to": "2026-11-02" }), "merchantId"),
        (json!({ "type": "ledger", "from": "2026-11-01", "to": "2026-11-02" }), "type"),
        (json!({ "type": "settlements", "from": "2026-01-01", "to": "2026-11-02" }), "92 days"),
    ] {
        let r = api.call("POST", "/api/reports", Some(&finance), Some(body)).await;
        assert_seed_error(&r, 400);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(why), "{}", r.body);
    }
    // The request is in the audit trail.
    let compliance = api.token(Role::SpCompliance, None);
    let trail = api.call("GET", "/api/audit?action=report.request", Some(&compliance), None).await;
    assert_eq!(trail.body["entries"].as_array().unwrap().len(), 2, "{}", trail.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_million_row_statement_streams_within_its_part_buffer() {
    let api = Api::start().await;
    const ROWS: usize = 1_000_000;
    let id = "STL-MERCH009-20261102";
    let mut lines = String::with_capacity(ROWS * 48);
    lines.push_str("settlement_id,kind,ref,amount_paise,fee_paise,gst_paise\n");
    for i in 0..ROWS {
        lines.push_str(&format!("{id},payment,TXN{i:09},{},{},{}\n", 10_000 + i % 977, 200, 36));
    }
    batch(&api, "MERCH009", "2026-11-02", &lines).await;
    let finance = api.token(Role::SpFinance, None);
    let body =
        json!({ "type": "merchant_statement", "from": "2026-11-02", "to": "2026-11-02", "merchantId": "MERCH009" });
    let r = generated(&api, &finance, body).await;
    assert_eq!((r["status"].as_str(), r["rows"].as_u64()), (Some("READY"), Some(ROWS as u64)), "{r}");

    // Every row, in order, exactly: the object is the input's lines with the merchant and date.
    let ctx = api.ctx;
    let stored = settlepaisa_store::reports::get(
        &ctx.clients.dynamodb,
        &ctx.resources.reports_table,
        r["reportId"].as_str().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let object = settlepaisa_aws::s3::get_bytes(
        &ctx.clients.s3,
        &ctx.resources.artifacts_bucket,
        stored.key.as_deref().unwrap(),
    )
    .await
    .unwrap();
    let mut want = String::from(settlepaisa_governance::reports::kind::Kind::MerchantStatement.header());
    want.push('\n');
    for line in lines.lines().skip(1) {
        want.push_str("MERCH009,2026-11-02,");
        want.push_str(line);
        want.push('\n');
    }
    assert_eq!(object.len(), want.len());
    assert!(object == want.as_bytes(), "the report is the statement, row for row");
    assert_eq!(r["bytes"].as_u64(), Some(want.len() as u64));
    // Bounded: never more than a part (8 MiB) and a row held, for a 60-odd MB report.
    let max = stored.max_buffered_bytes.unwrap() as usize;
    assert!(max <= settlepaisa_governance::reports::sink::PART_BYTES + 256, "held {max} bytes");
    assert!(want.len() > 6 * settlepaisa_governance::reports::sink::PART_BYTES, "a report of many parts");
}
