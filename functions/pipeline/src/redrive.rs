//! `redrive-ingest`: takes failed ingestions up again (and claim steps the claim queue
//! dead-lettered: [`requeue_claims`]). Lambda sends an S3 event whose ingestion
//! failed on every attempt to the ingest dead-letter queue (the function's on-failure
//! destination), wrapped in an invocation record with the error. Once ops have fixed the cause,
//! this ingests each event again: the file's `FAILED` record is claimed anew, its rows are written
//! again (each write is idempotent), and the message is deleted only when ingestion succeeded.

use crate::error::PipelineError;
use crate::ingest::{self, Ingested};
use crate::Context;
use aws_lambda_events::s3::S3Event;
use serde::{Deserialize, Serialize};
use settlepaisa_aws::sqs;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedriveRequest {
    /// Messages to take at most (all waiting when absent).
    pub max_messages: Option<u32>,
}

#[derive(Debug, Default, Serialize)]
pub struct Redriven {
    /// Files ingested again.
    pub ingested: Vec<Ingested>,
    /// Messages whose ingestion failed again: they stay in the queue (visible again after its
    /// visibility timeout) and their files stay `FAILED` with the new error.
    pub failed: Vec<String>,
    /// Files whose claim steps were queued again from the claim dead-letter queue.
    #[serde(default)]
    pub claims_requeued: Vec<String>,
    /// Statements read again with their chosen template, from the renormalize dead-letter queue.
    #[serde(default)]
    pub reread: Vec<String>,
}

pub async fn handle(ctx: &Context, req: RedriveRequest) -> Result<Redriven, PipelineError> {
    let url = &ctx.resources.ingest_dlq_url;
    let mut left = req.max_messages.unwrap_or(u32::MAX);
    let mut out = Redriven::default();
    while left > 0 {
        // One at a time: the queue's visibility timeout only has to cover the file being ingested,
        // not the ones waiting behind it.
        let batch = sqs::receive(&ctx.clients.sqs, url, 1).await?;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            left = left.saturating_sub(1);
            let event = match s3_event_of(&message.body) {
                Ok(event) => event,
                Err(e) => {
                    out.failed.push(e.to_string());
                    continue;
                }
            };
            match ingest::handle(ctx, event).await {
                Ok(done) => {
                    out.ingested.extend(done);
                    sqs::delete(&ctx.clients.sqs, url, &message.receipt_handle).await?;
                }
                Err(e) => {
                    tracing::error!(error = %e, "re-driven ingestion failed again");
                    out.failed.push(e.to_string());
                }
            }
        }
    }
    requeue_claims(ctx, &mut left, &mut out).await?;
    reread_statements(ctx, &mut left, &mut out).await?;
    tracing::info!(
        ingested = out.ingested.len(),
        failed = out.failed.len(),
        claims = out.claims_requeued.len(),
        "dead-letter queues re-driven"
    );
    Ok(out)
}

/// Reads with a chosen template the renormalize queue dead-lettered (a timeout leaves the file
/// `RECEIVED` with its request): read again here; the message is deleted once the read is done.
async fn reread_statements(ctx: &Context, left: &mut u32, out: &mut Redriven) -> Result<(), PipelineError> {
    let url = &ctx.resources.renormalize_dlq_url;
    while *left > 0 {
        let batch = sqs::receive(&ctx.clients.sqs, url, 1).await?;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            *left = left.saturating_sub(1);
            let req: crate::file_record::LayoutRequest = match serde_json::from_str(&message.body) {
                Ok(r) => r,
                Err(e) => {
                    out.failed.push(format!("renormalize dead-letter message: {e}"));
                    continue;
                }
            };
            match reread(ctx, &req).await {
                Ok(done) => {
                    if done {
                        out.reread.push(req.file_id);
                    }
                    sqs::delete(&ctx.clients.sqs, url, &message.receipt_handle).await?;
                }
                Err(e) => out.failed.push(e.to_string()),
            }
        }
    }
    Ok(())
}

