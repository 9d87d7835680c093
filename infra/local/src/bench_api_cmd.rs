//! `settlepaisa bench-api`: the HTTP API against the emulator, in-process (no socket): AWS calls
//! per request for each overview endpoint, and latency p50/p99 of the handlers (gateway,
//! authorizer verdict, edge and handler included; the emulator's own latency included too).

use crate::error::CliError;
use crate::gen_cmd::{self, GenArgs};
use crate::local::LocalStack;
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use settlepaisa_auth::Role;
use settlepaisa_aws::requests;
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(clap::Args)]
pub struct BenchApiArgs {
    /// PG transactions generated (spread over --days from 2026-10-01).
    #[arg(long, default_value_t = 20_000)]
    pub txns: usize,
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Timed requests per endpoint and mode.
    #[arg(long, default_value_t = 200)]
    pub requests: usize,
}

fn fail(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

async fn call(app: &Router, method: &str, path: &str, token: &str, fresh: bool, body: Option<String>) -> (u16, String) {
    let mut req = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
    if fresh {
        req = req.header("cache-control", "no-cache");
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let Ok(req) = req.body(Body::from(body.unwrap_or_default())) else { return (0, String::new()) };
    match app.clone().oneshot(req).await {
        Ok(r) => {
            let status = r.status().as_u16();
            let bytes = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap_or_default();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        }
        Err(_) => (0, String::new()),
    }
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() * p).div_ceil(100)).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1_000.0
}

/// Times `n` calls; returns (p50 ms, p99 ms).
async fn timed(
    app: &Router,
    method: &str,
    path: &str,
    token: &str,
    fresh: bool,
    n: usize,
) -> Result<(f64, f64), CliError> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let (status, body) = call(app, method, path, token, fresh, None).await;
        times.push(start.elapsed());
        if !(200..300).contains(&status) {
            return Err(fail(format!("{method} {path}: {status} {body}")));
        }
    }
    times.sort_unstable();
    Ok((percentile(&times, 50), percentile(&times, 99)))
}

