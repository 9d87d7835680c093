//! `POST /api/jobs`, `GET /api/jobs/{id}`, `POST /api/jobs/{id}/match`.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_http::input::{business_date, identifier, Body};
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_store::file_record::{self, FileStatus};
use settlepaisa_store::job::{self, Job, JobStatus, JobUpload, PlanRequest, ShardState, ShardStatus};

/// A job covers at most this many capture days.
pub const MAX_JOB_DAYS: i32 = 31;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewJob {
    /// First and last capture date, inclusive (`YYYY-MM-DD`, IST).
    pub from: String,
    pub to: String,
    /// Banks whose statements to take (template names); all when absent.
    #[serde(default)]
    pub sources: Vec<String>,
    /// UTR shards, 1 to 64.
    pub shards: Option<u32>,
}

/// `POST /api/jobs`: a job waiting for uploads and `POST /api/jobs/{id}/match`.
pub async fn create_job(
    State(state): State<AppState>,
    acting: Acting,
    Body(req): Body<NewJob>,
) -> Result<Response, ApiError> {
    let caller = &acting.caller;
    let (from, to) = (business_date("from", &req.from)?, business_date("to", &req.to)?);
    if to < from {
        return Err(ApiError::bad_request(format!("to {to} is before from {from}")));
    }
    if from.days_until(to) >= MAX_JOB_DAYS {
        return Err(ApiError::bad_request(format!("a job covers at most {MAX_JOB_DAYS} days; split the range")));
    }
    let templates = &state.ctx.templates;
    let mut sources = Vec::new();
    for s in &req.sources {
        let t = templates.iter().find(|t| t.name.eq_ignore_ascii_case(s)).ok_or_else(|| {
            let known: Vec<_> = templates.iter().map(|t| t.name.as_str()).collect();
            let s = settlepaisa_http::error::fit(s, 40);
            ApiError::bad_request(format!("source `{s}` is not a known bank; known: {}", known.join(", ")))
        })?;
        if !sources.contains(&t.name) {
            sources.push(t.name.clone());
        }
    }
    let shards = req.shards.unwrap_or(state.ctx.default_shards);
    if !(1..=settlepaisa_recon::shard::PARTITIONS).contains(&shards) {
        return Err(ApiError::bad_request(format!("shards must be 1 to {}", settlepaisa_recon::shard::PARTITIONS)));
    }
    let job = Job {
        job_id: job::new_job_id(from, to),
        from: from.to_string(),
        to: to.to_string(),
        shards,
        status: JobStatus::Created,
        files: Vec::new(),
        shards_done: 0,
        error: None,
        created_at: job::now_rfc3339(),
        summary: None,
        sources,
        created_by: Some(caller.user_id.clone()),
        queued_at: None,
        progress_at: None,
        skipped: Vec::new(),
        files_manifest: None,
        plan_requested_at: None,
        settlement_fees: None,
    };
    let draft = acting.draft("job.create", ("job", &job.job_id)).change(Value::Null, view(&job, &[], &[]));
    let audit = (state.ctx.resources.audit_table.as_str(), draft);
    let created =
        job::create_pending(&state.ctx.clients.dynamodb, &state.ctx.resources.jobs_table, &job, audit).await?;
    if !created {
        return Err(ApiError::conflict("a job with this id already exists; retry"));
    }
    tracing::info!(job_id = job.job_id, user = caller.user_id, "job created");
    Ok((StatusCode::CREATED, Json(view(&job, &[], &[]))).into_response())
}