/// One dead-lettered read: still pending (a timeout) → read now; failed on its last attempt (the
/// file `FAILED`, its request cleared) → asked again and read; answered or asked again since →
/// nothing (`false`).
async fn reread(ctx: &Context, req: &crate::file_record::LayoutRequest) -> Result<bool, PipelineError> {
    use crate::file_record::{self, FileStatus, LayoutRequested};
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(file) = file_record::get(db, table, &req.file_id).await? else { return Ok(false) };
    let requested_at = match (file.status, file.layout_requested_at) {
        (Some(FileStatus::Received), Some(at)) if at == req.requested_at => at,
        (Some(FileStatus::Failed), None) => {
            let now = crate::job::now_secs();
            let draft = settlepaisa_store::audit::by_function(
                "redrive-ingest",
                "file.renormalize",
                ("file", &req.file_id),
                &format!("redrive-{now}"),
            )
            .reason("a read with a chosen template failed on every attempt; asked again")
            .change(
                serde_json::json!({ "status": "FAILED" }),
                serde_json::json!({ "status": "RECEIVED", "template": req.layout }),
            );
            let audit = (ctx.resources.audit_table.as_str(), draft);
            match file_record::request_layout(db, table, &req.file_id, now, ctx.stall_secs, audit).await? {
                LayoutRequested::Accepted => now,
                _ => return Ok(false),
            }
        }
        _ => return Ok(false),
    };
    let read = ingest::renormalize(ctx, &req.file_id, &req.layout, requested_at).await?;
    Ok(read.is_some_and(|f| f.layout_requested_at.is_none() && f.status != Some(FileStatus::Received)))
}

/// Claim steps the claim queue dead-lettered: a step that timed out never reached its own
/// last-attempt handling, so its file is still `RECEIVED` with its groups queued. Its groups not
/// done are queued again (a step that runs twice changes nothing) and the message is deleted.
async fn requeue_claims(ctx: &Context, left: &mut u32, out: &mut Redriven) -> Result<(), PipelineError> {
    let url = &ctx.resources.claim_dlq_url;
    let mut files = std::collections::BTreeSet::new();
    while *left > 0 {
        let batch = sqs::receive(&ctx.clients.sqs, url, 1).await?;
        if batch.is_empty() {
            break;
        }
        for message in batch {
            *left = left.saturating_sub(1);
            let claim: crate::claims::ClaimMessage = match serde_json::from_str(&message.body) {
                Ok(c) => c,
                Err(e) => {
                    out.failed.push(format!("claim dead-letter message: {e}"));
                    continue;
                }
            };
            // One requeue per file covers all its dead-lettered groups.
            if files.insert(claim.file_id.clone()) {
                match crate::claims::requeue(ctx, &claim.file_id).await {
                    Ok(true) => out.claims_requeued.push(claim.file_id.clone()),
                    Ok(false) => {}
                    Err(e) => {
                        out.failed.push(e.to_string());
                        files.remove(&claim.file_id);
                        continue;
                    }
                }
            }
            sqs::delete(&ctx.clients.sqs, url, &message.receipt_handle).await?;
        }
    }
    Ok(())
}

/// The S3 event inside an on-failure destination record (`requestPayload`), or a bare S3 event.
pub fn s3_event_of(body: &str) -> Result<S3Event, PipelineError> {
    let bad = |m: String| PipelineError::BadMessage { kind: "ingest dead-letter record", message: m };
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    let payload = value.get("requestPayload").cloned().unwrap_or(value);
    serde_json::from_value(payload).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_records_and_bare_events_both_give_the_event() {
        let event = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"ap-south-1","eventTime":"2026-10-01T10:00:00.000Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":""},"requestParameters":{"sourceIPAddress":"127.0.0.1"},"responseElements":{},"s3":{"s3SchemaVersion":"1.0","configurationId":"x","bucket":{"name":"b","ownerIdentity":{"principalId":""},"arn":"arn:aws:s3:::b"},"object":{"key":"incoming/pg/x.csv","size":1,"versionId":"v1","sequencer":"1"}}}]}"#;
        let record = format!(
            r#"{{"version":"1.0","requestContext":{{"condition":"RetriesExhausted","approximateInvokeCount":3}},"requestPayload":{event},"responsePayload":{{"errorMessage":"boom"}}}}"#
        );
        for body in [event.to_string(), record] {
            let e = s3_event_of(&body).unwrap();
            assert_eq!(e.records[0].s3.object.key.as_deref(), Some("incoming/pg/x.csv"));
            assert_eq!(e.records[0].s3.object.version_id.as_deref(), Some("v1"));
        }
        assert!(s3_event_of("{}").is_err());
    }
}
