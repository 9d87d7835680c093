//! `generate-report` (the report queue, one message at a time): claims the report (`QUEUED` →
//! `RUNNING`, or a `RUNNING` one whose earlier attempt died), streams its rows into
//! `reports/{id}.csv` in the artifacts bucket, and marks it `READY` with its row count and size.
//! A redelivered message of a finished report changes nothing; on the queue's last attempt a
//! failure marks it `FAILED` with why, so nothing is left waiting.

use super::kind::Kind;
use super::sink::CsvSink;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::{Deserialize, Serialize};
use settlepaisa_store::reports::{self, Report, ReportStatus};
use settlepaisa_store::Context;

/// The queue's message.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRequest {
    pub report_id: String,
}

fn now() -> i64 {
    settlepaisa_http::edge::now_secs() as i64
}

pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for m in event.records {
        let id = m.message_id.clone().unwrap_or_default();
        let receives: u32 = m.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
        let last = receives >= ctx.max_receive_count;
        let outcome = match m.body.as_deref().map(serde_json::from_str::<ReportRequest>) {
            Some(Ok(req)) => generate(ctx, &req.report_id, last).await,
            _ => {
                tracing::error!(message = id, "not a report request; dropped");
                Ok(())
            }
        };
        if let Err(e) = outcome {
            tracing::error!(message = id, error = %e, "report not generated; the queue tries again");
            response.add_failure(id);
        }
    }
    response
}

/// Generates report `id` once. `Err`: try again (the message is redelivered).
pub async fn generate(ctx: &Context, id: &str, last_attempt: bool) -> Result<(), String> {
    let (db, table) = (&ctx.clients.dynamodb, ctx.resources.reports_table.as_str());
    let Some(r) = reports::get(db, table, id).await.map_err(|e| e.to_string())? else {
        tracing::warn!(report = id, "no such report; dropped");
        return Ok(());
    };
    if matches!(r.status, ReportStatus::Ready | ReportStatus::Failed) {
        return Ok(());
    }
    let Some(kind) = Kind::parse(&r.kind) else {
        return fail(ctx, &r, "not a report kind").await;
    };
    let mut running = r.clone();
    running.status = ReportStatus::Running;
    running.attempts = r.attempts + 1;
    if !reports::replace(db, table, &running, r.status, r.attempts, now()).await.map_err(|e| e.to_string())? {
        // Another delivery took it: let that one finish.
        return Ok(());
    }
    let key = format!("reports/{id}.csv");
    let mut sink = CsvSink::new(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, kind.header());
    let written = match super::sources::write(ctx, &running, kind, &mut sink).await {
        Ok(()) => sink.finish().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match written {
        Ok((rows, bytes, max)) => {
            let mut ready = running.clone();
            ready.status = ReportStatus::Ready;
            ready.rows = Some(rows);
            ready.bytes = Some(bytes);
            ready.key = Some(key);
            ready.max_buffered_bytes = Some(max as u64);
            ready.finished_at = Some(settlepaisa_store::audit::now_rfc3339());
            if !reports::replace(db, table, &ready, ReportStatus::Running, running.attempts, now())
                .await
                .map_err(|e| e.to_string())?
            {
                // Another delivery claimed it meanwhile: its outcome stands.
                tracing::warn!(report = id, "report re-claimed while this run wrote it; leaving it to that run");
                return Ok(());
            }
            tracing::info!(report = id, rows, bytes, max_buffered = max, "report ready");
            Ok(())
        }
        Err(e) if last_attempt => fail(ctx, &running, &e).await,
        Err(e) => {
            // Back to the queue's next attempt, which claims it again.
            Err(e)
        }
    }
}

async fn fail(ctx: &Context, r: &Report, why: &str) -> Result<(), String> {
    let mut failed = r.clone();
    failed.status = ReportStatus::Failed;
    failed.error = Some(why.chars().take(500).collect());
    failed.finished_at = Some(settlepaisa_store::audit::now_rfc3339());
    let (db, table) = (&ctx.clients.dynamodb, ctx.resources.reports_table.as_str());
    reports::replace(db, table, &failed, r.status, r.attempts, now()).await.map_err(|e| e.to_string())?;
    tracing::error!(report = r.report_id, error = why, "report failed");
    Ok(())
}