/// `GET /api/jobs/{id}`: the job and its progress per stage, from one Query.
pub async fn get_job(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    identifier("job id", &id)?;
    let (job, shards, uploads) = job::get_all(&state.ctx.clients.dynamodb, &state.ctx.resources.jobs_table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
    Ok(Json(view(&job, &shards, &uploads)))
}

/// `POST /api/jobs/{id}/match`: queues the job's planning (`plan-match` finds its files, records
/// its shards and queues them); 202, the work runs on and `GET /api/jobs/{id}` shows it. A second
/// request while the first is pending is a 409; a failed or stalled job is queued again (resume
/// runs only the shards not done).
pub async fn match_job(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    identifier("job id", &id)?;
    let ctx = state.ctx;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.jobs_table);
    let mut job =
        job::get(db, table, &id).await?.ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
    let now = job::now_secs();
    let resuming = job.status != JobStatus::Created;
    if resuming && !job::resumable(&job, ctx.stall_secs, now) {
        return Err(ApiError::conflict(format!("job {id} has already started (status {})", job.status))
            .meta("status", job.status.as_str()));
    }
    if !resuming {
        // Files uploaded to the job and still being read would be left out of it.
        let (_, _, uploads) = job::get_all(db, table, &id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
        let mut pending = Vec::new();
        for upload in uploads.iter().filter(|u| u.status == "RECEIVED") {
            // The job's copy may lag its file (an answer whose copy was not written): the file's
            // own record decides, and a stale copy is brought up to date.
            match file_record::get(db, &ctx.resources.files_table, &upload.file_id).await? {
                Some(f) if f.status == Some(FileStatus::Received) => pending.push(upload.name.as_str()),
                Some(f) => job::record_upload(db, table, &id, &f).await?,
                None => {}
            }
        }
        if !pending.is_empty() {
            return Err(ApiError::conflict(format!(
                "job {id} has files still being read ({}); match it when they are done",
                pending.join(", ")
            )));
        }
    }
    let action = if resuming { "job.resume" } else { "job.start" };
    let draft = acting.draft(action, ("job", &id)).change(
        json!({ "status": job.status.as_str() }),
        json!({ "status": job.status.as_str(), "planning": "queued" }),
    );
    let audit = (ctx.resources.audit_table.as_str(), draft);
    if !job::request_plan(db, table, &id, job.status, now, ctx.stall_secs, audit).await? {
        return Err(ApiError::conflict(format!("job {id} was started by another request")));
    }
    job.plan_requested_at = Some(now);
    let req =
        PlanRequest { job_id: Some(id.clone()), from: job.from.clone(), to: job.to.clone(), shards: Some(job.shards) };
    let body = serde_json::to_string(&req).map_err(ApiError::internal)?;
    if let Err(e) = settlepaisa_aws::sqs::send(&ctx.clients.sqs, &ctx.resources.plan_queue_url, body).await {
        // Not queued: the next request may try again.
        let draft = acting
            .draft("job.start_withdrawn", ("job", &id))
            .reason("the planning message could not be queued; the job may be matched again")
            .change(json!({ "planning": "queued" }), json!({ "status": job.status.as_str(), "planning": "none" }));
        let _ = job::withdraw_plan_request(db, table, &id, now, (ctx.resources.audit_table.as_str(), draft)).await;
        return Err(ApiError::store(e));
    }
    tracing::info!(job_id = id, resuming, "job planning queued");
    let mut body = view(&job, &[], &[]);
    body["resumed"] = json!(resuming);
    body["planning"] = json!("queued");
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// The job as the API shows it, with a status per stage.
pub fn view(job: &Job, shards: &[ShardState], uploads: &[JobUpload]) -> Value {
    let st = job.status.as_str();
    let done = shards.iter().filter(|s| s.status == ShardStatus::Done).count();
    let failed = shards.iter().filter(|s| s.status == ShardStatus::Failed).count();
    let pending_uploads = uploads.iter().filter(|u| u.status == "RECEIVED").count();
    let normalized = uploads.iter().filter(|u| u.status == "NORMALIZED").count();
    let rejected = uploads.iter().filter(|u| u.status == "REJECTED").count();
    let stage = |started: bool, finished: bool| match (st, started, finished) {
        ("FAILED", true, false) => "failed",
        (_, _, true) => "complete",
        (_, true, false) => "running",
        _ => "not_started",
    };
    let matching_started = st != "CREATED";
    let matching_finished = matches!(st, "FINALIZING" | "COMPLETED");
    json!({
        "jobId": job.job_id,
        "status": st,
        "from": job.from,
        "to": job.to,
        "sources": job.sources,
        "shards": job.shards,
        "createdAt": job.created_at,
        "createdBy": job.created_by,
        "error": job.error,
        "stages": {
            "upload": {
                "status": if uploads.is_empty() && !matching_started { "waiting" } else { "complete" },
                "files": uploads.len(),
            },
            "normalize": {
                "status": if pending_uploads > 0 { "running" } else { "complete" },
                "normalized": normalized,
                "rejected": rejected,
                "pending": pending_uploads,
            },
            "match": {
                "status": stage(matching_started, matching_finished),
                "shardsDone": done,
                "shardsFailed": failed,
                "shardsTotal": if matching_started { job.shards as usize + 1 } else { 0 },
            },
            "finalize": { "status": stage(st == "FINALIZING" || st == "COMPLETED", st == "COMPLETED") },
        },
        "uploads": uploads,
        "files": job.files.iter().map(|f| json!({ "fileId": f.file_id, "name": f.name, "kind": f.kind, "layout": f.layout })).collect::<Vec<_>>(),
        "summary": job.summary,
        "skippedFiles": job.skipped,
        "planRequestedAt": job.plan_requested_at.map(settlepaisa_recon::date::format_utc),
        "settlementFees": job.settlement_fees.as_ref().map(|f| json!({
            "gstBps": f.gst_bps,
            "mdrBps": settlepaisa_recon::pg_file::Method::ALL
                .iter()
                .zip(f.mdr_bps)
                .map(|(m, bps)| (m.as_str().to_string(), json!(bps)))
                .collect::<serde_json::Map<_, _>>(),
        })),
    })
}
