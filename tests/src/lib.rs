//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::Path;

/// Reads a CSV report into rows of fields (header dropped), honouring quotes.
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().skip(1).filter(|l| !l.is_empty()).map(split_csv_line).collect()
}

/// Splits one CSV line with RFC 4180 quoting.
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// What happened to one record: its outcome and its counterpart (or group), as truth.csv says it.
pub type Outcomes = BTreeMap<String, (String, String)>;

/// Outcomes as the recon reports tell them: matches, exceptions (a group's counterpart is its
/// sorted member list) and rejects.
pub fn outcomes_from_reports(dir: &Path) -> Outcomes {
    let mut out = Outcomes::new();
    let mut put = |record: &str, outcome: &str, counterpart: String| {
        let previous = out.insert(record.to_string(), (outcome.to_string(), counterpart));
        assert!(previous.is_none(), "{record} appears twice in the reports");
    };
    for row in read_csv(&dir.join("matches.csv")) {
        put(&row[0], "MATCHED", row[1].clone());
        // A bulk credit backs many transactions: its own outcome comes from settlements.csv.
        if row[5] != "settlement" {
            put(&row[1], "MATCHED", row[0].clone());
        }
    }
    if dir.join("settlements.csv").exists() {
        for row in read_csv(&dir.join("settlements.csv")) {
            let settlement = format!("settlement:{}", row[0]);
            if !row[2].is_empty() {
                put(&row[2], "SETTLEMENT_CREDIT", settlement.clone());
            }
            put(&settlement, &row[12], row[2].clone());
        }
        for row in read_csv(&dir.join("settlement_exceptions.csv")) {
            put(&format!("line:{}:{}:{}", row[0], row[1], row[2]), &row[2], String::new());
        }
    }
    for row in read_csv(&dir.join("exceptions.csv")) {
        let category = row[1].as_str();
        let members: Vec<&str> = row[2].split(';').chain(row[3].split(';')).filter(|m| !m.is_empty()).collect();
        match (category, members.as_slice()) {
            ("DUPLICATE_UTR", _) => {
                let mut sorted = members.clone();
                sorted.sort_unstable();
                for m in &members {
                    put(m, category, sorted.join(";"));
                }
            }
            (_, [a, b]) => {
                put(a, category, b.to_string());
                put(b, category, a.to_string());
            }
            (_, [a]) => put(a, category, String::new()),
            _ => panic!("unexpected exception row {row:?}"),
        }
    }
    for row in read_csv(&dir.join("rejects.csv")) {
        put(&format!("{}:{}", row[0], row[1]), "REJECTED", String::new());
    }
    out
}

/// truth.csv, with duplicate groups rewritten to their sorted member lists, and the outcomes the
/// reports do not list (withdrawals, non-captured transactions) counted apart.
pub fn outcomes_from_truth(path: &Path) -> (Outcomes, BTreeMap<String, usize>) {
    let rows = read_csv(path);
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r[1] == "DUPLICATE_UTR") {
        groups.entry(row[2].clone()).or_default().push(row[0].clone());
    }
    let mut out = Outcomes::new();
    let mut unlisted = BTreeMap::new();
    for row in rows {
        match row[1].as_str() {
            "WITHDRAWAL" | "NOT_CAPTURED" => *unlisted.entry(row[1].clone()).or_insert(0) += 1,
            "DUPLICATE_UTR" => {
                let mut members = groups[&row[2]].clone();
                members.sort_unstable();
                out.insert(row[0].clone(), (row[1].clone(), members.join(";")));
            }
            _ => {
                out.insert(row[0].clone(), (row[1].clone(), row[2].clone()));
            }
        }
    }
    (out, unlisted)
}

/// Runs `settlepaisa recon` on the files into `dir/offline`; returns that folder.
pub fn offline_reports(dir: &Path, pg: &Path, banks: &[std::path::PathBuf]) -> std::path::PathBuf {
    let out = dir.join("offline");
    settlepaisa_cli::recon_cmd::run(&settlepaisa_cli::recon_cmd::ReconArgs {
        pg: pg.to_path_buf(),
        bank: banks.to_vec(),
        out: out.clone(),
        format: None,
        template: vec![],
        settlement: vec![],
        fees: None,
    })
    .unwrap();
    out
}

pub mod bank_servers;

