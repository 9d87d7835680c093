//! `plan-match`: starts a job. Finds the normalized files its date range needs, records the job
//! and its shards, and queues one message per UTR shard (SendMessageBatch). The residual shard is
//! queued by the last UTR shard to finish.

use crate::error::PipelineError;
use crate::file_record::{FileRecord, FileStatus};
use crate::job::{self, FinalizeMessage, Job, JobFile, JobStatus, ShardMessage, ShardStatus, DUPLICATE_NAMES};
pub use crate::job::{new_job_id, now_rfc3339, resumable, PlanRequest};
use crate::Context;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use serde::Serialize;
use settlepaisa_aws::dynamo::query_all;
use settlepaisa_aws::sqs;
use settlepaisa_recon::date::Date;

#[derive(Debug, Serialize)]
pub struct Planned {
    pub job: Job,
    /// False when the job already existed: nothing was planned again.
    pub created: bool,
    /// True when an existing job's unfinished work was queued again (a failed job resumed, or a
    /// job whose queueing failed or stalled).
    pub resumed: bool,
}

/// Plan requests from the plan queue (`POST /api/jobs/{id}/match`), one at a time. A request
/// that fails is retried by the queue; planning is idempotent (an existing job is resumed or left
/// alone), so a retry never plans twice.
pub async fn handle_queued(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    crate::sqs_batch::each(&event, "plan", |message| {
        Box::pin(async move {
            let req: PlanRequest = crate::sqs_batch::body(message, "plan request")?;
            let planned = handle(ctx, req).await?;
            tracing::info!(
                job_id = planned.job.job_id,
                created = planned.created,
                resumed = planned.resumed,
                "planned"
            );
            Ok(())
        })
    })
    .await
}

pub async fn handle(ctx: &Context, req: PlanRequest) -> Result<Planned, PipelineError> {
    let bad = |m: String| PipelineError::BadMessage { kind: "plan request", message: m };
    let from = Date::parse_iso(&req.from).ok_or_else(|| bad(format!("from `{}` is not YYYY-MM-DD", req.from)))?;
    let to = Date::parse_iso(&req.to).ok_or_else(|| bad(format!("to `{}` is not YYYY-MM-DD", req.to)))?;
    if to < from {
        return Err(bad(format!("to {to} is before from {from}")));
    }
    let shards = req.shards.unwrap_or(ctx.default_shards);
    if !(1..=settlepaisa_recon::shard::PARTITIONS).contains(&shards) {
        return Err(bad(format!("shards must be 1 to {}, not {shards}", settlepaisa_recon::shard::PARTITIONS)));
    }
    let job_id = req.job_id.clone().unwrap_or_else(|| new_job_id(from, to));
    let existing = job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &job_id).await?;
    // A job the API created waits in CREATED for its match request; any other is already planned,
    // and at most has unfinished work to queue again.
    let was_pending = existing.is_some();
    let (sources, created_by, created_at, plan_requested_at) = match existing {
        Some(j) if j.status != JobStatus::Created => return resume(ctx, j).await,
        Some(j) => (j.sources, j.created_by, j.created_at, j.plan_requested_at),
        None => (Vec::new(), None, now_rfc3339(), None),
    };
    let (files, skipped) = files_for(ctx, &job_id, from, to, &sources).await?;
    let mut job = Job {
        job_id: job_id.clone(),
        from: from.to_string(),
        to: to.to_string(),
        shards,
        status: JobStatus::Matching,
        files,
        shards_done: 0,
        error: None,
        created_at,
        summary: None,
        sources,
        created_by,
        queued_at: None,
        progress_at: None,
        skipped,
        files_manifest: None,
        // Kept until every shard message is out (`mark_queued` removes it): a second match request
        // meanwhile is refused instead of queueing the shards again.
        plan_requested_at,
        settlement_fees: None,
    };
    job.files_manifest = Some(write_manifest(ctx, &job).await?);
    if !crate::settlement_step::reports(&job).is_empty() {
        match crate::settlement_step::contracted_rates(ctx).await? {
            Ok(fees) => job.settlement_fees = Some(fees),
            Err(problem) => {
                job.status = JobStatus::Failed;
                job.error = Some(problem);
            }
        }
    }
    if let Some(problem) = duplicate_names(&job.files) {
        job.status = JobStatus::Failed;
        job.error = Some(problem);
    }
    let action = if was_pending { "job.start" } else { "job.create_and_start" };
    let draft = settlepaisa_store::audit::by_function("plan-match", action, ("job", &job_id), &job_id)
        .reason(job.error.clone().unwrap_or_else(|| format!("{} files, {shards} shards", job.files.len())))
        .change(
            serde_json::json!({ "status": if was_pending { "CREATED" } else { "NONE" } }),
            serde_json::json!({ "status": job.status.as_str(), "files": job.files.len(), "shards": shards,
                                "skipped": job.skipped.len(), "manifest": job.files_manifest }),
        );
    let audit = (ctx.resources.audit_table.as_str(), draft);
    let created = if was_pending {
        job::start(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &job, audit).await?
    } else {
        job::create(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &job, audit).await?
    };
    if created && job.status == JobStatus::Matching {
        queue_shards(ctx, &job_id, (0..shards).map(Some).collect()).await?;
        job.queued_at = Some(job::now_secs());
    }
    tracing::info!(job_id, shards, files = job.files.len(), created, "job planned");
    Ok(Planned { job, created, resumed: false })
}

