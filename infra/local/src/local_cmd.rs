//! `settlepaisa local up|demo` and `settlepaisa invoke`: the pipeline on the emulator.

use crate::error::CliError;
use crate::gen_cmd::{self, GenArgs};
use crate::local::LocalStack;
use settlepaisa_aws::dynamo::{n, query_all, s};
use settlepaisa_pipeline::job;
use settlepaisa_pipeline::plan::{self, PlanRequest};
use settlepaisa_pipeline::{chunks, claims, finalize, ingest, redrive, renormalize, worker};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub enum LocalCommand {
    /// Start the emulator, create the template's resources, serve the HTTP API on one port and
    /// deliver events until stopped.
    Up {
        /// Use an emulator already running there instead of starting one.
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: Option<String>,
        /// Where the HTTP API listens (loopback only).
        #[arg(long, default_value = "127.0.0.1:3000")]
        api: std::net::SocketAddr,
        /// Serve the API only and leave S3 and SQS events undelivered (for contract tests, which
        /// should not wait on the ingestion their requests start).
        #[arg(long)]
        no_events: bool,
        /// Serve without the stage's per-route throttling (contract and load tests, which send
        /// faster than any route's limit); per-user limits follow `UserRateLimits`
        /// (`SETTLEPAISA_PARAMETER_UserRateLimits=off`).
        #[arg(long)]
        no_throttling: bool,
    },
    /// Generate a day of data, drop it into the uploads bucket, run a job, print its summary.
    Demo {
        #[arg(long, default_value_t = 10_000)]
        txns: usize,
        #[arg(long, default_value_t = 16)]
        shards: u32,
        #[arg(long, default_value = "out/local-demo")]
        dir: PathBuf,
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: Option<String>,
        /// Read PG exports larger than this in parallel chunks of about this size (the
        /// template's `IngestChunkBytes`, 64 MiB, when absent): to run `ingest-chunk` on a small day.
        #[arg(long)]
        chunk_bytes: Option<u64>,
        /// Merchants the day's transactions are spread over (each with a settlement plan).
        #[arg(long, default_value_t = 25)]
        merchants: u32,
    },
    /// Write the sample events of `events/` naming what a running local stack holds (a job, one
    /// of its exceptions, its files, fresh tokens), for `settlepaisa invoke`, `cargo lambda
    /// invoke` or `sam local invoke -e`.
    Events {
        /// The running local stack (`settlepaisa local up` prints it).
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: String,
        /// The job the events name; the newest when absent.
        #[arg(long)]
        job: Option<String>,
        #[arg(long, default_value = "out/events")]
        out: PathBuf,
    },
    /// Print the env file for `sam local … --env-vars` (infra/sam-local-env.json is this, for an
    /// emulator at the default endpoint).
    SamEnv {
        /// The emulator as SAM's containers reach it.
        #[arg(long, default_value = crate::local::sam_env::CONTAINER_ENDPOINT)]
        endpoint: String,
    },
}

#[derive(clap::Args)]
pub struct InvokeArgs {
    /// The function: its binary (`ingest-file`) or logical id (`IngestFileFunction`).
    pub function: String,
    /// The event, as in `events/`.
    #[arg(long)]
    pub event: PathBuf,
    /// The running local stack (`settlepaisa local up` prints it).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: String,
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| CliError::Usage(e.to_string()))
}

