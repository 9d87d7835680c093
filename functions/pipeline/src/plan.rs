//! `plan-match`: starts a job. Finds the normalized files its date range needs, records the job
//! and its shards, and queues one message per UTR shard (SendMessageBatch). The residual shard is
//! queued by the last UTR shard to finish.

use crate::error::PipelineError;
use crate::file_record::{FileRecord, FileStatus};
use crate::job::{self, Job, JobFile, ShardMessage};
use crate::Context;
use serde::{Deserialize, Serialize};
use settlepaisa_aws::dynamo::query_all;
use settlepaisa_aws::sqs;
use settlepaisa_recon::date::Date;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Given by the caller (the API creates jobs); generated when absent.
    pub job_id: Option<String>,
    /// Capture dates to reconcile, inclusive, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    /// UTR shards, 1 to 64; the stack's default when absent.
    pub shards: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct Planned {
    pub job: Job,
    /// False when the job already existed: nothing was queued again.
    pub created: bool,
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
    // A job the API created waits in CREATED for its match request; any other is already planned.
    let was_pending = existing.is_some();
    let (sources, created_by, created_at) = match existing {
        Some(j) if j.status != "CREATED" => return Ok(Planned { job: j, created: false }),
        Some(j) => (j.sources, j.created_by, j.created_at),
        None => (Vec::new(), None, now_rfc3339()),
    };
    let files = files_for(ctx, &job_id, from, to, &sources).await?;
    let mut job = Job {
        job_id: job_id.clone(),
        from: from.to_string(),
        to: to.to_string(),
        shards,
        status: "MATCHING".into(),
        files,
        shards_done: 0,
        error: None,
        created_at,
        summary: None,
        sources,
        created_by,
    };
    if let Some(problem) = duplicate_names(&job.files) {
        job.status = "FAILED".into();
        job.error = Some(problem);
    }
    let created = if was_pending {
        job::start(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &job).await?
    } else {
        job::create(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &job).await?
    };
    if created && job.status == "MATCHING" {
        let messages = (0..shards)
            .map(|i| {
                serde_json::to_string(&ShardMessage { job_id: job_id.clone(), shard: Some(i) }).unwrap_or_default()
            })
            .collect();
        sqs::send_all(&ctx.clients.sqs, &ctx.resources.match_queue_url, messages).await?;
    }
    tracing::info!(job_id, shards, files = job.files.len(), created, "job planned");
    Ok(Planned { job, created })
}

/// Normalized files whose dates overlap the job: PG exports captured in [from, to], statements
/// value-dated in [from, to + date window]. Files uploaded to another job are left out.
async fn files_for(
    ctx: &Context,
    job_id: &str,
    from: Date,
    to: Date,
    sources: &[String],
) -> Result<Vec<JobFile>, PipelineError> {
    let window = ctx.match_config.date_window_days;
    let mut out = Vec::new();
    // A key uploaded again (a bank resending its file) counts once: its latest version.
    let mut latest: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (kind, last) in [("pg", to), ("bank", to.add_days(window))] {
        let items =
            query_all(&ctx.clients.dynamodb, &ctx.resources.files_table, Some("by-kind-last-date"), "kind", kind)
                .await?;
        for f in items.iter().map(FileRecord::from_item) {
            let overlaps = f.last_date.as_deref().and_then(Date::parse_iso).is_some_and(|d| d >= from)
                && f.first_date.as_deref().and_then(Date::parse_iso).is_some_and(|d| d <= last);
            let mine = f.job_id.as_deref().is_none_or(|j| j == job_id);
            let wanted = kind == "pg"
                || sources.is_empty()
                || f.layout.as_deref().is_some_and(|l| sources.iter().any(|s| s.eq_ignore_ascii_case(l)));
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
    Ok(out)
}

/// Bank refs are `NAME:LINE`: two statements with one name would make them ambiguous.
fn duplicate_names(files: &[JobFile]) -> Option<String> {
    let mut names: Vec<&str> = files.iter().filter(|f| f.kind == "bank").map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    names
        .windows(2)
        .find(|w| w[0] == w[1])
        .map(|w| format!("two statements are named `{}`; rename one and upload it again", w[0]))
}

pub fn new_job_id(from: Date, to: Date) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!(
        "JOB-{}-{}-{:08x}",
        from.to_string().replace('-', ""),
        to.to_string().replace('-', ""),
        (nanos as u64) & 0xffff_ffff
    )
}

pub fn now_rfc3339() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    settlepaisa_recon::date::format_utc(secs)
}