/// AWS requests one call makes, by operation.
async fn calls_of(app: &Router, path: &str, token: &str) -> String {
    requests::reset();
    call(app, "GET", path, token, true, None).await;
    let snap = requests::snapshot();
    let parts: Vec<String> =
        snap.iter().map(|(op, c)| format!("{} × {}", c.requests, op.trim_start_matches("dynamodb."))).collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

pub fn run(args: &BenchApiArgs) -> Result<(), CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(fail)?;
    rt.block_on(async {
        let stack = LocalStack::start(None).await.map_err(fail)?;
        let dir = std::env::temp_dir().join(format!("settlepaisa-bench-api-{}", std::process::id()));
        gen_cmd::run(&GenArgs::plain(args.txns, 5, args.days, dir.clone()))?;
        let bucket = stack.runner.ctx.resources.uploads_bucket.clone();
        for (key, path) in crate::local_cmd::generated_uploads(&dir)? {
            let body = std::fs::read(&path).map_err(fail)?;
            stack.clients.s3.put_object().bucket(&bucket).key(key).body(body.into()).send().await.map_err(fail)?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        stack.runner.run_until_idle(Duration::from_secs(900)).await.map_err(fail)?;
        let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(stack.runner.ctx.clone()));
        let auth = crate::token_cmd::local_auth_config();
        let ops = auth.mint("bench", Role::SpOps, None, settlepaisa_http::edge::now_secs(), 3_600);
        let app = crate::local::api::router(ctx, auth);
        let to = settlepaisa_recon::date::Date::parse_iso("2026-10-01")
            .map(|d| d.add_days(args.days as i32 + 1))
            .ok_or_else(|| fail("date"))?;
        let body = format!(r#"{{"from":"2026-10-01","to":"{}"}}"#, to.add_days(-2));
        let (_, created) = call(&app, "POST", "/api/jobs", &ops, false, Some(body)).await;
        let job: serde_json::Value = serde_json::from_str(&created).map_err(fail)?;
        let job = job["jobId"].as_str().ok_or_else(|| fail(format!("no job: {created}")))?.to_string();
        call(&app, "POST", &format!("/api/jobs/{job}/match"), &ops, false, None).await;
        stack.runner.run_until_idle(Duration::from_secs(900)).await.map_err(fail)?;

        let range = format!("from=2026-10-01&to={to}");
        println!(
            "{} transactions over {} days, job {job}; {} timed requests per row (in-process, moto)\n",
            args.txns, args.days, args.requests
        );
        println!("| endpoint | AWS calls per request (uncached) | uncached p50 / p99 ms | cached p50 / p99 ms |");
        println!("|---|---|---|---|");
        for path in [
            format!("/api/overview?{range}"),
            format!("/api/pipeline?{range}"),
            format!("/api/sources?{range}"),
            format!("/api/connectors/health?{range}"),
            format!("/api/top-reasons?{range}"),
        ] {
            let calls = calls_of(&app, &path, &ops).await;
            let (u50, u99) = timed(&app, "GET", &path, &ops, true, args.requests).await?;
            let (c50, c99) = timed(&app, "GET", &path, &ops, false, args.requests).await?;
            println!(
                "| `GET {}` | {calls} | {u50:.2} / {u99:.2} | {c50:.2} / {c99:.2} |",
                path.split('?').next().unwrap_or(&path)
            );
        }
        println!("\n| endpoint | AWS calls per request | p50 / p99 ms |");
        println!("|---|---|---|");
        for path in [
            format!("/api/jobs/{job}"),
            format!("/api/jobs/{job}/exceptions?limit=50"),
            format!("/api/jobs/{job}/exceptions?category=UNMATCHED_PG&status=OPEN&limit=50"),
            "/api/transactions?from=2026-10-01&to=2026-10-01&merchantId=MERCH001&limit=50".to_string(),
            "/api/transactions?from=2026-10-01&to=2026-10-01&limit=50".to_string(),
            // A filter that matches nothing: the page's budget, not the data, bounds the work.
            "/api/transactions?from=2026-10-01&to=2026-10-01&merchantId=MERCH001&status=chargeback_lost&limit=1"
                .to_string(),
            "/api/transactions?from=2026-10-01&to=2026-10-01&status=chargeback_lost&limit=1".to_string(),
            // 92 days, data on the last few: empty days are not walked.
            "/api/transactions?from=2026-07-01&to=2026-09-30&limit=50".to_string(),
            "/api/statements?from=2026-09-01&to=2026-10-31".to_string(),
        ] {
            let calls = calls_of(&app, &path, &ops).await;
            let (p50, p99) = timed(&app, "GET", &path, &ops, true, args.requests).await?;
            println!("| `GET {}` | {calls} | {p50:.2} / {p99:.2} |", path.replace(&job, "{id}"));
        }
        // Resolutions: each a write-off of a distinct open exception.
        let (_, page) =
            call(&app, "GET", &format!("/api/jobs/{job}/exceptions?status=OPEN&limit=500"), &ops, false, None).await;
        let page: serde_json::Value = serde_json::from_str(&page).map_err(fail)?;
        let ids: Vec<String> = page["items"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["id"].as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let n = ids.len().min(args.requests);
        let mut times = Vec::with_capacity(n);
        requests::reset();
        for id in ids.iter().take(n) {
            let start = Instant::now();
            let (status, body) = call(
                &app,
                "POST",
                &format!("/api/exceptions/{id}/resolve"),
                &ops,
                false,
                Some(r#"{"action":"write_off","note":"bench"}"#.into()),
            )
            .await;
            times.push(start.elapsed());
            if status != 200 {
                return Err(fail(format!("resolve {id}: {status} {body}")));
            }
        }
        times.sort_unstable();
        let per: Vec<String> = requests::snapshot()
            .iter()
            .map(|(op, c)| {
                format!("{:.1} × {}", c.requests as f64 / n.max(1) as f64, op.trim_start_matches("dynamodb."))
            })
            .collect();
        println!(
            "| `POST /api/exceptions/{{id}}/resolve` (write_off, {n} runs) | {} | {:.2} / {:.2} |",
            per.join(", "),
            percentile(&times, 50),
            percentile(&times, 99)
        );
        // The authorizer runs on every request (no identity source, no cache): its own work per
        // request, a valid token verified.
        let auth = crate::token_cmd::local_auth_config();
        let header = format!("Bearer {ops}");
        let runs = 20_000;
        let start = Instant::now();
        for _ in 0..runs {
            std::hint::black_box(settlepaisa_authorizer::decide(&auth, Some(std::hint::black_box(&header))));
        }
        let per = start.elapsed() / runs;
        println!("\nauthorizer verdict (HS256 verify, claims checks, context): {per:?} per request ({runs} runs)");
        Ok(())
    })
}