fn fail(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn run(cmd: &LocalCommand) -> Result<(), CliError> {
    runtime()?.block_on(async {
        match cmd {
            LocalCommand::Up { endpoint, api, no_events, no_throttling } => {
                up(endpoint.clone(), *api, *no_events, *no_throttling).await
            }
            LocalCommand::Demo { txns, shards, dir, endpoint, chunk_bytes, merchants } => {
                demo(*txns, *shards, dir, endpoint.clone(), *chunk_bytes, *merchants).await
            }
            LocalCommand::Events { endpoint, job, out } => {
                let stack = LocalStack::start(Some(endpoint.clone())).await.map_err(fail)?;
                let from = crate::local::workspace_root().join("events");
                let written = crate::sample_events::write(&stack, job.as_deref(), &from, out).await?;
                println!("{} events in {} (tokens valid for an hour); for example:", written.len(), out.display());
                println!("  settlepaisa invoke get-job --event {}/get-job.json", out.display());
                Ok(())
            }
            LocalCommand::SamEnv { endpoint } => {
                let root = crate::local::workspace_root();
                let spec = crate::local::template::load(&root.join("infra/template.yaml")).map_err(fail)?;
                let file = crate::local::sam_env::env_file(&spec, crate::local::STACK, crate::local::REGION, endpoint);
                println!("{}", serde_json::to_string_pretty(&file).map_err(fail)?);
                Ok(())
            }
        }
    })
}

async fn up(
    endpoint: Option<String>,
    api: std::net::SocketAddr,
    no_events: bool,
    no_throttling: bool,
) -> Result<(), CliError> {
    if !api.ip().is_loopback() {
        return Err(CliError::Usage(format!("--api {api}: the local stack listens on loopback only")));
    }
    let stack = LocalStack::start(endpoint).await.map_err(fail)?;
    println!("local stack up; in another shell:");
    println!(
        "  export AWS_ENDPOINT_URL={} AWS_REGION={} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test",
        stack.endpoint,
        crate::local::REGION
    );
    for (k, v) in &stack.runner.deployed.environment {
        println!("  {k}={v}");
    }
    let listener =
        tokio::net::TcpListener::bind(api).await.map_err(|e| fail(format!("cannot listen on {api}: {e}")))?;
    let api = listener.local_addr().map_err(fail)?;
    // The mock PG delivers its webhooks to this API, as a deployed one does to the stack's URL.
    let mut ctx = stack.runner.ctx.clone();
    ctx.pg_webhook_url = Some(format!("http://{api}/webhooks/pg"));
    let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(ctx));
    let auth = crate::token_cmd::local_auth_config();
    let app = if no_throttling {
        crate::local::api::router(ctx, auth)
    } else {
        crate::local::api::throttled_router(ctx, auth, &stack.spec)
    };
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("settlepaisa: the HTTP API stopped: {e}");
        }
    });
    println!("HTTP API on http://{api} (token: `settlepaisa token --role sp-ops`; spec: docs/openapi.yaml)");
    if no_events {
        println!("not delivering events (--no-events); Ctrl-C stops");
        return tokio::signal::ctrl_c().await.map_err(fail);
    }
    println!("delivering S3 and SQS events; Ctrl-C stops");
    loop {
        if stack.runner.pump_once().await.map_err(fail)? == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The keys `settlepaisa gen`'s files go to in the uploads bucket: the PG export under
/// `incoming/pg/`, each statement under its bank's `incoming/{bank}/`.
pub fn generated_uploads(dir: &Path) -> Result<Vec<(String, PathBuf)>, CliError> {
    let mut uploads = vec![("incoming/pg/2026-10-01/pg_transactions.csv".to_string(), dir.join("pg_transactions.csv"))];
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if let Some(bank) = ["HDFC", "ICICI", "AXIS"].iter().find(|b| name.starts_with(*b)) {
            uploads.push((format!("incoming/{}/{name}", bank.to_lowercase()), path));
        }
    }
    Ok(uploads)
}