/// Writes the job's files with their partition entries to the artifacts bucket, before the job
/// itself, and returns the key. The key names the content (two plans racing for one job write
/// their own lists; the job that wins names its own), and `jobs/` does not expire.
async fn write_manifest(ctx: &Context, job: &Job) -> Result<String, PipelineError> {
    use sha2::Digest;
    let body = serde_json::to_vec(&job.files)
        .map_err(|e| PipelineError::Data { key: job.job_id.clone(), message: e.to_string() })?;
    let hash = hex::encode(&sha2::Sha256::digest(&body)[..8]);
    let key = format!("jobs/{}/files-{hash}.json", job.job_id);
    settlepaisa_aws::s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, body).await?;
    Ok(key)
}

/// Queues again what a started job still needs: the UTR shards not `DONE`; when all are, the
/// residual shard; when that is done too, the finalizer. Shards already `DONE` are never run again.
async fn resume(ctx: &Context, job: Job) -> Result<Planned, PipelineError> {
    let db = &ctx.clients.dynamodb;
    let table = &ctx.resources.jobs_table;
    if !resumable(&job, ctx.stall_secs, job::now_secs()) {
        return Ok(Planned { job, created: false, resumed: false });
    }
    let Some((mut job, states)) = job::get_with_shards(db, table, &job.job_id).await? else {
        return Err(PipelineError::NoSuchJob(job.job_id));
    };
    let residual_done = states.iter().any(|s| s.shard == job::shard_name(None) && s.status == ShardStatus::Done);
    // A job refused at planning for its rates has none recorded: it is held to the rates as they
    // read now, or stays refused — never to the defaults behind ops' back.
    if !residual_done && job.settlement_fees.is_none() && !crate::settlement_step::reports(&job).is_empty() {
        match crate::settlement_step::contracted_rates(ctx).await? {
            Ok(fees) => {
                job::record_settlement_fees(db, table, &job.job_id, &fees).await?;
                job.settlement_fees = Some(fees);
            }
            Err(problem) => {
                job::fail_job(db, table, &job.job_id, &problem).await?;
                let now = job::get(db, table, &job.job_id).await?.ok_or(PipelineError::NoSuchJob(job.job_id))?;
                return Ok(Planned { job: now, created: false, resumed: false });
            }
        }
    }
    let present: Vec<String> = states.iter().map(|s| s.shard.clone()).collect();
    job::put_missing_shard_items(db, table, &job, &present).await?;
    let done = |name: &str| states.iter().any(|s| s.shard == name && s.status == ShardStatus::Done);
    let failed: Vec<String> =
        states.iter().filter(|s| s.status == ShardStatus::Failed).map(|s| s.shard.clone()).collect();
    let open_utr: Vec<Option<u32>> = (0..job.shards).filter(|&i| !done(&job::shard_name(Some(i)))).map(Some).collect();
    let next = if residual_done { JobStatus::Finalizing } else { JobStatus::Matching };
    if !job::reopen(db, table, &job, next, &failed).await? {
        // Another request resumed it (or it moved on) between our read and our write.
        let now =
            job::get(db, table, &job.job_id).await?.ok_or_else(|| PipelineError::NoSuchJob(job.job_id.clone()))?;
        return Ok(Planned { job: now, created: false, resumed: false });
    }
    if residual_done {
        let body = serde_json::to_string(&FinalizeMessage { job_id: job.job_id.clone() }).unwrap_or_default();
        sqs::send(&ctx.clients.sqs, &ctx.resources.finalize_queue_url, body).await?;
        job::mark_queued(db, table, &job.job_id).await?;
    } else if open_utr.is_empty() {
        queue_shards(ctx, &job.job_id, vec![None]).await?;
    } else {
        queue_shards(ctx, &job.job_id, open_utr.clone()).await?;
    }
    tracing::info!(job_id = job.job_id, shards = open_utr.len(), residual_done, "job resumed");
    let job = job::get(db, table, &job.job_id).await?.ok_or_else(|| PipelineError::NoSuchJob(job.job_id.clone()))?;
    Ok(Planned { job, created: false, resumed: true })
}