pub mod pipeline {
    //! Driving the local stack from tests: generated files, uploads, jobs, results.

    use settlepaisa_aws::dynamo::{query_all, s, Item};
    use settlepaisa_cli::gen_cmd::{self, GenArgs};
    use settlepaisa_cli::local::LocalStack;
    use settlepaisa_pipeline::job;
    use settlepaisa_pipeline::plan::{self, PlanRequest};
    use settlepaisa_pipeline::results::{exception_row, match_rows};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    pub const IDLE: Duration = Duration::from_secs(300);

    /// Generates a day of data; returns the PG export and the statements.
    pub fn generated(dir: &Path, txns: usize, seed: u64) -> (PathBuf, Vec<PathBuf>) {
        generated_days(dir, txns, seed, 1)
    }

    /// Generates captures spread over `days` from 2026-10-01.
    pub fn generated_days(dir: &Path, txns: usize, seed: u64, days: u32) -> (PathBuf, Vec<PathBuf>) {
        generated_with(&GenArgs::plain(txns, seed, days, dir.to_path_buf()))
    }

    /// Generates what `args` asks for into `args.out`; returns the PG export and the statements.
    pub fn generated_with(args: &GenArgs) -> (PathBuf, Vec<PathBuf>) {
        let dir = args.out.as_path();
        gen_cmd::run(args).unwrap();
        let mut banks: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                ["HDFC_", "ICICI_", "AXIS_"].iter().any(|b| p.file_name().unwrap().to_string_lossy().starts_with(b))
            })
            .collect();
        banks.sort();
        (dir.join("pg_transactions.csv"), banks)
    }

    /// The sample S3 event of `events/`, renamed (`ObjectCreated:Put`, `ObjectRemoved:…`) and
    /// pointed at an object of the local stack, with S3's `versionId` when given.
    pub fn s3_event(name: &str, bucket: &str, key: &str, version: Option<&str>) -> aws_lambda_events::s3::S3Event {
        let text =
            std::fs::read_to_string(settlepaisa_cli::local::workspace_root().join("events/ingest-file.json")).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["Records"][0]["eventName"] = name.into();
        let r = &mut v["Records"][0]["s3"];
        r["bucket"]["name"] = bucket.into();
        r["object"]["key"] = key.replace(' ', "+").into();
        match version {
            Some(version) => r["object"]["versionId"] = version.into(),
            None => {
                r["object"].as_object_mut().unwrap().remove("versionId");
            }
        }
        serde_json::from_value(v).unwrap()
    }

    pub async fn upload_bytes(stack: &LocalStack, key: &str, body: Vec<u8>) {
        let bucket = &stack.runner.ctx.resources.uploads_bucket;
        stack.clients.s3.put_object().bucket(bucket).key(key).body(body.into()).send().await.unwrap();
    }

    pub async fn upload(stack: &LocalStack, key: &str, path: &Path) {
        upload_bytes(stack, key, std::fs::read(path).unwrap()).await;
    }

    /// `incoming/<bank>/<name>` for a generated statement.
    pub fn bank_key(path: &Path) -> String {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bank = name.split('_').next().unwrap().to_lowercase();
        format!("incoming/{bank}/{name}")
    }

    /// Uploads the PG export and the statements and lets ingestion finish.
    pub async fn ingest_all(stack: &LocalStack, pg: &Path, banks: &[PathBuf]) {
        upload(stack, "incoming/pg/2026-10-01/pg_transactions.csv", pg).await;
        for b in banks {
            upload(stack, &bank_key(b), b).await;
        }
        stack.runner.run_until_idle(IDLE).await.unwrap();
    }

    /// Matches and exceptions as sorted rows: two are equal exactly when they are equal as
    /// multisets, so a row written twice fails a comparison.
    pub type Rows = (Vec<Vec<String>>, Vec<Vec<String>>);

    pub fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
        rows.sort_unstable();
        rows
    }

    /// Whether every row of `part` is in `all`, counting repeats.
    pub fn contains_all(all: &[Vec<String>], part: &[Vec<String>]) -> bool {
        let mut counts: std::collections::BTreeMap<&Vec<String>, usize> = std::collections::BTreeMap::new();
        for r in all {
            *counts.entry(r).or_default() += 1;
        }
        part.iter().all(|r| counts.get_mut(r).is_some_and(|c| c.checked_sub(1).map(|n| *c = n).is_some()))
    }

    /// Asserts a job's rows are the offline run's, naming the rows only one side has (a bare `==`
    /// on thousands of rows says nothing about what differs).
    #[track_caller]
    pub fn assert_same_rows(job: &Rows, offline: &Rows) {
        fn only_in(a: &[Vec<String>], b: &[Vec<String>]) -> Vec<Vec<String>> {
            let mut left: std::collections::BTreeMap<&Vec<String>, usize> = std::collections::BTreeMap::new();
            for r in b {
                *left.entry(r).or_default() += 1;
            }
            a.iter()
                .filter(|r| match left.get_mut(*r) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        false
                    }
                    _ => true,
                })
                .cloned()
                .collect()
        }
        for (what, j, o) in [("matches", &job.0, &offline.0), ("exceptions", &job.1, &offline.1)] {
            let (extra, missing) = (only_in(j, o), only_in(o, j));
            assert!(
                extra.is_empty() && missing.is_empty(),
                "{what}: job {} rows, offline {}; only in the job ({}): {:?}; only offline ({}): {:?}",
                j.len(),
                o.len(),
                extra.len(),
                &extra[..extra.len().min(20)],
                missing.len(),
                &missing[..missing.len().min(20)]
            );
        }
    }

    /// The job's matches and the engine's exceptions, as rows of `matches.csv` and
    /// `exceptions.csv` (the settlement step's exceptions are checked against its own reports).
    pub async fn job_results(stack: &LocalStack, job_id: &str) -> Rows {
        use settlepaisa_recon::exception_category::ExceptionCategory;
        let items = results_items(stack, job_id).await;
        let matches = items.iter().filter(|i| s(i, "item").unwrap().starts_with("M#")).flat_map(match_rows).collect();
        let engine = |i: &&Item| {
            let category = s(i, "category").and_then(|c| ExceptionCategory::parse(&c));
            matches!(category, Some(ExceptionCategory::Recon(_)))
        };
        let exceptions = items
            .iter()
            .filter(|i| s(i, "item").unwrap().starts_with("E#"))
            .filter(engine)
            .map(|i| exception_row(i).to_vec())
            .collect();
        (sorted(matches), sorted(exceptions))
    }

    /// The offline `settlepaisa recon` of the same files, as [`Rows`].
    pub fn offline_rows(dir: &Path, pg: &Path, banks: &[PathBuf]) -> Rows {
        let out = super::offline_reports(dir, pg, banks);
        (sorted(super::read_csv(&out.join("matches.csv"))), sorted(super::read_csv(&out.join("exceptions.csv"))))
    }

    /// Every item of a job in the results table: its 16 partitions.
    pub async fn results_items(stack: &LocalStack, job_id: &str) -> Vec<Item> {
        let ctx = &stack.runner.ctx;
        let mut items = Vec::new();
        for p in 0..settlepaisa_pipeline::results::RESULT_PARTITIONS {
            let part = settlepaisa_pipeline::results::job_part(job_id, p);
            items.extend(
                query_all(&ctx.clients.dynamodb, &ctx.resources.results_table, None, "job_part", &part).await.unwrap(),
            );
        }
        items
    }

    /// Plans a job over 2026-10-01 and runs the pipeline until it is idle.
    pub async fn run_job(stack: &LocalStack, job_id: &str, shards: u32) -> job::Job {
        let ctx = &stack.runner.ctx;
        let req = PlanRequest {
            job_id: Some(job_id.into()),
            from: "2026-10-01".into(),
            to: "2026-10-01".into(),
            shards: Some(shards),
        };
        assert!(plan::handle(ctx, req).await.unwrap().created);
        stack.runner.run_until_idle(IDLE).await.unwrap();
        job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id).await.unwrap().unwrap()
    }

    /// The transaction ids the transactions table's day pages hold for files that count (a
    /// test-only scan), sorted: a row paged twice shows twice.
    pub async fn listed_txn_ids(stack: &LocalStack) -> Vec<String> {
        let ctx = &stack.runner.ctx;
        let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.transactions_table);
        let mut pages = Vec::new();
        let mut start = None;
        loop {
            let out = db.scan().table_name(table).set_exclusive_start_key(start).send().await.unwrap();
            for item in out.items.unwrap_or_default() {
                let page = settlepaisa_store::txn_pages::Page::from_item(&item).unwrap();
                if page.pk.starts_with("T#") {
                    pages.push(page);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        let files = pages.iter().map(|p| p.file_id.clone()).collect();
        let counting =
            settlepaisa_store::file_record::that_count(db, &ctx.resources.files_table, &files).await.unwrap();
        let mut ids: Vec<String> = pages
            .iter()
            .filter(|p| counting.contains(&p.file_id))
            .flat_map(|p| p.shown().unwrap().into_iter().map(|t| t.txn_id.to_string()).collect::<Vec<_>>())
            .collect();
        ids.sort();
        ids
    }

    /// Items in a table (a test-only scan).
    pub async fn count_items(stack: &LocalStack, table: &str) -> i32 {
        stack
            .clients
            .dynamodb
            .scan()
            .table_name(table)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .send()
            .await
            .unwrap()
            .count
    }
}

pub mod api {
    //! Calling the HTTP API in-process (no socket), through the local gateway, the authorizer
    //! and the same handlers the Lambda functions run.

    use axum::body::Body;
    use axum::http::{HeaderMap, Request, StatusCode};
    use axum::Router;
    use serde_json::Value;
    use settlepaisa_auth::{AuthConfig, Role};
    use settlepaisa_cli::local::LocalStack;
    use tower::ServiceExt;

    pub struct Reply {
        pub status: StatusCode,
        pub headers: HeaderMap,
        pub body: Value,
    }

    pub struct Api {
        pub stack: LocalStack,
        pub ctx: &'static settlepaisa_pipeline::Context,
        pub auth: AuthConfig,
        pub app: Router,
    }

    pub fn auth_config() -> AuthConfig {
        AuthConfig::from_lookup(&|k| {
            (k == "JWT_SECRET").then(|| settlepaisa_auth::token::LOCAL_DEVELOPMENT_SECRET.to_string())
        })
        .unwrap()
    }

    /// Standard Webhooks headers for `body` (as `call_with` sends it: `Value::to_string`), signed
    /// now with the local stack's PG key.
    pub fn pg_webhook_headers(body: &Value) -> [(&'static str, String); 3] {
        let bytes = body.to_string().into_bytes();
        let id = body["id"].as_str().unwrap_or_default().to_string();
        let keys =
            settlepaisa_pg_events::signature::parse_keys(settlepaisa_pg_events::signature::LOCAL_DEVELOPMENT_KEY)
                .expect("the local key parses");
        let ts = now() as i64;
        let signature = settlepaisa_pg_events::signature::sign(&keys[0], &id, ts, &bytes);
        [("webhook-id", id), ("webhook-timestamp", ts.to_string()), ("webhook-signature", signature)]
    }

    pub fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    /// A day of `txns` generated transactions captured `days_ago` (IST) behind the API:
    /// ingested, reconciled by job `job_id`, the generated merchants imported. The day is returned.
    pub async fn reconciled_days_ago(
        dir: &std::path::Path,
        txns: usize,
        days_ago: i32,
        job_id: &str,
    ) -> (Api, settlepaisa_recon::date::Date) {
        use settlepaisa_cli::gen_cmd::GenArgs;
        let day = settlepaisa_http::time_filter::today().add_days(-days_ago);
        let args = GenArgs { start: day.to_string(), ..GenArgs::plain(txns, 7, 1, dir.to_path_buf()) };
        let (pg, banks) = crate::pipeline::generated_with(&args);
        let api = Api::start().await;
        let ctx = api.ctx;
        let text = std::fs::read_to_string(dir.join("merchants.csv")).unwrap();
        let merchants = settlepaisa_payout::merchant::parse_merchants(&text).unwrap();
        settlepaisa_store::merchants::put_merchants(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &merchants)
            .await
            .unwrap();
        crate::pipeline::ingest_all(&api.stack, &pg, &banks).await;
        let req = settlepaisa_pipeline::job::PlanRequest {
            job_id: Some(job_id.into()),
            from: day.to_string(),
            to: day.to_string(),
            shards: Some(2),
        };
        assert!(settlepaisa_pipeline::plan::handle(ctx, req).await.unwrap().created);
        api.stack.runner.run_until_idle(crate::pipeline::IDLE).await.unwrap();
        (api, day)
    }

    impl Api {
        /// The API with no maker-checker gating: the tests of each route's own behaviour apply
        /// changes directly. `tests/integration/approvals.rs` uses [`Api::start_gated`].
        pub async fn start() -> Api {
            let api = Api::start_gated().await;
            let ctx = api.ctx;
            let none = settlepaisa_store::approvals::none_gated();
            settlepaisa_store::approvals::seed_rules(&ctx.clients.dynamodb, &ctx.resources.approvals_table, &none)
                .await
                .unwrap();
            api
        }

        /// Every page of a cursor-paginated GET (`items`, `nextCursor`), each asserted 200.
        pub async fn all_pages(&self, token: &str, path: &str) -> Vec<Value> {
            let mut items = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let sep = if path.contains('?') { '&' } else { '?' };
                let url = match &cursor {
                    Some(c) => format!("{path}{sep}cursor={c}"),
                    None => path.to_string(),
                };
                let r = self.call("GET", &url, Some(token), None).await;
                assert_eq!(r.status, 200, "{url}: {}", r.body);
                items.extend(r.body["items"].as_array().unwrap().iter().cloned());
                match r.body["nextCursor"].as_str() {
                    Some(c) => cursor = Some(c.to_string()),
                    None => return items,
                }
            }
        }

        /// The API with production's maker-checker rules.
        pub async fn start_gated() -> Api {
            let stack = LocalStack::start(None).await.unwrap();
            let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(stack.runner.ctx.clone()));
            let auth = auth_config();
            let app = settlepaisa_cli::local::api::router(ctx, auth.clone());
            Api { stack, ctx, auth, app }
        }

        /// The same gateway and functions with every AWS call sent to a loopback port where
        /// nothing listens: each table, bucket and queue down.
        pub async fn with_storage_down(&self) -> Router {
            let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let endpoint = format!("http://{}", dead.local_addr().unwrap());
            drop(dead);
            let clients = settlepaisa_aws::Clients::for_endpoint(&endpoint, "ap-south-1").await;
            let env = self.stack.runner.deployed.environment.clone();
            let ctx = settlepaisa_pipeline::Context::new(clients, &|k| env.get(k).cloned()).unwrap();
            let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(ctx));
            settlepaisa_cli::local::api::router(ctx, self.auth.clone())
        }

        /// A fresh gateway and functions: new warm-function caches, as after a cold start.
        pub fn cold(&self) -> Router {
            settlepaisa_cli::local::api::router(self.ctx, self.auth.clone())
        }

        pub fn token(&self, role: Role, merchant: Option<&str>) -> String {
            self.auth.mint(&format!("{}-user", role.as_str()), role, merchant, now(), 3600)
        }

        pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
            self.call_with(method, path, token, body, &[]).await
        }

        /// As [`Api::call`], with more headers (an `Idempotency-Key`).
        pub async fn call_with(
            &self,
            method: &str,
            path: &str,
            token: Option<&str>,
            body: Option<Value>,
            extra: &[(&str, &str)],
        ) -> Reply {
            let mut headers: Vec<(String, String)> =
                extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            if let Some(t) = token {
                headers.push(("authorization".to_string(), format!("Bearer {t}")));
            }
            let bytes = body.map(|b| b.to_string().into_bytes());
            if bytes.is_some() {
                headers.push(("content-type".to_string(), "application/json".to_string()));
            }
            self.raw(&self.app, method, path, &headers, bytes.unwrap_or_default()).await
        }

        pub async fn raw(
            &self,
            app: &Router,
            method: &str,
            path: &str,
            headers: &[(String, String)],
            body: Vec<u8>,
        ) -> Reply {
            let mut req = Request::builder().method(method).uri(path);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            let response = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            let body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
            Reply { status, headers, body }
        }
    }

    /// Asserts the seed's error format, with a request id.
    pub fn assert_seed_error(r: &Reply, status: u16) {
        assert_eq!(r.status.as_u16(), status, "{}", r.body);
        let e = &r.body["error"];
        for field in ["code", "message", "timestamp", "requestId"] {
            assert!(e[field].as_str().is_some_and(|v| !v.is_empty()), "error.{field} missing in {}", r.body);
        }
        assert!(e.get("details").is_some() && e["metadata"].is_object(), "{}", r.body);
        assert_eq!(r.headers.get("x-request-id").and_then(|v| v.to_str().ok()), e["requestId"].as_str());
    }
}
