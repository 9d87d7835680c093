//! `settlepaisa bench-webhooks`: PG webhook deliveries against the emulator, in-process (no
//! socket). For each path, p50/p99 of the answer the PG waits for, and the AWS requests and
//! DynamoDB write units per event (index writes included), on the same events in the same run:
//!
//! - **ack** — `POST /webhooks/pg` as deployed: verify, record the receipt, queue, answer;
//! - **replay** — the same deliveries again: verify, find the receipt, answer;
//! - **inline (peer)** — what a receiver that processes before answering would make the PG wait:
//!   verify, then apply the event to its transaction (read, decide, one transaction) in the
//!   request;
//! - **apply** — `apply-pg-events` working off the queue the acks filled (no one waits on it).

use crate::error::CliError;
use crate::local::LocalStack;
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use serde_json::json;
use settlepaisa_aws::requests;
use settlepaisa_pg_events::signature::{parse_keys, sign, verify, Headers, SigningKey, LOCAL_DEVELOPMENT_KEY};
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(clap::Args)]
pub struct BenchWebhooksArgs {
    /// Payment events per path (each path its own transactions); a refund follows every 4th.
    #[arg(long, default_value_t = 1_000)]
    pub events: usize,
}

fn fail(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() * p).div_ceil(100)).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1_000.0
}

/// `n` payment events (and a refund of every 4th) for transactions named `{prefix}{i}`.
fn events(prefix: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    let day = settlepaisa_http::time_filter::today();
    let mut out = Vec::new();
    for i in 0..n {
        let txn = format!("{prefix}{i:06}");
        let id = format!("evt_{txn}");
        let body = json!({
            "id": id, "type": "payment.captured", "created_at": format!("{day}T04:00:00.{:03}Z", i % 1000),
            "data": { "txn_id": txn, "merchant_id": format!("MERCH{:03}", i % 10 + 1), "merchant_ref": format!("ORD-{i}"),
                      "method": "UPI", "amount_paise": 10_000 + i as i64, "status": "captured",
                      "utr": format!("6294{i:08}"), "captured_at": format!("{day}T09:30:00+05:30") },
        });
        out.push((id, body.to_string().into_bytes()));
        if i % 4 == 0 {
            let id = format!("evt_{txn}_refund");
            let body = json!({
                "id": id, "type": "refund.processed", "created_at": format!("{day}T06:00:00Z"),
                "data": { "refund_id": format!("RF{txn}"), "txn_id": txn, "amount_paise": 1_000, "refunded_at": format!("{day}T06:00:00Z") },
            });
            out.push((id, body.to_string().into_bytes()));
        }
    }
    out
}

async fn post(app: &Router, key: &SigningKey, id: &str, body: &[u8]) -> Result<(), CliError> {
    let ts = settlepaisa_http::edge::now_secs() as i64;
    let req = Request::builder()
        .method("POST")
        .uri("/webhooks/pg")
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sign(key, id, ts, body))
        .body(Body::from(body.to_vec()))
        .map_err(fail)?;
    let r = app.clone().oneshot(req).await.map_err(fail)?;
    if r.status() != 200 {
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap_or_default();
        return Err(fail(format!("{id}: {status} {}", String::from_utf8_lossy(&bytes))));
    }
    Ok(())
}

/// AWS requests and DynamoDB write units since the last reset, per event.
fn per_event(n: usize) -> (String, f64) {
    let n = n.max(1) as f64;
    let snap = requests::snapshot();
    let calls: Vec<String> = snap
        .iter()
        .map(|(op, c)| format!("{:.2} × {}", c.requests as f64 / n, op.trim_start_matches("dynamodb.")))
        .collect();
    // Single writes by table (indexes included), and transactions' items at 2 units each (each
    // under 1 KB: the state ~0.8 KB, a one-row page ~0.3 KB, a KPI update, a deduction).
    let single: u64 = requests::table_writes().values().map(|w| w.table + w.indexes).sum();
    let transactional = snap.get("dynamodb.TransactWriteItems").map_or(0, |c| c.units);
    (calls.join(", "), (single + transactional) as f64 / n)
}

pub fn run(args: &BenchWebhooksArgs) -> Result<(), CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(fail)?;
    rt.block_on(async {
        let stack = LocalStack::start(None).await.map_err(fail)?;
        let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(stack.runner.ctx.clone()));
        let app = crate::local::api::router(ctx, crate::token_cmd::local_auth_config());
        let key = parse_keys(LOCAL_DEVELOPMENT_KEY).map_err(fail)?.remove(0);
        let acked = events("TXNA", args.events);
        let inline = events("TXNI", args.events);
        let n = acked.len();
        println!("{} events per path ({} payments, a refund of every 4th); in-process, moto\n", n, args.events);
        println!("| path | p50 / p99 ms | AWS requests per event | DynamoDB write units per event |");
        println!("|---|---|---|---|");

        let mut rows = Vec::new();
        for name in ["ack (`POST /webhooks/pg`)", "replay (same deliveries again)"] {
            requests::reset();
            let mut times = Vec::with_capacity(n);
            for (id, body) in &acked {
                let start = Instant::now();
                post(&app, &key, id, body).await?;
                times.push(start.elapsed());
            }
            times.sort_unstable();
            let (calls, units) = per_event(n);
            rows.push((name, percentile(&times, 50), percentile(&times, 99), calls, units));
        }
        // The queue the acks filled, worked off (in batches of 10, as the event source mapping).
        requests::reset();
        let started = Instant::now();
        stack.runner.run_until_idle(Duration::from_secs(900)).await.map_err(fail)?;
        let apply_ms = started.elapsed().as_secs_f64() * 1_000.0 / n as f64;
        let (apply_calls, apply_units) = per_event(n);

        // The peer: verify and apply inside the request.
        requests::reset();
        let mut times = Vec::with_capacity(n);
        for (id, body) in &inline {
            let start = Instant::now();
            let ts = settlepaisa_http::edge::now_secs() as i64;
            let signature = sign(&key, id, ts, body);
            let keys = ctx.pg_webhook_keys().await.map_err(fail)?;
            let ts_text = ts.to_string();
            let h = Headers { id: Some(id), timestamp: Some(&ts_text), signatures: Some(&signature) };
            verify(&keys, h, body, ts).map_err(|e| fail(e.to_string()))?;
            let event = settlepaisa_pg_events::event::parse(body).map_err(fail)?;
            settlepaisa_pg_ingestion::apply::apply_event(ctx, &event).await.map_err(fail)?;
            times.push(start.elapsed());
        }
        times.sort_unstable();
        let (inline_calls, inline_units) = per_event(n);
        for (name, p50, p99, calls, units) in rows {
            println!("| {name} | {p50:.2} / {p99:.2} | {calls} | {units:.2} |");
        }
        println!(
            "| inline peer (verify + apply in the request) | {:.2} / {:.2} | {inline_calls} | {inline_units:.2} |",
            percentile(&times, 50),
            percentile(&times, 99)
        );
        println!("| apply (`apply-pg-events`, off the queue) | {apply_ms:.2} mean, no one waits | {apply_calls} | {apply_units:.2} |");
        Ok(())
    })
}
