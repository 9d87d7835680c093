//! The HTTP API on the local stack, fed through the pipeline (files dropped in S3, a job created
//! and matched through the API) and checked against the offline reconciliation of the same files.

use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_tests::api::{assert_seed_error, Api};
use settlepaisa_tests::pipeline::{generated, ingest_all, IDLE};
use settlepaisa_tests::{offline_reports, read_csv};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DAY: &str = "2026-10-01";

struct World {
    api: Api,
    ops: String,
    job: String,
    dir: tempfile::TempDir,
    pg: PathBuf,
    banks: Vec<PathBuf>,
}

/// Generated files through S3 and ingestion; a job created, matched and completed through the API.
async fn world(txns: usize, seed: u64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), txns, seed);
    let api = Api::start().await;
    ingest_all(&api.stack, &pg, &banks).await;
    let ops = api.token(Role::SpOps, None);
    let job = create_and_match(&api, &ops, DAY).await;
    World { api, ops, job, dir, pg, banks }
}

async fn create_and_match(api: &Api, ops: &str, day: &str) -> String {
    let r = api.call("POST", "/api/jobs", Some(ops), Some(json!({ "from": day, "to": day, "shards": 4 }))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "CREATED");
    let job = r.body["jobId"].as_str().unwrap().to_string();
    let r = api.call("POST", &format!("/api/jobs/{job}/match"), Some(ops), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/jobs/{job}"), Some(ops), None).await;
    assert_eq!(r.body["status"], "COMPLETED", "{}", r.body);
    job
}

fn offline(dir: &Path, pg: &Path, banks: &[PathBuf]) -> (usize, BTreeMap<String, usize>) {
    let out = offline_reports(dir, pg, banks);
    let mut by_category = BTreeMap::new();
    for row in read_csv(&out.join("exceptions.csv")) {
        *by_category.entry(row[1].clone()).or_insert(0) += 1;
    }
    (read_csv(&out.join("matches.csv")).len(), by_category)
}

/// Every page of a paginated GET.
async fn all_pages(api: &Api, token: &str, path: &str) -> Vec<Value> {
    api.all_pages(token, path).await
}

fn pg_rows(pg: &Path) -> Vec<Vec<String>> {
    read_csv(pg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reports_what_the_pipeline_computed() {
    let w = world(3_000, 31).await;
    let (api, ops, job) = (&w.api, w.ops.as_str(), w.job.as_str());
    let (matches, categories) = offline(w.dir.path(), &w.pg, &w.banks);
    let exceptions: usize = categories.values().sum();
    let rows = pg_rows(&w.pg);
    let captured: Vec<&Vec<String>> = rows.iter().filter(|r| r[5] == "captured").collect();
    // Bank-only exceptions count under their value dates, a day after the captures.
    let q = format!("from={DAY}&to=2026-10-03");

    let r = api.call("GET", &format!("/api/overview?{q}"), Some(ops), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.headers["cache-control"], "private, max-age=30");
    let o = &r.body["overview"];
    assert_eq!(o["pgTransactions"]["count"], captured.len());
    assert_eq!(o["matched"]["count"], matches);
    assert_eq!(o["exceptions"]["open"]["count"], exceptions);
    let again = api.call("GET", &format!("/api/overview?{q}"), Some(ops), None).await;
    assert_eq!(again.headers["x-cache"], "HIT", "the warm function answers from its cache");

    let r = api.call("GET", &format!("/api/top-reasons?{q}"), Some(ops), None).await;
    assert_eq!(r.headers["cache-control"], "private, max-age=300");
    let reasons: BTreeMap<String, usize> = r.body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["category"].as_str().unwrap().to_string(), x["open"].as_u64().unwrap() as usize))
        .collect();
    assert_eq!(reasons, categories);

    let r = api.call("GET", &format!("/api/pipeline?{q}"), Some(ops), None).await;
    let p = &r.body["pipeline"];
    assert_eq!(p["captured"]["count"], captured.len());
    assert_eq!(p["reconciled"]["count"], matches);
    for stage in ["inSettlement", "sentToBank", "credited"] {
        assert_eq!(p[stage]["count"], 0, "nothing settled yet: {p}");
    }
    assert_eq!(p["otherStatuses"]["failed"]["count"], rows.iter().filter(|r| r[5] == "failed").count());
    // Settled, and the bank's answer in: the funnel counts the batches' transactions by state.
    let d = |s: &str| settlepaisa_recon::date::Date::parse_iso(s).unwrap();
    let settled =
        settlepaisa_cli::settle_demo::run(&api.stack, w.dir.path(), d("2026-10-02"), d("2026-10-06")).await.unwrap();
    let txns = |s: settlepaisa_payout::payout_response::BatchStatus| -> u64 {
        settled.batches.iter().filter(|b| b.status == s).map(|b| b.totals.txns).sum()
    };
    use settlepaisa_payout::payout_response::BatchStatus::{Credited, Failed};
    assert!(txns(Credited) > 0 && txns(Failed) > 0);
    let r =
        api.call_with("GET", &format!("/api/pipeline?{q}"), Some(ops), None, &[("cache-control", "no-cache")]).await;
    let p = &r.body["pipeline"];
    assert_eq!(p["credited"]["count"], txns(Credited), "{p}");
    assert_eq!(p["inSettlement"]["count"], 0);
    assert_eq!(p["sentToBank"]["count"], 0, "the returned batch's transactions left the funnel's later stages");
    assert_eq!(p["reconciled"]["count"], matches);

    let r = api.call("GET", &format!("/api/sources?{q}"), Some(ops), None).await;
    let sources = r.body["sources"].as_array().unwrap();
    let banks: BTreeSet<&str> =
        sources.iter().filter(|s| s["kind"] == "bank").map(|s| s["source"].as_str().unwrap()).collect();
    assert_eq!(banks, BTreeSet::from(["axis", "hdfc", "icici"]));
    let bank_matched: u64 =
        sources.iter().filter(|s| s["kind"] == "bank").map(|s| s["matched"].as_u64().unwrap()).sum();
    assert_eq!(bank_matched as usize, matches, "every match has one bank credit");

    let r = api.call("GET", "/api/connectors/health?from=2026-09-25&to=2026-10-05", Some(ops), None).await;
    assert_eq!(r.headers["cache-control"], "private, max-age=60");
    for c in r.body["connectors"].as_array().unwrap() {
        assert_eq!(c["filesReceived"], 1, "{c}");
        assert!(c["rowsNormalized"].as_u64().unwrap() > 0);
        assert!(c["lagSeconds"].as_i64().unwrap() < 600);
    }

    let r = api.call("GET", &format!("/api/jobs/{job}"), Some(ops), None).await;
    assert_eq!(r.body["stages"]["match"]["status"], "complete");
    assert_eq!(r.body["stages"]["match"]["shardsDone"], 5, "4 UTR shards and the residual");
    assert_eq!(r.body["stages"]["finalize"]["status"], "complete");

    let all = all_pages(api, ops, &format!("/api/jobs/{job}/exceptions?limit=37")).await;
    assert_eq!(all.len(), exceptions);
    assert_eq!(all.iter().map(|e| e["id"].as_str().unwrap()).collect::<BTreeSet<_>>().len(), exceptions);
    assert!(all.iter().all(|e| e["records"]["pg"].is_array() && e["reason"].is_string()));
    let unmatched =
        all_pages(api, ops, &format!("/api/jobs/{job}/exceptions?category=UNMATCHED_PG&status=OPEN&limit=7")).await;
    assert_eq!(unmatched.len(), categories["UNMATCHED_PG"]);

    let merchant = "MERCH001";
    let mine = all_pages(api, ops, &format!("/api/transactions?{q}&merchantId={merchant}&limit=41")).await;
    assert_eq!(mine.len(), rows.iter().filter(|r| r[1] == merchant).count());
    assert!(mine.iter().all(|t| t["merchantId"] == merchant));
    let failed = all_pages(api, ops, &format!("/api/transactions?{q}&status=failed&limit=500")).await;
    assert_eq!(failed.len(), rows.iter().filter(|r| r[5] == "failed").count());
    let upi = all_pages(api, ops, &format!("/api/transactions?{q}&method=UPI&minAmountPaise=100000&limit=500")).await;
    let want = rows.iter().filter(|r| r[3] == "UPI" && r[4].parse::<i64>().unwrap() >= 100_000).count();
    assert_eq!(upi.len(), want);

    let r = api.call("GET", "/api/statements?from=2026-09-25&to=2026-10-05", Some(ops), None).await;
    assert_eq!(r.body["statements"].as_array().unwrap().len(), 3, "{}", r.body);
    let r = api.call("GET", "/api/statements/2026-10-02", Some(ops), None).await;
    assert_eq!(r.body["statements"].as_array().unwrap().len(), 3, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_pg_and_bank_feed_the_pipeline_and_uploads_go_straight_to_s3() {
    let api = Api::start().await;
    let ops = api.token(Role::SpOps, None);
    let day = "2026-11-01";
    let r =
        api.call("POST", "/admin/seed", Some(&ops), Some(json!({ "count": 600, "startDate": day, "seed": 7 }))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let by_status: u64 = r.body["byStatus"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(by_status, 600);
    assert!(
        r.body["byMethod"]["UPI"].as_u64().unwrap() > r.body["byMethod"]["CARD"].as_u64().unwrap(),
        "the seed's method mix"
    );
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let txns = all_pages(&api, &ops, &format!("/api/transactions?from={day}&to={day}&limit=500")).await;
    assert_eq!(txns.len(), 600, "every seeded transaction came through ingestion");

    let mut credits = 0;
    for bank in ["HDFC", "ICICI", "AXIS"] {
        let r = api.call("POST", "/admin/generate-file", Some(&ops), Some(json!({ "bank": bank, "date": day }))).await;
        assert_eq!(r.status, 202, "{}", r.body);
        credits += r.body["credits"].as_u64().unwrap();
    }
    assert_eq!(
        credits as usize,
        txns.iter().filter(|t| t["status"] == "captured").count(),
        "each captured txn settles through one bank"
    );
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/statements/{day}"), Some(&ops), None).await;
    let statements = r.body["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 3, "{}", r.body);
    assert!(statements.iter().all(|s| s["status"] == "NORMALIZED"), "{}", r.body);
    assert_eq!(r.body["credits"], credits);

    // A job over the generated day: the mock bank's statements match the mock PG's captures.
    let job = create_and_match(&api, &ops, day).await;
    let r = api.call("GET", &format!("/api/overview?from={day}&to={day}"), Some(&ops), None).await;
    assert!(r.body["overview"]["matched"]["count"].as_u64().unwrap() * 10 >= credits * 9, "{}", r.body);
    let _ = job;

    // Upload: a presigned PUT under the job's prefix, then ingestion records the file on the job.
    let r = api.call("POST", "/api/jobs", Some(&ops), Some(json!({ "from": day, "to": day }))).await;
    let upload_job = r.body["jobId"].as_str().unwrap().to_string();
    let bucket = &api.ctx.resources.uploads_bucket;
    let hdfc =
        api.stack.clients.s3.get_object().bucket(bucket).key("incoming/hdfc/HDFC_20261101.csv").send().await.unwrap();
    let same = hdfc.body.collect().await.unwrap().into_bytes().to_vec();
    // The bank's own file, uploaded to a job: it counts there (a job's uploads are its own scope);
    // the same bytes uploaded to the job a second time count once.
    for name in ["copy.csv", "copy-again.csv"] {
        let r = api
            .call(
                "POST",
                &format!("/api/jobs/{upload_job}/upload"),
                Some(&ops),
                Some(json!({ "fileName": name, "contentLength": same.len() })),
            )
            .await;
        assert_eq!(put_presigned(r.body["uploadUrl"].as_str().unwrap(), &r.body["headers"], &same).await, 200);
        api.stack.runner.run_until_idle(IDLE).await.unwrap();
    }
    let r = api.call("GET", &format!("/api/jobs/{upload_job}"), Some(&ops), None).await;
    let status_of = |name: &str| {
        r.body["uploads"].as_array().unwrap().iter().find(|u| u["name"] == name).unwrap()["status"].clone()
    };
    assert_eq!((status_of("copy.csv"), status_of("copy-again.csv")), (json!("NORMALIZED"), json!("DUPLICATE")));
    // The statement as the bank re-sent it (a trailing blank line): different bytes.
    let mut bytes = same.clone();
    bytes.extend_from_slice(b"\r\n");
    let r = api
        .call(
            "POST",
            &format!("/api/jobs/{upload_job}/upload"),
            Some(&ops),
            Some(json!({ "fileName": "bank-drop.csv", "contentLength": bytes.len() })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["key"], format!("jobs/{upload_job}/bank-drop.csv"));
    let status = put_presigned(r.body["uploadUrl"].as_str().unwrap(), &r.body["headers"], &bytes).await;
    assert_eq!(status, 200);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/jobs/{upload_job}"), Some(&ops), None).await;
    let uploads = r.body["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 3, "{}", r.body);
    let upload = uploads.iter().find(|u| u["name"] == "bank-drop.csv").unwrap();
    assert_eq!(upload["status"], "NORMALIZED");
    let file_id = upload["fileId"].as_str().unwrap().to_string();
    // Reading it with the wrong bank's template rejects the file with a reason; the right one
    // restores it. Each read is queued (202, the file RECEIVED until it is done).
    let upload_of = |body: &Value| {
        body["uploads"].as_array().unwrap().iter().find(|u| u["fileId"] == file_id.as_str()).unwrap().clone()
    };
    let r = api
        .call(
            "POST",
            &format!("/api/jobs/{upload_job}/normalize"),
            Some(&ops),
            Some(json!({ "fileId": file_id, "template": "ICICI" })),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "RECEIVED");
    let pending = api.call("GET", &format!("/api/jobs/{upload_job}"), Some(&ops), None).await;
    assert_eq!(upload_of(&pending.body)["status"], "RECEIVED", "the file is being read");
    // Matching now would leave the statement out: refused until the read is done.
    let early = api.call("POST", &format!("/api/jobs/{upload_job}/match"), Some(&ops), None).await;
    assert_seed_error(&early, 409);
    assert!(early.body["error"]["message"].as_str().unwrap().contains("still being read"), "{}", early.body);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/jobs/{upload_job}"), Some(&ops), None).await;
    let rejected = upload_of(&r.body);
    assert_eq!(rejected["status"], "REJECTED", "{rejected}");
    assert!(rejected["error"].as_str().is_some_and(|e| !e.is_empty()));
    let r = api
        .call(
            "POST",
            &format!("/api/jobs/{upload_job}/normalize"),
            Some(&ops),
            Some(json!({ "fileId": file_id, "template": "hdfc" })),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["template"], "hdfc", "the template's own name, whatever the case asked");
    // The statement's S3 event again (a redelivery, a re-drive) leaves it to the requested read.
    let bucket = api.stack.runner.ctx.resources.uploads_bucket.clone();
    let event = settlepaisa_tests::pipeline::s3_event(
        "ObjectCreated:Put",
        &bucket,
        &format!("jobs/{upload_job}/bank-drop.csv"),
        None,
    );
    let again = settlepaisa_pipeline::ingest::handle(&api.stack.runner.ctx, event).await.unwrap();
    assert_eq!((again[0].status, again[0].duplicate), ("RECEIVED", true), "{again:?}");
    // A second read while this one is pending is refused, not run twice.
    let again = api
        .call(
            "POST",
            &format!("/api/jobs/{upload_job}/normalize"),
            Some(&ops),
            Some(json!({ "fileId": file_id, "template": "hdfc" })),
        )
        .await;
    assert_seed_error(&again, 409);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/jobs/{upload_job}"), Some(&ops), None).await;
    let restored = upload_of(&r.body);
    assert_eq!(
        (restored["status"].clone(), restored["layout"].clone()),
        (json!("NORMALIZED"), json!("hdfc")),
        "{restored}"
    );
    assert!(restored["records"].as_u64().unwrap() > 0);
    // The job's match request is queued too; a second one while it is pending is a 409.
    let r = api.call("POST", &format!("/api/jobs/{upload_job}/match"), Some(&ops), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["planning"], "queued", "{}", r.body);
    let r = api.call("POST", &format!("/api/jobs/{upload_job}/match"), Some(&ops), None).await;
    assert_seed_error(&r, 409);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/jobs/{upload_job}"), Some(&ops), None).await;
    assert_eq!(r.body["status"], "COMPLETED", "{}", r.body);
    let r = api
        .call(
            "POST",
            "/api/jobs/NO-SUCH-JOB/upload",
            Some(&ops),
            Some(json!({ "fileName": "x.csv", "contentLength": 10 })),
        )
        .await;
    assert_seed_error(&r, 404);
    let r = api
        .call(
            "POST",
            &format!("/api/jobs/{upload_job}/upload"),
            Some(&ops),
            Some(json!({ "fileName": "x.csv", "contentLength": 2u64 << 40 })),
        )
        .await;
    assert_seed_error(&r, 400);
}

/// PUTs `body` to a presigned URL on the loopback emulator, with the signed headers.
pub(crate) async fn put_presigned(url: &str, headers: &Value, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("the emulator is plain HTTP on loopback");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut request = format!("PUT {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    let mut has_length = false;
    for (k, v) in headers.as_object().unwrap() {
        has_length |= k.eq_ignore_ascii_case("content-length");
        request.push_str(&format!("{k}: {}\r\n", v.as_str().unwrap()));
    }
    if !has_length {
        request.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The roles that get a 2xx on each route — written out by hand from the seed's permission
/// table, so the route table in code is checked against it, not against itself.
const MATRIX: &[(&str, &[&str])] = &[
    ("get-overview", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("get-pipeline", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("get-sources", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("get-connectors-health", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("get-top-reasons", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("overview-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("create-job", &["sp-ops"]),
    ("get-job", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("upload-job-file", &["sp-ops"]),
    ("normalize-job-file", &["sp-ops"]),
    ("match-job", &["sp-ops"]),
    ("list-job-exceptions", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("list-job-settlements", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("list-job-settlement-checks", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("resolve-exception", &["sp-ops"]),
    ("recon-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("list-transactions", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("seed-transactions", &["sp-ops"]),
    ("mock-pg-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("list-statements", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("get-statements-for-date", &["sp-ops", "sp-finance", "sp-compliance"]),
    ("generate-bank-file", &["sp-ops"]),
    ("mock-bank-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("list-settlements", &["sp-finance"]),
    ("get-settlement", &["sp-finance"]),
    ("list-merchants", &["sp-finance"]),
    ("get-merchant", &["sp-finance"]),
    ("update-merchant", &["sp-ops"]),
    ("settlement-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("get-merchant-dashboard", &["sp-finance", "merchant-admin"]),
    ("list-merchant-settlements", &["sp-finance", "merchant-admin"]),
    ("get-merchant-settlement", &["sp-finance", "merchant-admin"]),
    ("schedule-settlement", &["sp-ops", "merchant-admin"]),
    ("merchant-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("list-disputes", &["sp-finance", "sp-compliance"]),
    ("get-dispute", &["sp-finance", "sp-compliance"]),
    ("open-dispute", &["sp-ops"]),
    ("record-dispute-outcome", &["sp-ops"]),
    ("create-representment", &["sp-ops"]),
    ("list-merchant-disputes", &["sp-finance", "sp-compliance", "merchant-admin"]),
    ("get-merchant-dispute", &["sp-finance", "sp-compliance", "merchant-admin"]),
    ("add-dispute-evidence", &["sp-ops", "merchant-admin"]),
    ("respond-to-dispute", &["sp-ops", "merchant-admin"]),
    ("chargeback-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    // No token needed: the PG's signature is the credential (a token changes nothing).
    ("receive-pg-webhook", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("pg-ingestion-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("list-connectors", &["sp-ops"]),
    ("get-connector", &["sp-ops"]),
    ("put-connector", &["sp-ops"]),
    ("connectors-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("list-audit", &["sp-compliance"]),
    ("list-approvals", &["sp-ops"]),
    ("approve-approval", &["sp-ops"]),
    ("reject-approval", &["sp-ops"]),
    ("list-approval-rules", &["sp-ops"]),
    ("put-approval-rule", &["sp-ops"]),
    ("request-report", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("get-report", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
    ("governance-health", &["sp-ops", "sp-finance", "sp-compliance", "merchant-admin"]),
];

/// The matrix's merchant (its merchant-admin token's), a batch of it, and a request recorded
/// under the matrix's Idempotency-Key (replayed: 200 for every permitted caller).
const MATRIX_MERCHANT: &str = "MERCH002";
const MATRIX_KEY: &str = "matrix-test-0001";

/// A request each route answers with 2xx for a permitted caller. Routes that change state get
/// fresh objects per call (a new job to match, another exception to resolve).
async fn request_for(w: &World, function: &str, spare: &mut Vec<String>) -> (String, String, Option<Value>) {
    let (api, job) = (&w.api, &w.job);
    let new_job = || async {
        let r = api.call("POST", "/api/jobs", Some(&w.ops), Some(json!({ "from": DAY, "to": DAY }))).await;
        r.body["jobId"].as_str().unwrap().to_string()
    };
    let get = |p: String| ("GET".to_string(), p, None);
    match function {
        "get-overview" => get(format!("/api/overview?from={DAY}&to={DAY}")),
        "get-pipeline" => get(format!("/api/pipeline?from={DAY}&to={DAY}")),
        "get-sources" => get("/api/sources?range=30d".into()),
        "get-connectors-health" => get("/api/connectors/health".into()),
        "get-top-reasons" => get(format!("/api/top-reasons?from={DAY}&to={DAY}")),
        "overview-health" => get("/health".into()),
        "recon-health" => get("/health/recon".into()),
        "mock-pg-health" => get("/health/mock-pg".into()),
        "mock-bank-health" => get("/health/mock-bank".into()),
        "create-job" => ("POST".into(), "/api/jobs".into(), Some(json!({ "from": DAY, "to": DAY }))),
        "get-job" => get(format!("/api/jobs/{job}")),
        "upload-job-file" => (
            "POST".into(),
            format!("/api/jobs/{}/upload", new_job().await),
            Some(json!({ "fileName": "a.csv", "contentLength": 100 })),
        ),
        "normalize-job-file" => {
            let j = new_job().await;
            let bytes = std::fs::read(&w.banks[0]).unwrap();
            settlepaisa_tests::pipeline::upload_bytes(&api.stack, &format!("jobs/{j}/statement.csv"), bytes).await;
            api.stack.runner.run_until_idle(IDLE).await.unwrap();
            let r = api.call("GET", &format!("/api/jobs/{j}"), Some(&w.ops), None).await;
            let file_id = r.body["uploads"][0]["fileId"].as_str().unwrap().to_string();
            ("POST".into(), format!("/api/jobs/{j}/normalize"), Some(json!({ "fileId": file_id, "template": "axis" })))
        }
        "match-job" => ("POST".into(), format!("/api/jobs/{}/match", new_job().await), None),
        "list-job-exceptions" => get(format!("/api/jobs/{job}/exceptions?limit=5")),
        "list-job-settlements" => get(format!("/api/jobs/{job}/settlements?limit=5")),
        "list-job-settlement-checks" => get(format!("/api/jobs/{job}/settlement-checks?limit=5")),
        "resolve-exception" => (
            "POST".into(),
            format!("/api/exceptions/{}/resolve", spare.pop().unwrap()),
            Some(json!({ "action": "write_off", "note": "matrix test" })),
        ),
        "list-transactions" => get(format!("/api/transactions?from={DAY}&to={DAY}&limit=5")),
        "seed-transactions" => {
            ("POST".into(), "/admin/seed".into(), Some(json!({ "count": 5, "startDate": "2026-09-01" })))
        }
        "list-statements" => get("/api/statements?range=30d".into()),
        "get-statements-for-date" => get("/api/statements/2026-10-02".into()),
        "generate-bank-file" => {
            ("POST".into(), "/admin/generate-file".into(), Some(json!({ "bank": "ICICI", "date": DAY })))
        }
        "list-settlements" => get("/api/settlements?from=2026-10-01&to=2026-10-06".into()),
        "get-settlement" => get(format!("/api/settlements/{}", matrix_settlement(w).await)),
        "list-merchants" => get("/api/merchants?limit=5".into()),
        "get-merchant" => get(format!("/api/merchants/{MATRIX_MERCHANT}")),
        "update-merchant" => {
            ("PATCH".into(), format!("/api/merchants/{MATRIX_MERCHANT}"), Some(json!({ "status": "ACTIVE" })))
        }
        "settlement-health" => get("/health/settlement".into()),
        "merchant-health" => get("/health/merchant".into()),
        "get-merchant-dashboard" => get(format!("/merchant/dashboard?merchantId={MATRIX_MERCHANT}")),
        "list-merchant-settlements" => {
            get(format!("/merchant/settlements?merchantId={MATRIX_MERCHANT}&from=2026-10-01&to=2026-10-06"))
        }
        "get-merchant-settlement" => {
            get(format!("/merchant/settlements/{}?merchantId={MATRIX_MERCHANT}", matrix_settlement(w).await))
        }
        "schedule-settlement" => (
            "POST".into(),
            "/merchant/settlement/schedule".into(),
            Some(json!({ "date": matrix_request_date(w).await, "merchantId": MATRIX_MERCHANT })),
        ),
        "list-disputes" => get("/api/disputes?status=needs_response".into()),
        "get-dispute" | "get-merchant-dispute" => {
            let base = if function == "get-dispute" { "/api" } else { "/merchant" };
            get(format!("{base}/disputes/DSP-MATRIX-EVIDENCE"))
        }
        "open-dispute" => {
            let upi = settlepaisa_cli::dispute_demo::captured_upi(&api.stack, 12).await.unwrap();
            let t = upi.last().unwrap();
            let body = json!({
                "network": "UPI", "txnId": t.txn_id, "amountPaise": 1, "reasonCode": "U010",
                "raisedOn": t.capture_day.add_days(2).to_string(),
            });
            ("POST".into(), "/api/disputes".into(), Some(body))
        }
        "record-dispute-outcome" => {
            ("POST".into(), "/api/disputes/DSP-SAMPLE-OUTCOME/outcome".into(), Some(json!({ "outcome": "won" })))
        }
        "create-representment" => ("POST".into(), "/api/disputes/DSP-SAMPLE-REPR/representment".into(), None),
        "list-merchant-disputes" => get(format!("/merchant/disputes?merchantId={MATRIX_MERCHANT}")),
        "add-dispute-evidence" => (
            "POST".into(),
            "/merchant/disputes/DSP-MATRIX-EVIDENCE/evidence".into(),
            Some(json!({ "fileName": "invoice.pdf", "contentType": "application/pdf", "sizeBytes": 100 })),
        ),
        "respond-to-dispute" => (
            "POST".into(),
            "/merchant/disputes/DSP-MATRIX-RESPOND/respond".into(),
            Some(json!({ "action": "accept", "note": "refunded" })),
        ),
        "chargeback-health" => get("/health/chargeback".into()),
        "pg-ingestion-health" => get("/health/pg-ingestion".into()),
        "connectors-health" => get("/health/connectors".into()),
        "governance-health" => get("/health/governance".into()),
        "list-approvals" => get("/api/approvals?status=PENDING_APPROVAL".into()),
        "request-report" => (
            "POST".into(),
            "/api/reports".into(),
            Some(json!({ "type": "settlements", "from": DAY, "to": DAY, "merchantId": MATRIX_MERCHANT })),
        ),
        "get-report" => {
            // The matrix merchant's report: every permitted caller, its merchant user included.
            let body = json!({ "type": "settlements", "from": DAY, "to": DAY, "merchantId": MATRIX_MERCHANT });
            let r = api.call("POST", "/api/reports", Some(&w.ops), Some(body)).await;
            get(format!("/api/reports/{}", r.body["reportId"].as_str().unwrap()))
        }
        "list-approval-rules" => get("/api/approval-rules".into()),
        "put-approval-rule" => {
            ("PUT".into(), "/api/approval-rules/exception.manual_match".into(), Some(json!({ "minAmountPaise": 0 })))
        }
        "approve-approval" | "reject-approval" => {
            // A request another user parked (a maker never decides their own), or the one still
            // pending after a refused decision; approving it writes the rule it already is.
            let body = json!({ "minAmountPaise": null });
            let id = match api
                .stack
                .call_api("matrix-maker", "PUT", "/api/approval-rules/connector.configure", Some(body))
                .await
            {
                Ok(parked) => parked["approvalId"].as_str().unwrap().to_string(),
                // 409: the one a refused decision left pending, named in the answer.
                Err(answer) => {
                    let at = answer.find("APR-").unwrap_or_else(|| panic!("{answer}"));
                    answer[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect()
                }
            };
            let verb = function.trim_end_matches("-approval");
            ("POST".into(), format!("/api/approvals/{id}/{verb}"), Some(json!({ "note": "matrix" })))
        }
        "list-audit" => get("/api/audit?limit=5".into()),
        "list-connectors" => get("/api/connectors".into()),
        "get-connector" | "put-connector" => {
            let body = json!({
                "kind": "https", "host": "statements.icicibank.example", "urlTemplate": "/v1/statements/{date}.csv",
                "secretName": "settlepaisa/connectors/icici", "schedule": "0 7 * * *", "enabled": false,
            });
            if function == "get-connector" {
                api.call("PUT", "/api/connectors/ICICI", Some(&w.ops), Some(body)).await;
                get("/api/connectors/ICICI".into())
            } else {
                ("PUT".into(), "/api/connectors/ICICI".into(), Some(body))
            }
        }
        "receive-pg-webhook" => {
            static DELIVERY: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = DELIVERY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let body = json!({
                "id": format!("evt_matrix_{n}"), "type": "payment.failed",
                "created_at": "2026-10-01T04:45:00Z",
                "data": { "txn_id": "TXN-MATRIX-WEBHOOK", "merchant_id": MATRIX_MERCHANT, "method": "UPI",
                          "amount_paise": 100, "status": "failed", "captured_at": "2026-10-01T10:15:00+05:30" },
            });
            ("POST".into(), "/webhooks/pg".into(), Some(body))
        }
        other => panic!("no request for {other}"),
    }
}

/// The matrix merchant's first settlement.
async fn matrix_settlement(w: &World) -> String {
    let ctx = &w.api.stack.runner.ctx;
    let page = settlepaisa_store::settlements::merchant_batches(
        &ctx.clients.dynamodb,
        &ctx.resources.settlements_table,
        MATRIX_MERCHANT,
        "2026-10-01",
        "2026-10-31",
        1,
        None,
    )
    .await
    .unwrap();
    page.batches.first().expect("the matrix merchant has a settlement").settlement_id.clone()
}

/// The date of the request recorded under [`MATRIX_KEY`].
async fn matrix_request_date(w: &World) -> String {
    let ctx = &w.api.stack.runner.ctx;
    settlepaisa_store::settlements::get_request(
        &ctx.clients.dynamodb,
        &ctx.resources.settlements_table,
        MATRIX_MERCHANT,
        MATRIX_KEY,
    )
    .await
    .unwrap()
    .unwrap()
    .key
    .date
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_gets_exactly_the_routes_the_seed_grants_it() {
    let w = world(1_500, 41).await;
    let api = &w.api;
    // Settlements of the world's day, and a request under the matrix's key.
    let d = |s: &str| settlepaisa_recon::date::Date::parse_iso(s).unwrap();
    settlepaisa_cli::settle_demo::run(&api.stack, w.dir.path(), d("2026-10-02"), d("2026-10-06")).await.unwrap();
    {
        use settlepaisa_store::settlements::{put_request, RequestKey, SettlementRequest};
        let ctx = &api.stack.runner.ctx;
        let today = settlepaisa_http::time_filter::today();
        let date = ctx.settlement.calendar.add_business_days(today.add_days(1), 0).to_string();
        let request = SettlementRequest {
            key: RequestKey { merchant_id: MATRIX_MERCHANT.into(), idempotency_key: MATRIX_KEY.into(), date },
            status: "SCHEDULED".into(),
            requested_by: "matrix".into(),
            requested_at: "2026-11-30T00:00:00Z".into(),
            estimated_net_paise: 1,
            settlement_id: None,
            outcome: None,
        };
        let draft = settlepaisa_store::audit::by_function(
            "matrix",
            "settlement.request",
            ("merchant", MATRIX_MERCHANT),
            "matrix",
        );
        let audit = (ctx.resources.audit_table.as_str(), draft);
        let recorded =
            put_request(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &request, audit).await.unwrap();
        assert!(matches!(recorded, settlepaisa_store::settlements::Recorded::New));
    }
    // Disputes: the dispute demo's samples, and two of the matrix merchant's, due in 2099.
    settlepaisa_cli::dispute_demo::run(&api.stack).await.unwrap();
    let all_upi = settlepaisa_cli::dispute_demo::captured_upi(&api.stack, 200).await.unwrap();
    let own: Vec<_> = all_upi.iter().filter(|t| t.merchant_id == MATRIX_MERCHANT).take(2).collect();
    for (id, t) in ["DSP-MATRIX-EVIDENCE", "DSP-MATRIX-RESPOND"].into_iter().zip(&own) {
        let body = json!({
            "disputeId": id, "network": "UPI", "txnId": t.txn_id, "amountPaise": t.amount_paise,
            "reasonCode": "U008", "stage": "chargeback", "raisedOn": t.capture_day.add_days(1).to_string(),
            "respondBy": "2099-12-31",
        });
        let r = api.call("POST", "/api/disputes", Some(&w.ops), Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let table: BTreeSet<&str> = settlepaisa_http::routes::ROUTES.iter().map(|r| r.function).collect();
    assert_eq!(MATRIX.iter().map(|m| m.0).collect::<BTreeSet<_>>(), table, "the matrix covers every route");
    let merchant = "MERCH002";
    let mut spare: Vec<String> =
        all_pages(api, &w.ops, &format!("/api/jobs/{}/exceptions?status=OPEN&limit=50", w.job))
            .await
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect();
    for (function, allowed) in MATRIX {
        for role in Role::ALL {
            let token = api.token(role, role.is_merchant().then_some(merchant));
            let (method, path, body) = request_for(&w, function, &mut spare).await;
            let signed =
                body.as_ref().filter(|_| path == "/webhooks/pg").map(settlepaisa_tests::api::pg_webhook_headers);
            let mut headers = vec![("idempotency-key", MATRIX_KEY)];
            headers.extend(signed.iter().flatten().map(|(k, v)| (*k, v.as_str())));
            let r = api.call_with(&method, &path, Some(&token), body, &headers).await;
            if allowed.contains(&role.as_str()) {
                assert!(r.status.is_success(), "{function} as {}: {} {}", role.as_str(), r.status, r.body);
            } else {
                assert_seed_error(&r, 403);
                assert_eq!(r.body["error"]["code"], "INSUFFICIENT_PERMISSIONS", "{function} as {}", role.as_str());
            }
        }
    }

    // Authentication failures: 401, and the same for every protected route.
    let now = settlepaisa_tests::api::now();
    let other_key =
        settlepaisa_auth::AuthConfig { secret: b"another-key-another-key-another-k".to_vec(), ..api.auth.clone() };
    let wrong_issuer = settlepaisa_auth::AuthConfig { issuer: "someone-else".into(), ..api.auth.clone() };
    let wrong_audience = settlepaisa_auth::AuthConfig { audience: "another-app".into(), ..api.auth.clone() };
    let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    let claims = serde_json::to_vec(&json!({
        "userId": "u", "email": "e", "role": "sp-ops", "merchantId": null, "permissions": [],
        "exp": now + 3600, "iat": now, "iss": api.auth.issuer, "aud": api.auth.audience,
    }))
    .unwrap();
    let alg_none = format!("{header}.{}.", base64url(&claims));
    let bad_tokens = [
        ("expired", api.auth.mint("u", Role::SpOps, None, now - 7_200, 3_600)),
        ("wrong signature", other_key.mint("u", Role::SpOps, None, now, 3_600)),
        ("alg none", alg_none),
        ("wrong issuer", wrong_issuer.mint("u", Role::SpOps, None, now, 3_600)),
        ("wrong audience", wrong_audience.mint("u", Role::SpOps, None, now, 3_600)),
        ("garbage", "not-a-jwt".into()),
    ];
    for route in settlepaisa_http::routes::ROUTES.iter().filter(|r| r.access.needs_token()) {
        let path = route.path.replace("{id}", &w.job).replace("{date}", DAY);
        for (what, token) in &bad_tokens {
            let r = api.call(route.method, &path, Some(token), None).await;
            assert_seed_error(&r, 401);
            assert_eq!(r.headers["www-authenticate"], "Bearer", "{what}");
        }
        let r = api.call(route.method, &path, None, None).await;
        assert_eq!(r.status, 401, "{} without a token", route.function);
    }

    // A merchant sees its own data only; naming another merchant is refused without echoing it.
    let a = api.token(Role::MerchantAdmin, Some("MERCH001"));
    let r = api.call("GET", &format!("/api/transactions?from={DAY}&to={DAY}&limit=500"), Some(&a), None).await;
    let items = r.body["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|t| t["merchantId"] == "MERCH001"), "{}", r.body);
    for path in [
        format!("/api/transactions?from={DAY}&to={DAY}&merchantId=MERCH003"),
        format!("/api/overview?from={DAY}&to={DAY}&merchantId=MERCH003"),
        format!("/api/pipeline?from={DAY}&to={DAY}&merchantId=MERCH003"),
    ] {
        let r = api.call("GET", &path, Some(&a), None).await;
        assert_seed_error(&r, 403);
        assert!(!r.body.to_string().contains("MERCH003"), "{}", r.body);
    }
    let mine = api.call("GET", &format!("/api/overview?from={DAY}&to={DAY}"), Some(&a), None).await;
    let all = api.call("GET", &format!("/api/overview?from={DAY}&to={DAY}"), Some(&w.ops), None).await;
    assert_eq!(mine.body["merchantId"], "MERCH001");
    let own = pg_rows(&w.pg).iter().filter(|r| r[1] == "MERCH001" && r[5] == "captured").count();
    assert_eq!(mine.body["overview"]["pgTransactions"]["count"], own);
    assert!(all.body["overview"]["pgTransactions"]["count"].as_u64().unwrap() > own as u64);

    // Bad input: 400 in the seed's format, with a message that says what to fix.
    let ops = Some(w.ops.as_str());
    let json_headers = vec![
        ("authorization".to_string(), format!("Bearer {}", w.ops)),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    for (r, says) in [
        (api.raw(&api.app, "POST", "/api/jobs", &json_headers, b"{\"from\": \"2026-10-01\",".to_vec()).await, "body"),
        (
            api.call("POST", "/api/jobs", ops, Some(json!({ "from": DAY, "to": DAY, "colour": "red" }))).await,
            "unknown field",
        ),
        (api.call("POST", "/api/jobs", ops, Some(json!({ "from": "01/10/2026", "to": DAY }))).await, "YYYY-MM-DD"),
        (api.call("GET", "/api/overview?from=2026-13-01", ops, None).await, "YYYY-MM-DD"),
        (api.call("GET", "/api/transactions?minAmountPaise=10.5", ops, None).await, "minAmountPaise"),
        (api.call("GET", "/api/transactions?minAmountPaise=-100", ops, None).await, "non-negative"),
        (api.call("GET", "/api/transactions?limit=100000", ops, None).await, "limit"),
        (api.call("GET", &format!("/api/jobs/{}/exceptions?limit=0", w.job), ops, None).await, "limit"),
        (api.call("GET", &format!("/api/jobs/{}/exceptions?category=LOST", w.job), ops, None).await, "UNMATCHED_PG"),
        (api.call("GET", &format!("/api/jobs/{}/exceptions?cursor=zz", w.job), ops, None).await, "cursor"),
        (api.call("POST", "/admin/seed", ops, Some(json!({ "count": 1.5 }))).await, "count"),
    ] {
        assert_seed_error(&r, 400);
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "`{message}` should mention {says}");
    }
    let r = api.call("GET", "/api/jobs/JOB-NOPE", ops, None).await;
    assert_seed_error(&r, 404);
    // The dashboard's origin gets CORS answers, as from the HTTP API's CorsConfiguration.
    let preflight = vec![
        ("origin".to_string(), "http://localhost:5174".to_string()),
        ("access-control-request-method".to_string(), "GET".to_string()),
    ];
    let r = api.raw(&api.app, "OPTIONS", "/api/overview", &preflight, vec![]).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.headers["access-control-allow-origin"], "http://localhost:5174");
    let r = api
        .raw(
            &api.app,
            "OPTIONS",
            "/api/overview",
            &[("origin".into(), "https://evil.example".into()), preflight[1].clone()],
            vec![],
        )
        .await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    let r = api.call("DELETE", "/api/overview", ops, None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error"]["code"], "METHOD_NOT_ALLOWED");
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_resolving_one_exception_get_one_success_and_one_conflict() {
    let w = world(1_500, 51).await;
    let (api, ops, job) = (&w.api, w.ops.as_str(), w.job.as_str());
    let open = all_pages(api, ops, &format!("/api/jobs/{job}/exceptions?category=UNMATCHED_PG&status=OPEN")).await;
    let target = open.iter().find(|e| e["suggestion"].is_null()).expect("an unmatched PG record without a suggestion");
    let path = format!("/api/exceptions/{}/resolve", target["id"].as_str().unwrap());
    let body = json!({ "action": "write_off", "note": "refunded to the customer", "version": target["version"] });
    let alice = api.token(Role::SpOps, None);
    let bob = api.auth.mint("bob", Role::SpOps, None, settlepaisa_tests::api::now(), 3600);
    // As DynamoDB does: moto alone lets two racing transactions both commit.
    api.stack.faults.isolate_transactions();
    let (a, b) = tokio::join!(
        api.call("POST", &path, Some(&alice), Some(body.clone())),
        api.call("POST", &path, Some(&bob), Some(body.clone()))
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    assert_seed_error(if a.status == 200 { &b } else { &a }, 409);
    // Nothing more is read back here: moto restores a snapshot of the tables when a transaction
    // fails, without a lock, so the losing transaction can undo some of the winner's writes — real
    // DynamoDB transactions are isolated. What a resolution writes is checked, one at a time, below.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolutions_move_the_exceptions_the_match_set_and_the_kpi_figures() {
    let w = world(1_500, 51).await;
    let (api, ops, job) = (&w.api, w.ops.as_str(), w.job.as_str());
    let q = format!("from={DAY}&to=2026-10-03");
    let before = api.call("GET", &format!("/api/overview?{q}"), Some(ops), None).await.body["overview"].clone();

    // A write-off at the version read closes the exception.
    let open = all_pages(api, ops, &format!("/api/jobs/{job}/exceptions?category=UNMATCHED_PG&status=OPEN")).await;
    let target = open.iter().find(|e| e["suggestion"].is_null()).expect("an unmatched PG record without a suggestion");
    let id = target["id"].as_str().unwrap();
    let body = json!({ "action": "write_off", "note": "refunded to the customer", "version": target["version"] });
    let won = api.call("POST", &format!("/api/exceptions/{id}/resolve"), Some(ops), Some(body)).await;
    assert_eq!(won.status, 200, "{}", won.body);
    assert_eq!(won.body["status"], "RESOLVED");
    assert_eq!(won.body["resolution"]["action"], "write_off");
    assert_eq!(won.body["version"], target["version"].as_i64().unwrap() + 1);

    // Accepting a suggestion adds the suggested pair to the match set.
    let open_now = all_pages(api, ops, &format!("/api/jobs/{job}/exceptions?status=OPEN")).await;
    let suggested = open_now
        .iter()
        .find(|e| e["category"] == "UTR_MISSING" && !e["suggestion"].is_null())
        .expect("a pair below the threshold, with its suggestion");
    let r = api
        .call(
            "POST",
            &format!("/api/exceptions/{}/resolve", suggested["id"].as_str().unwrap()),
            Some(ops),
            Some(json!({ "action": "accept_suggestion", "note": "same payer, amount within tolerance" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let suggested_pair =
        (suggested["suggestion"]["txnId"].as_str().unwrap(), suggested["suggestion"]["bankRef"].as_str().unwrap());

    // A manual match pairs an unmatched PG record with an unmatched credit: both exceptions close.
    let pg_side = open_now
        .iter()
        .find(|e| e["category"] == "UNMATCHED_PG" && e["id"] != id)
        .expect("another unmatched PG record");
    let bank_side = open_now.iter().find(|e| e["category"] == "UNMATCHED_BANK").expect("an unmatched credit");
    let bank_ref = bank_side["bankRefs"][0].as_str().unwrap();
    let r = api
        .call(
            "POST",
            &format!("/api/exceptions/{}/resolve", pg_side["id"].as_str().unwrap()),
            Some(ops),
            Some(json!({ "action": "manual_match", "counterpart": bank_ref, "note": "payer confirmed by phone" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .call("GET", &format!("/api/jobs/{job}/exceptions?category=UNMATCHED_BANK&status=RESOLVED"), Some(ops), None)
        .await;
    let closed = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["bankRefs"][0] == bank_ref)
        .expect("the credit's exception closed too")
        .clone();
    assert_eq!(closed["resolution"]["with"], pg_side["id"]);
    let items = settlepaisa_tests::pipeline::results_items(&api.stack, job).await;
    let pairs: Vec<String> = items
        .iter()
        .filter(|i| settlepaisa_aws::dynamo::s(i, "item").unwrap().starts_with("R#"))
        .map(|i| settlepaisa_aws::dynamo::s(i, "rows").unwrap())
        .collect();
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert!(pairs.iter().any(|p| p.starts_with(&format!("{}\t{}\t", suggested_pair.0, suggested_pair.1))));
    assert!(pairs.iter().any(|p| p.starts_with(&format!("{}\t{bank_ref}\t", pg_side["txnIds"][0].as_str().unwrap()))));
    // The credit is taken: matching it again is refused.
    let another = open_now
        .iter()
        .filter(|e| e["category"] == "UNMATCHED_PG")
        .find(|e| e["id"] != id && e["id"] != pg_side["id"])
        .unwrap();
    let r = api
        .call(
            "POST",
            &format!("/api/exceptions/{}/resolve", another["id"].as_str().unwrap()),
            Some(ops),
            Some(json!({ "action": "manual_match", "counterpart": bank_ref, "note": "x" })),
        )
        .await;
    assert_seed_error(&r, 409);

    // Resolving again, or resolving the counterpart: 409.
    let again = api
        .call(
            "POST",
            &format!("/api/exceptions/{id}/resolve"),
            Some(ops),
            Some(json!({ "action": "write_off", "note": "again" })),
        )
        .await;
    assert_seed_error(&again, 409);

    // The KPI figures follow (asking past the warm cache).
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {ops}")),
        ("cache-control".to_string(), "no-cache".to_string()),
    ];
    let after =
        api.raw(&api.app, "GET", &format!("/api/overview?{q}"), &headers, vec![]).await.body["overview"].clone();
    let n = |v: &Value, path: &[&str]| path.iter().fold(v, |v, k| &v[*k]).as_i64().unwrap();
    assert_eq!(
        n(&after, &["exceptions", "resolved", "count"]),
        n(&before, &["exceptions", "resolved", "count"]) + 4,
        "before {before}\nafter {after}\nbank side {bank_side}"
    );
    assert_eq!(n(&after, &["exceptions", "open", "count"]), n(&before, &["exceptions", "open", "count"]) - 4);
    assert_eq!(n(&after, &["matched", "count"]), n(&before, &["matched", "count"]) + 2);
    let amount = suggested["pgAmountPaise"].as_i64().unwrap() + pg_side["pgAmountPaise"].as_i64().unwrap();
    assert_eq!(n(&after, &["matched", "amountPaise"]), n(&before, &["matched", "amountPaise"]) + amount);
    let reasons = api.cold();
    let r = api.raw(&reasons, "GET", &format!("/api/top-reasons?{q}"), &headers[..1], vec![]).await;
    let unmatched =
        r.body["reasons"].as_array().unwrap().iter().find(|x| x["category"] == "UNMATCHED_PG").unwrap().clone();
    assert_eq!(unmatched["resolved"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_200_with_every_dependency_and_503_when_one_does_not_answer() {
    let api = Api::start().await;
    for path in ["/health", "/health/recon", "/health/mock-pg", "/health/mock-bank"] {
        let r = api.call("GET", path, None, None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body["status"], "healthy");
        assert!(r.body["service"].as_str().unwrap().ends_with("-api"));
        let checks = r.body["checks"].as_object().unwrap();
        assert!(checks.len() >= 2 && checks.values().all(|c| c["status"] == "healthy"), "{path}: {}", r.body);
    }
    // The same functions pointed at an endpoint where nothing listens.
    let down = api.with_storage_down().await;
    let r = api.raw(&down, "GET", "/health/recon", &[], vec![]).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.body["status"], "unhealthy");
    assert_eq!(r.body["checks"]["jobsTable"]["status"], "unhealthy");
    assert!(r.body["checks"]["jobsTable"].get("error").is_none(), "the cause goes to the logs: {}", r.body);
}
