//! `finalize-job`: when the residual shard is done, adds up the shards' KPI partials into the KPI
//! table (one item per day and dimension, written with Put so a repeat writes the same values) and
//! closes the job with its totals.

use crate::error::PipelineError;
use crate::job::{self, FinalizeMessage, JobStatus};
use crate::{sqs_batch, Context};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use settlepaisa_aws::dynamo::{batch_get, nv, put_all, s, sv, Item};
use settlepaisa_aws::s3 as objects;
use settlepaisa_recon::date::Date;
use settlepaisa_recon::kpi::{KpiCounts, Kpis};
use std::collections::BTreeMap;

pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    sqs_batch::each(&event, "finalize", |message| Box::pin(handle_message(ctx, message))).await
}

async fn handle_message(ctx: &Context, message: &SqsMessage) -> Result<(), PipelineError> {
    let msg: FinalizeMessage = sqs_batch::body(message, "finalize message")?;
    finalize_or_fail(ctx, &msg.job_id, message).await
}

/// Finalizes; on the attempt after which the queue dead-letters the message, the job is marked
/// `FAILED` with the cause, so it does not sit in `FINALIZING` with no error (a resume queues the
/// finalizer again).
async fn finalize_or_fail(ctx: &Context, job_id: &str, message: &SqsMessage) -> Result<(), PipelineError> {
    let result = finalize(ctx, job_id).await;
    if let Err(e) = &result {
        if sqs_batch::is_last_attempt(message, ctx.finalize_max_receive_count) {
            let cause = format!("finalize failed: {e}");
            job::fail_job(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id, &cause).await?;
        }
    }
    result
}

pub async fn finalize(ctx: &Context, job_id: &str) -> Result<(), PipelineError> {
    let Some(job) = job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id).await? else {
        tracing::error!(job_id, "finalize message for a job that does not exist");
        return Ok(());
    };
    if job.status == JobStatus::Completed {
        // A redelivered message after completion: the reconciled days may not have been
        // recorded if the finalizer stopped right after completing the job.
        record_reconciled_days(ctx, &job, true).await?;
    }
    if job.status != JobStatus::Finalizing {
        // A redelivered message after completion (the KPI items may already carry resolutions:
        // leave them), or a job that failed: nothing to roll up.
        tracing::info!(job_id, status = %job.status, "not finalizing");
        return Ok(());
    }
    // One partial per UTR shard and one for the residual shard.
    let keys: Vec<String> = (0..job.shards)
        .map(Some)
        .chain(std::iter::once(None))
        .map(|s| format!("work/{job_id}/kpi/{}.json", job::shard_name(s)))
        .collect();
    let mut kpis = Kpis::default();
    for key in &keys {
        let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key).await?;
        let part: Kpis = serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
        kpis.merge(part);
    }
    let statuses = pg_statuses(ctx, &job).await?;
    for day in statuses.keys() {
        kpis.0.entry(day.clone()).or_default().entry("ALL".into()).or_default();
    }
    let items = kpis
        .0
        .iter()
        .flat_map(|(day, dims)| {
            let statuses = &statuses;
            dims.iter().map(move |(dim, c)| {
                let mut item = kpi_item(day, dim, job_id, c);
                if dim == "ALL" {
                    item.insert("statuses".into(), sv(day_json(statuses.get(day))));
                    item.insert("sources".into(), sv(sources_json(dims)));
                }
                item
            })
        })
        .collect();
    put_all(&ctx.clients.dynamodb, &ctx.resources.kpi_table, items).await?;
    // The overview's warm caches drop the days' old figures now, not at their TTL.
    if let Err(e) = settlepaisa_store::kpi_generation::bump(&ctx.clients.dynamodb, &ctx.resources.kpi_table).await {
        tracing::warn!(error = %e, "KPI generation not bumped; caches keep their figures until their TTL");
    }
    let total = kpis.total("ALL");
    let mut summary = serde_json::json!({
        "kpi": total,
        "days": kpis.0.keys().collect::<Vec<_>>(),
        "shards": job.shards,
    });
    if !crate::settlement_step::reports(&job).is_empty() {
        // What the residual shard proved of the acquirers' bulk credits: per status, the fee
        // overcharge, the line checks (the rows are in `results/{job}/settlement*.csv`).
        let key = format!("results/{job_id}/settlement_summary.json");
        let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await?;
        summary["settlements"] = serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
    }
    job::finish(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id, &summary).await?;
    record_reconciled_days(ctx, &job, false).await?;
    tracing::info!(job_id, matched = total.matched_count, pg = total.pg_count, "job finalized");
    Ok(())
}