/// Sends one message per shard, then records that the job's messages are all queued: a send that
/// fails leaves `queued_at` unset, so a later match request queues them again.
async fn queue_shards(ctx: &Context, job_id: &str, shards: Vec<Option<u32>>) -> Result<(), PipelineError> {
    let messages = shards
        .into_iter()
        .map(|shard| serde_json::to_string(&ShardMessage { job_id: job_id.to_string(), shard }).unwrap_or_default())
        .collect();
    sqs::send_all(&ctx.clients.sqs, &ctx.resources.match_queue_url, messages).await?;
    Ok(job::mark_queued(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id).await?)
}

/// Normalized files whose dates overlap the job: PG exports captured in [from, to], statements
/// value-dated in [from, to + date window]. Files uploaded to another job are left out. Also the
/// files of those dates still being ingested or whose ingestion failed, for the job to name.
async fn files_for(
    ctx: &Context,
    job_id: &str,
    from: Date,
    to: Date,
    sources: &[String],
) -> Result<(Vec<JobFile>, Vec<String>), PipelineError> {
    let window = ctx.match_config.date_window_days;
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    // A key uploaded again (a bank resending its file) counts once: its latest version.
    let mut latest: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    // Statements and settlement reports are dated after the captures they pay: up to the window.
    for (kind, last) in [("pg", to), ("bank", to.add_days(window)), ("settlement", to.add_days(window))] {
        let items =
            query_all(&ctx.clients.dynamodb, &ctx.resources.files_table, Some("by-kind-last-date"), "kind", kind)
                .await?;
        // The by-kind index holds file records only (content-hash items carry no `kind`).
        let records = items.iter().map(FileRecord::from_item).collect::<Result<Vec<_>, _>>()?;
        for f in records {
            let overlaps = f.last_date.as_deref().and_then(Date::parse_iso).is_some_and(|d| d >= from)
                && f.first_date.as_deref().and_then(Date::parse_iso).is_some_and(|d| d <= last);
            let mine = f.job_id.as_deref().is_none_or(|j| j == job_id);
            // A job's sources name banks: the PG export and the acquirers' reports are always taken.
            let wanted = kind != "bank"
                || sources.is_empty()
                || f.layout.as_deref().is_some_and(|l| sources.iter().any(|s| s.eq_ignore_ascii_case(l)));
            // A file in flight or failed has no dates of its own yet, only the day it arrived:
            // one that arrived on or after the job's first day may hold the job's dates.
            let arrived_in_time = f.last_date.as_deref().and_then(Date::parse_iso).is_some_and(|d| d >= from);
            if arrived_in_time && mine && wanted && matches!(f.status, Some(FileStatus::Failed | FileStatus::Received))
            {
                // Not counted, and not finished either: the job says so rather than quietly
                // reconciling without it.
                let why = f.error.as_deref().map(|e| format!(": {}", e.chars().take(200).collect::<String>()));
                let status = f.status.map_or("RECEIVED", FileStatus::as_str);
                skipped.push(format!("{} is {status}{}", f.key, why.unwrap_or_default()));
            }
            if overlaps && mine && wanted && f.status == Some(FileStatus::Normalized) {
                let newest = latest.entry(f.key.clone()).or_default();
                if f.received_at.as_str() < newest.as_str() {
                    continue;
                }
                if !newest.is_empty() {
                    out.retain(|j: &JobFile| j.key != f.key);
                }
                newest.clone_from(&f.received_at);
                out.push(JobFile {
                    key: f.key.clone(),
                    file_id: f.file_id,
                    name: f.name,
                    kind: f.kind,
                    layout: f.layout,
                    partitions: f.partitions,
                });
            }
        }
    }
    out.sort_by(|a, b| (&a.kind, &a.name, &a.file_id).cmp(&(&b.kind, &b.name, &b.file_id)));
    skipped.sort();
    Ok((out, skipped))
}

/// Bank refs are `NAME:LINE`: two statements with one name would make them ambiguous.
fn duplicate_names(files: &[JobFile]) -> Option<String> {
    // Settlement rows are `NAME:LINE` too, in the same space.
    let mut names: Vec<&str> =
        files.iter().filter(|f| f.kind == "bank" || f.kind == "settlement").map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    names
        .windows(2)
        .find(|w| w[0] == w[1])
        .map(|w| format!("{DUPLICATE_NAMES} `{}`; rename one and upload it again", w[0]))
}