async fn demo(
    txns: usize,
    shards: u32,
    dir: &Path,
    endpoint: Option<String>,
    chunk_bytes: Option<u64>,
    merchants: u32,
) -> Result<(), CliError> {
    let started = Instant::now();
    let step = |what: &str| println!("[{:>6.1}s] {what}", started.elapsed().as_secs_f64());
    step("starting the local stack (moto, resources from infra/template.yaml)");
    let kept = endpoint.is_some();
    let mut stack = LocalStack::start(endpoint).await.map_err(fail)?;
    if let Some(bytes) = chunk_bytes {
        stack.runner.ctx.chunk_bytes = bytes;
    }
    let _ = std::fs::remove_dir_all(dir);
    gen_cmd::run(&GenArgs { merchants, ..GenArgs::plain(txns, 1, 1, dir.to_path_buf()) })?;
    step(&format!("generated {txns} PG transactions and three bank statements in {}", dir.display()));
    let ctx = &stack.runner.ctx;
    for (key, path) in &generated_uploads(dir)? {
        let body = std::fs::read(path).map_err(fail)?;
        ctx.clients
            .s3
            .put_object()
            .bucket(&ctx.resources.uploads_bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(fail)?;
        step(&format!("uploaded s3://{}/{key}", ctx.resources.uploads_bucket));
    }
    stack.runner.run_until_idle(Duration::from_secs(3_600)).await.map_err(fail)?;
    for kind in ["pg", "bank"] {
        let items =
            query_all(&ctx.clients.dynamodb, &ctx.resources.files_table, Some("by-kind-last-date"), "kind", kind)
                .await
                .map_err(fail)?;
        for f in items.iter().map(settlepaisa_pipeline::file_record::FileRecord::from_item) {
            let f = f.map_err(fail)?;
            step(&format!(
                "ingest-file {}: {} ({} lines, {} rows, {} rejected, layout {})",
                f.key,
                f.status.map(|s| s.as_str()).unwrap_or("?"),
                f.lines_read,
                f.data_rows,
                f.rejected_rows,
                f.layout.as_deref().unwrap_or(kind)
            ));
        }
    }
    let job_id = format!("JOB-DEMO-{}", std::process::id());
    let req = PlanRequest {
        job_id: Some(job_id.clone()),
        from: "2026-10-01".into(),
        to: "2026-10-01".into(),
        shards: Some(shards),
    };
    let planned = plan::handle(ctx, req).await.map_err(fail)?;
    step(&format!("job {job_id}: {} files, {shards} UTR shards queued", planned.job.files.len()));
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last = String::new();
    loop {
        let handled = stack.runner.pump_once().await.map_err(fail)?;
        let (j, shards_state) = job::get_with_shards(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &job_id)
            .await
            .map_err(fail)?
            .ok_or_else(|| fail("job vanished"))?;
        let done = shards_state.iter().filter(|s| s.status == "DONE").count();
        let line = format!(
            "job {}: {done}/{} shards done (incl. residual), status {}",
            j.job_id,
            shards_state.len(),
            j.status
        );
        if line != last {
            step(&line);
            last = line;
        }
        if j.status == "COMPLETED" || j.status == "FAILED" {
            print_summary(&stack, &j).await?;
            if j.status == "COMPLETED" {
                print_settlements(&stack, dir).await?;
                print_api_view(&stack).await?;
                print_sample_events(&stack, &j.job_id, kept).await?;
            }
            return if j.status == "COMPLETED" { Ok(()) } else { Err(fail(j.error.unwrap_or_default())) };
        }
        if handled == 0 {
            if Instant::now() > deadline {
                return Err(fail("the job did not finish within 10 minutes"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The sample events rewritten to name this job, when the stack outlives the demo (an emulator
/// given with `--endpoint`, as `local up` runs it); else how to get them.
async fn print_sample_events(stack: &LocalStack, job_id: &str, kept: bool) -> Result<(), CliError> {
    if !kept {
        println!("\nsample events naming this job: run `settlepaisa local up`, then `settlepaisa local demo --endpoint <its endpoint>`");
        return Ok(());
    }
    let out = PathBuf::from("out/events");
    let from = crate::local::workspace_root().join("events");
    // The demo has succeeded; events it cannot write are a note, not a failure.
    match crate::sample_events::write(stack, Some(job_id), &from, &out).await {
        Ok(written) => {
            println!(
                "\n{} sample events naming job {job_id} in {}/ (tokens valid for an hour):",
                written.len(),
                out.display()
            );
            println!(
                "  settlepaisa invoke get-job --event {}/get-job.json --endpoint {}",
                out.display(),
                stack.endpoint
            );
        }
        Err(e) => println!("\nno sample events written: {e}"),
    }
    Ok(())
}

/// The day's money paid out: the cycle over the business days after the demo's day, and the
/// bank's answer.
async fn print_settlements(stack: &LocalStack, dir: &Path) -> Result<(), CliError> {
    let d = |s: &str| settlepaisa_recon::date::Date::parse_iso(s).ok_or_else(|| fail(format!("{s} is not a date")));
    let before = write_units();
    let disputes = crate::dispute_demo::run(stack).await?;
    println!(
        "\ndisputes: {} opened from {} ({} paise debited at onset, effective today: the first settlement run from today deducts them)",
        disputes.disputes.len(),
        disputes.key,
        disputes.debits_paise
    );
    println!(
        "  {} changes (the file's {} rows, a document and a contest); DynamoDB write units {} (indexes included)",
        disputes.changes,
        disputes.changes - 2,
        write_units() - before
    );
    let before = write_units();
    let started = Instant::now();
    let out = crate::settle_demo::run(stack, dir, d("2026-10-02")?, d("2026-10-06")?).await?;
    let took = started.elapsed();
    let units = write_units() - before;
    let net: i64 = out.batches.iter().map(|b| b.totals.net.0).sum();
    let txns: u64 = out.batches.iter().map(|b| b.totals.txns).sum();
    println!("\nsettle-cycle 2026-10-02..2026-10-06 (the schedule's runs; merchants from merchants.csv):");
    println!("  {} batches, {txns} transactions, net {net} paise", out.batches.len());
    println!(
        "  {:.1} s for the five runs and the bank's answer; DynamoDB write units {units} (indexes included), {:.4} per settled transaction",
        took.as_secs_f64(),
        units as f64 / txns.max(1) as f64
    );
    for (day, batches, took, heap) in &out.runs {
        println!(
            "  settle-cycle {day}: {batches} batches, {:.1} s against the emulator, heap peak {:.1} MiB",
            took.as_secs_f64(),
            *heap as f64 / (1024.0 * 1024.0)
        );
    }
    for f in &out.payout_files {
        println!("  payout file s3://{}/{f}", stack.runner.ctx.resources.artifacts_bucket);
    }
    if let Some(key) = &out.response_key {
        let count =
            |s: settlepaisa_payout::payout_response::BatchStatus| out.batches.iter().filter(|b| b.status == s).count();
        use settlepaisa_payout::payout_response::BatchStatus::{Credited, Failed};
        println!(
            "  bank response {key}: {} CREDITED, {} FAILED (paid again next cycle)",
            count(Credited),
            count(Failed)
        );
    }
    Ok(())
}

/// What the dashboard shows for the demo day, through the HTTP API (the same gateway, authorizer
/// and handlers `local up` serves).
async fn print_api_view(stack: &LocalStack) -> Result<(), CliError> {
    println!("\nthrough the HTTP API (an sp-ops token; sp-finance for settlements):");
    for path in [
        "/api/overview?from=2026-10-01&to=2026-10-03",
        "/api/top-reasons?from=2026-10-01&to=2026-10-03",
        "/api/pipeline?from=2026-10-01&to=2026-10-01",
        "/api/settlements?from=2026-10-01&to=2026-10-06&limit=500",
    ] {
        // Settlements are sp-finance's to read (settlements:read); the rest sp-ops'.
        let role = if path.starts_with("/api/settlements") {
            settlepaisa_auth::Role::SpFinance
        } else {
            settlepaisa_auth::Role::SpOps
        };
        let body = stack.call_api_as(role, "demo", "GET", path, None).await.map_err(fail)?;
        if let Some(o) = body.get("overview") {
            println!(
                "  GET {path}: {} PG captured, {} matched ({}), {} exceptions open",
                o["pgTransactions"]["count"],
                o["matched"]["count"],
                o["matchRate"]["display"].as_str().unwrap_or(""),
                o["exceptions"]["open"]["count"]
            );
            let d = &o["disputes"];
            println!(
                "  GET {path}: disputes {} open ({} paise at risk, {} due within 24 h), {} won, {} lost",
                d["open"], d["amountAtRiskPaise"], d["dueWithin24h"], d["won"], d["lost"]
            );
        }
        if let Some(p) = body.get("pipeline") {
            println!(
                "  GET {path}: captured {}, in settlement {}, sent to bank {}, credited {}",
                p["captured"]["count"], p["inSettlement"]["count"], p["sentToBank"]["count"], p["credited"]["count"]
            );
        }
        if let Some(list) = body.get("settlements").and_then(|r| r.as_array()) {
            println!("  GET {path}: {} settlements", list.len());
        }
        if let Some(reasons) = body.get("reasons").and_then(|r| r.as_array()) {
            let top: Vec<String> =
                reasons.iter().map(|r| format!("{} {}", r["category"].as_str().unwrap_or(""), r["open"])).collect();
            println!("  GET {path}: {}", top.join(", "));
        }
    }
    Ok(())
}

/// DynamoDB write units so far, tables and indexes.
fn write_units() -> u64 {
    settlepaisa_aws::requests::snapshot()
        .iter()
        .filter(|(op, _)| WRITES.contains(op))
        .map(|(_, c)| c.units + c.index_units)
        .sum()
}

/// The DynamoDB operations whose units are write units.
const WRITES: [&str; 4] =
    ["dynamodb.BatchWriteItem", "dynamodb.PutItem", "dynamodb.UpdateItem", "dynamodb.TransactWriteItems"];

async fn print_summary(stack: &LocalStack, j: &job::Job) -> Result<(), CliError> {
    let ctx = &stack.runner.ctx;
    println!("\njob {} {}", j.job_id, j.status);
    if let Some(summary) = &j.summary {
        let k = &summary["kpi"];
        println!(
            "  PG captured {}  bank credits {}  matched {} ({} paise)",
            k["pg_count"], k["bank_count"], k["matched_count"], k["matched_amount_paise"]
        );
        if let Some(ex) = k["exceptions"].as_object() {
            for (cat, x) in ex {
                println!("  {cat:<16} {:>6} exceptions  Σ bank − PG {:>12} paise", x["count"], x["amount_delta_paise"]);
            }
        }
    }
    println!("\nKPI items (KPI table, day {}):", j.from);
    let items = query_all(&ctx.clients.dynamodb, &ctx.resources.kpi_table, None, "day", &j.from).await.map_err(fail)?;
    // The day's PG-rows marker (txn_days) is not a KPI.
    for i in items.iter().filter(|i| s(i, "dimension").as_deref() != Some(settlepaisa_pipeline::txn_days::DIMENSION)) {
        println!(
            "  {:<18} pg {:>6}  matched {:>6}  amount {:>14} paise",
            s(i, "dimension").unwrap_or_default(),
            n(i, "pg_count").unwrap_or(0),
            n(i, "matched_count").unwrap_or(0),
            n(i, "matched_amount_paise").unwrap_or(0)
        );
    }
    let counts = settlepaisa_aws::requests::snapshot();
    println!(
        "\nAWS requests made by the pipeline (units: DynamoDB table write/read units, SQS messages, S3 bytes; \
         index units: DynamoDB global secondary index write units):"
    );
    let (mut table_units, mut index_units) = (0, 0);
    for (op, c) in &counts {
        println!("  {op:<28} {:>8} requests  {:>12} units  {:>10} index units", c.requests, c.units, c.index_units);
        if WRITES.contains(op) {
            (table_units, index_units) = (table_units + c.units, index_units + c.index_units);
        }
    }
    println!("  DynamoDB write units: {table_units} table + {index_units} index = {}", table_units + index_units);
    println!("\nDynamoDB write units by table (puts and batch writes):");
    let writes = settlepaisa_aws::requests::table_writes();
    for (logical, physical) in &stack.runner.deployed.tables {
        if let Some(w) = writes.get(physical) {
            println!("  {logical:<20} {:>10} table  {:>10} index", w.table, w.indexes);
        }
    }
    println!(
        "\nfunction invocations (handler time against the emulator; the largest invocation's time and heap \
         above the process's, to set against the template's Timeout and MemorySize):"
    );
    for (binary, i) in stack.runner.invocations() {
        println!(
            "  {binary:<14} {:>5} invocations  {:>8.2} s  longest {:>7.2} s  heap peak {:>7.1} MiB",
            i.count,
            i.total.as_secs_f64(),
            i.longest.as_secs_f64(),
            i.heap_peak as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(())
}

pub fn invoke(args: &InvokeArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.event).map_err(crate::error::io_err(&args.event))?;
    runtime()?.block_on(async {
        let stack = LocalStack::start(Some(args.endpoint.clone())).await.map_err(fail)?;
        let out = invoke_event(&stack, &args.function, &text)
            .await
            .map_err(|e| fail(format!("{}: {e}", args.event.display())))?;
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        Ok(())
    })
}

/// Runs `function` (its binary or logical id) on the event `text` against `stack`, as Lambda
/// would; an HTTP function's answer is `{statusCode, body}`.
pub async fn invoke_event(stack: &LocalStack, function: &str, text: &str) -> Result<serde_json::Value, CliError> {
    let binary = stack
        .spec
        .functions
        .iter()
        .find(|f| f.binary == function || f.logical == function)
        .map(|f| f.binary.clone())
        .ok_or_else(|| fail(format!("no function `{function}` in infra/template.yaml")))?;
    let ctx = &stack.runner.ctx;
    let bad = |e: serde_json::Error| fail(format!("not a {binary} event: {e}"));
    let out = match binary.as_str() {
        "ingest-file" => {
            serde_json::to_value(ingest::handle(ctx, serde_json::from_str(text).map_err(bad)?).await.map_err(fail)?)
        }
        "plan-match" => {
            let event: serde_json::Value = serde_json::from_str(text).map_err(bad)?;
            if event.get("Records").is_some() {
                serde_json::to_value(plan::handle_queued(ctx, serde_json::from_value(event).map_err(bad)?).await)
            } else {
                serde_json::to_value(
                    plan::handle(ctx, serde_json::from_value(event).map_err(bad)?).await.map_err(fail)?,
                )
            }
        }
        "redrive-ingest" => {
            serde_json::to_value(redrive::handle(ctx, serde_json::from_str(text).map_err(bad)?).await.map_err(fail)?)
        }
        "match-shard" => serde_json::to_value(worker::handle(ctx, serde_json::from_str(text).map_err(bad)?).await),
        "finalize-job" => serde_json::to_value(finalize::handle(ctx, serde_json::from_str(text).map_err(bad)?).await),
        "ingest-chunk" => serde_json::to_value(chunks::handle(ctx, serde_json::from_str(text).map_err(bad)?).await),
        "claim-txns" => serde_json::to_value(claims::handle(ctx, serde_json::from_str(text).map_err(bad)?).await),
        "renormalize-file" => {
            serde_json::to_value(renormalize::handle(ctx, serde_json::from_str(text).map_err(bad)?).await)
        }
        "settle-cycle" => {
            let event = serde_json::from_str(text).map_err(bad)?;
            serde_json::to_value(Box::pin(settlepaisa_settlement::cycle_run::handle(ctx, event)).await.map_err(fail)?)
        }
        "apply-payout-responses" => serde_json::to_value(
            settlepaisa_settlement::responses::handle(ctx, serde_json::from_str(text).map_err(bad)?).await,
        ),
        "apply-dispute-file" => serde_json::to_value(
            settlepaisa_chargeback::files::handle(ctx, serde_json::from_str(text).map_err(bad)?).await,
        ),
        "pull-connectors" => {
            let event = serde_json::from_str(text).map_err(bad)?;
            Ok(settlepaisa_connectors::pull::handle(ctx, event, None).await.map_err(fail)?)
        }
        "apply-pg-events" => serde_json::to_value(
            settlepaisa_pg_ingestion::apply::handle(ctx, serde_json::from_str(text).map_err(bad)?).await,
        ),
        "expire-disputes" => {
            let event = serde_json::from_str(text).map_err(bad)?;
            serde_json::to_value(settlepaisa_chargeback::expire::handle(ctx, event).await.map_err(fail)?)
        }
        "generate-report" => serde_json::to_value(
            settlepaisa_governance::reports::generate::handle(ctx, serde_json::from_str(text).map_err(bad)?).await,
        ),
        "verify-audit" => {
            let event = serde_json::from_str(text).map_err(bad)?;
            Ok(settlepaisa_governance::verify::handle(ctx, event).await.map_err(fail)?)
        }
        "authorizer" => {
            let event = serde_json::from_str(text).map_err(bad)?;
            serde_json::to_value(settlepaisa_authorizer::handle(&crate::token_cmd::local_auth_config(), &event))
        }
        http => {
            let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(ctx.clone()));
            let router = crate::local::api::function_router(ctx, http)
                .ok_or_else(|| fail(format!("no handler for `{http}`")))?;
            let request =
                lambda_http::request::from_str(text).map_err(|e| fail(format!("not an API Gateway request: {e}")))?;
            use tower::ServiceExt;
            let response = router.oneshot(request).await.map_err(fail)?;
            let status = response.status().as_u16();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(fail)?;
            let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
            Ok(serde_json::json!({ "statusCode": status, "body": body }))
        }
    };
    out.map_err(fail)
}