/// A job over the stack's own files (`incoming/`, every bank) is what the settlement cycle pays
/// from: each of its days names it, unless a later job's completion did. Written once the job is
/// `COMPLETED` (and again by a redelivered message, in case the finalizer stopped in between),
/// so a day never names a job that does not complete. A job over uploaded files, or limited to
/// some banks, proves nothing for payouts.
async fn record_reconciled_days(ctx: &Context, job: &job::Job, redelivered: bool) -> Result<(), PipelineError> {
    let own_files = !job.files.is_empty() && job.files.iter().all(|f| f.key.starts_with("incoming/"));
    if !own_files || !job.sources.is_empty() {
        return Ok(());
    }
    let (Some(from), Some(to)) = (Date::parse_iso(&job.from), Date::parse_iso(&job.to)) else { return Ok(()) };
    let at = job::now_rfc3339();
    for i in 0..=from.days_until(to) {
        let day = from.add_days(i).to_string();
        settlepaisa_store::settlements::put_recon_day(
            &ctx.clients.dynamodb,
            &ctx.resources.settlements_table,
            &day,
            &job.job_id,
            &at,
            // A redelivery does not know when the job completed: it fills a gap, never replaces.
            redelivered,
        )
        .await?;
    }
    Ok(())
}

/// PG rows of the job's days by status, from the PG files' ingestion tallies (the matcher only
/// sees captured rows): `day → status → [count, amount_paise]`.
async fn pg_statuses(
    ctx: &Context,
    job: &job::Job,
) -> Result<BTreeMap<String, BTreeMap<String, [i64; 2]>>, PipelineError> {
    let keys: Vec<Item> = job
        .files
        .iter()
        .filter(|f| f.kind == "pg")
        .map(|f| Item::from([("file_id".to_string(), sv(&f.file_id))]))
        .collect();
    let mut out: BTreeMap<String, BTreeMap<String, [i64; 2]>> = BTreeMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    for record in batch_get(&ctx.clients.dynamodb, &ctx.resources.files_table, keys).await? {
        let Some(text) = s(&record, "day_statuses") else { continue };
        let parsed: BTreeMap<String, BTreeMap<String, [i64; 2]>> =
            serde_json::from_str(&text).map_err(|e| PipelineError::Data {
                key: format!("files/{}/day_statuses", s(&record, "file_id").unwrap_or_default()),
                message: e.to_string(),
            })?;
        for (day, by_status) in parsed.into_iter().filter(|(d, _)| *d >= job.from && *d <= job.to) {
            let mine = out.entry(day).or_default();
            for (status, [count, amount]) in by_status {
                let x = mine.entry(status).or_default();
                x[0] = x[0].checked_add(count).ok_or(PipelineError::Overflow("PG row count"))?;
                x[1] = x[1].checked_add(amount).ok_or(PipelineError::Overflow("PG amount"))?;
            }
        }
    }
    Ok(out)
}

fn day_json(statuses: Option<&BTreeMap<String, [i64; 2]>>) -> String {
    serde_json::to_string(&statuses.cloned().unwrap_or_default()).unwrap_or_default()
}

/// The day's per-source figures, folded into the `ALL` item so one read answers `/api/sources`.
fn sources_json(dims: &BTreeMap<String, KpiCounts>) -> String {
    let sources: BTreeMap<&str, serde_json::Value> = dims
        .iter()
        .filter_map(|(dim, c)| dim.strip_prefix("SOURCE#").map(|s| (s, c)))
        .map(|(source, c)| {
            (
                source,
                serde_json::json!({
                    "bank_count": c.bank_count,
                    "bank_amount_paise": c.bank_amount_paise,
                    "matched_count": c.matched_count,
                    "matched_amount_paise": c.matched_amount_paise,
                }),
            )
        })
        .collect();
    serde_json::to_string(&sources).unwrap_or_default()
}

/// One KPI item: the headline numbers as attributes, everything as JSON in `counts`.
pub fn kpi_item(day: &str, dimension: &str, job_id: &str, c: &KpiCounts) -> Item {
    let mut item = Item::new();
    item.insert("day".into(), sv(day));
    item.insert("dimension".into(), sv(dimension));
    item.insert("job_id".into(), sv(job_id));
    item.insert("pg_count".into(), nv(c.pg_count));
    item.insert("pg_amount_paise".into(), nv(c.pg_amount_paise));
    item.insert("matched_count".into(), nv(c.matched_count));
    item.insert("matched_amount_paise".into(), nv(c.matched_amount_paise));
    item.insert("bank_count".into(), nv(c.bank_count));
    item.insert("bank_amount_paise".into(), nv(c.bank_amount_paise));
    item.insert("counts".into(), sv(serde_json::to_string(c).unwrap_or_default()));
    item
}
