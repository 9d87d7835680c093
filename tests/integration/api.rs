//! The HTTP API on the local stack, fed through the pipeline (files dropped in S3, a job created
//! and matched through the API) and checked against the offline reconciliation of the same files.

use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_cli::recon_cmd::{self, ReconArgs};
use settlepaisa_tests::api::{assert_seed_error, Api};
use settlepaisa_tests::pipeline::{generated, ingest_all, IDLE};
use settlepaisa_tests::read_csv;
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
    let out = dir.join("offline");
    recon_cmd::run(&ReconArgs { pg: pg.to_path_buf(), bank: banks.to_vec(), out: out.clone(), format: None, template: vec![] })
        .unwrap();
    let mut by_category = BTreeMap::new();
    for row in read_csv(&out.join("exceptions.csv")) {
        *by_category.entry(row[1].clone()).or_insert(0) += 1;
    }
    (read_csv(&out.join("matches.csv")).len(), by_category)
}

/// Every page of a paginated GET.
async fn all_pages(api: &Api, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let r = api.call("GET", &url, Some(token), None).await;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return items,
        }
    }
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
    assert_eq!(p["inSettlement"]["count"], captured.len());
    assert_eq!(p["sentToBank"]["count"], captured.iter().filter(|r| !r[6].is_empty()).count());
    assert_eq!(p["credited"]["count"], matches);
    assert_eq!(p["otherStatuses"]["failed"]["count"], rows.iter().filter(|r| r[5] == "failed").count());

    let r = api.call("GET", &format!("/api/sources?{q}"), Some(ops), None).await;
    let sources = r.body["sources"].as_array().unwrap();
    let banks: BTreeSet<&str> = sources.iter().filter(|s| s["kind"] == "bank").map(|s| s["source"].as_str().unwrap()).collect();
    assert_eq!(banks, BTreeSet::from(["axis", "hdfc", "icici"]));
    let bank_matched: u64 = sources.iter().filter(|s| s["kind"] == "bank").map(|s| s["matched"].as_u64().unwrap()).sum();
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
    let unmatched = all_pages(api, ops, &format!("/api/jobs/{job}/exceptions?category=UNMATCHED_PG&status=OPEN&limit=7")).await;
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
    let r = api.call("POST", "/admin/seed", Some(&ops), Some(json!({ "count": 600, "startDate": day, "seed": 7 }))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let by_status: u64 = r.body["byStatus"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(by_status, 600);
    assert!(r.body["byMethod"]["UPI"].as_u64().unwrap() > r.body["byMethod"]["CARD"].as_u64().unwrap(), "the seed's method mix");
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let txns = all_pages(&api, &ops, &format!("/api/transactions?from={day}&to={day}&limit=500")).await;
    assert_eq!(txns.len(), 600, "every seeded transaction came through ingestion");

    let mut credits = 0;
    for bank in ["HDFC", "ICICI", "AXIS"] {
        let r = api.call("POST", "/admin/generate-file", Some(&ops), Some(json!({ "bank": bank, "date": day }))).await;
        assert_eq!(r.status, 202, "{}", r.body);
        credits += r.body["credits"].as_u64().unwrap();
    }
    assert_eq!(credits as usize, txns.iter().filter(|t| t["status"] == "captured").count(), "each captured txn settles through one bank");
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
    let hdfc = api.stack.clients.s3.get_object().bucket(bucket).key("incoming/hdfc/HDFC_20261101.csv").send().await.unwrap();
    let bytes = hdfc.body.collect().await.unwrap().into_bytes().to_vec();
    let r = api
        .call("POST", &format!("/api/jobs/{upload_job}/upload"), Some(&ops), Some(json!({ "fileName": "bank-drop.csv", "contentLength": bytes.len() })))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["key"], format!("jobs/{upload_job}/bank-drop.csv"));
    let status = put_presigned(r.body["uploadUrl"].as_str().unwrap(), &r.body["headers"], &bytes).await;
    assert_eq!(status, 200);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = api.call("GET", &format!("/api/jobs/{upload_job}"), Some(&ops), None).await;
    let uploads = r.body["uploads"].as_array().unwrap();
    assert_eq!(uploads.len(), 1, "{}", r.body);
    assert_eq!(uploads[0]["status"], "NORMALIZED");
    let file_id = uploads[0]["fileId"].as_str().unwrap().to_string();
    // Normalizing with the wrong bank's template rejects the file with a reason; the right one restores it.
    let r = api.call("POST", &format!("/api/jobs/{upload_job}/normalize"), Some(&ops), Some(json!({ "fileId": file_id, "template": "ICICI" }))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "REJECTED");
    assert!(r.body["error"].as_str().is_some_and(|e| !e.is_empty()));
    let r = api.call("POST", &format!("/api/jobs/{upload_job}/normalize"), Some(&ops), Some(json!({ "fileId": file_id, "template": "hdfc" }))).await;
    assert_eq!(r.body["status"], "NORMALIZED", "{}", r.body);
    assert_eq!(r.body["template"], "hdfc", "the template's own name, whatever the case asked");
    assert!(r.body["credits"].as_u64().unwrap() > 0);
    let r = api.call("POST", "/api/jobs/NO-SUCH-JOB/upload", Some(&ops), Some(json!({ "fileName": "x.csv", "contentLength": 10 }))).await;
    assert_seed_error(&r, 404);
    let r = api.call("POST", &format!("/api/jobs/{upload_job}/upload"), Some(&ops), Some(json!({ "fileName": "x.csv", "contentLength": 2u64 << 40 }))).await;
    assert_seed_error(&r, 400);
}

/// PUTs `body` to a presigned URL on the loopback emulator, with the signed headers.
async fn put_presigned(url: &str, headers: &Value, body: &[u8]) -> u16 {
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
