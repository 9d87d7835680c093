//! `match-shard`: reconciles one shard of a job. A UTR shard reads its partitions of every file of
//! the job, runs the engine's UTR stage and leaves the records it could not settle for the residual
//! shard; the residual shard reconciles those together with every record that has no UTR. Each
//! message succeeds or fails on its own (partial batch responses); a shard done once is not done
//! again, so a redelivered message changes nothing; the last attempt of a failing shard marks the
//! shard and its job `FAILED` before the message goes to the dead-letter queue.

use crate::error::PipelineError;
use crate::file_record::FileRecord;
use crate::job::{self, FinalizeMessage, Job, JobStatus, ShardMessage, ShardStatus};
use crate::results::{exception_item, match_pages, settlement_exception_item};
use crate::{settlement_step, sqs_batch, Context};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use settlepaisa_aws::dynamo::put_all;
use settlepaisa_aws::{s3 as objects, sqs};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::engine::{reconcile, reconcile_utr_shard};
use settlepaisa_recon::kpi::Kpis;
use settlepaisa_recon::settlement::exceptions::{settlement_exceptions, SettlementException};
use settlepaisa_recon::shard::{decode, encode_bank, encode_pg, Partition, PARTITIONS};
use settlepaisa_recon::{BankRow, PgTxn, Reconciliation};
use std::collections::HashMap;

pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    sqs_batch::each(&event, "shard", |message| Box::pin(handle_message(ctx, message))).await
}

async fn handle_message(ctx: &Context, message: &SqsMessage) -> Result<(), PipelineError> {
    let msg: ShardMessage = sqs_batch::body(message, "shard message")?;
    let result = run_shard(ctx, &msg).await;
    if let Err(e) = &result {
        if sqs_batch::is_last_attempt(message, ctx.max_receive_count) {
            // The queue will move this message to the dead-letter queue: say so on the job. If
            // that write fails too, the shard's own error is still the one reported.
            let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.jobs_table);
            if let Err(mark) = job::fail_shard(db, table, &msg.job_id, &msg.shard_name(), &e.to_string()).await {
                tracing::error!(job_id = msg.job_id, error = %mark, "could not mark the shard FAILED");
            }
        }
    }
    result
}

/// What a shard settled, for the job's shard item.
pub struct ShardResult {
    pub matches: u64,
    pub exceptions: u64,
}

pub async fn run_shard(ctx: &Context, msg: &ShardMessage) -> Result<(), PipelineError> {
    let jobs = &ctx.resources.jobs_table;
    let db = &ctx.clients.dynamodb;
    let Some(job) = job::get(db, jobs, &msg.job_id).await? else {
        // Nothing can ever run it, and retrying would only repeat this: acknowledge and say so.
        tracing::error!(job_id = msg.job_id, shard = msg.shard_name(), "shard message for a job that does not exist");
        return Ok(());
    };
    let shard = msg.shard_name();
    if job::get_shard_status(db, jobs, &job.job_id, &shard).await? == Some(ShardStatus::Done) {
        // Done before: make sure what follows was queued, then stop.
        return after_shard(ctx, &job, msg.shard).await;
    }
    if job.status == JobStatus::Failed {
        // Another shard failed the job and its cause is on the job; this shard stays queued for a
        // resume instead of failing again with a second-hand error.
        tracing::warn!(job_id = job.job_id, shard, "job has failed; shard left for a resume");
        return Ok(());
    }
    let job = with_partition_entries(ctx, job).await?;
    let result = match msg.shard {
        Some(index) if index < job.shards => utr_shard(ctx, &job, index).await?,
        Some(index) => {
            // No attempt can ever run it: acknowledge, and say so.
            tracing::error!(
                job_id = job.job_id,
                index,
                shards = job.shards,
                "shard message for a shard the job has not"
            );
            return Ok(());
        }
        None => residual_shard(ctx, &job).await?,
    };
    let status = msg.shard.is_none().then_some(JobStatus::Finalizing);
    job::complete_shard(db, jobs, &job.job_id, &shard, result.matches, result.exceptions, status).await?;
    after_shard(ctx, &job, msg.shard).await
}

/// After a UTR shard: when every UTR shard is done, queue the residual shard. After the residual
/// shard: queue the finalizer. Both receivers tolerate a second message.
async fn after_shard(ctx: &Context, job: &Job, shard: Option<u32>) -> Result<(), PipelineError> {
    match shard {
        Some(_) => {
            let now = job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &job.job_id).await?;
            if now.is_some_and(|j| j.shards_done >= j.shards) {
                let body = serde_json::to_string(&ShardMessage { job_id: job.job_id.clone(), shard: None })
                    .unwrap_or_default();
                sqs::send(&ctx.clients.sqs, &ctx.resources.match_queue_url, body).await?;
            }
        }
        None => {
            let body = serde_json::to_string(&FinalizeMessage { job_id: job.job_id.clone() }).unwrap_or_default();
            sqs::send(&ctx.clients.sqs, &ctx.resources.finalize_queue_url, body).await?;
        }
    }
    Ok(())
}

/// Reads segment objects into memory; records are decoded from them afterwards.
async fn read_objects(ctx: &Context, keys: &[String]) -> Result<Vec<(String, String)>, PipelineError> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| PipelineError::Data { key: key.clone(), message: "not UTF-8".into() })?;
        out.push((key.clone(), text));
    }
    Ok(out)
}

/// The job with its files' partition entries, read from its manifest when it has one.
async fn with_partition_entries(ctx: &Context, mut job: Job) -> Result<Job, PipelineError> {
    if let Some(key) = &job.files_manifest {
        let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key).await?;
        let files: Vec<job::JobFile> = serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
        // The manifest must be of exactly the files the job took.
        let ids = |f: &[job::JobFile]| f.iter().map(|f| f.file_id.clone()).collect::<Vec<_>>();
        if ids(&files) != ids(&job.files) {
            return Err(PipelineError::Data { key: key.clone(), message: "not the job's files".into() });
        }
        job.files = files;
    }
    Ok(job)
}

/// Segment keys of the given partitions in every file of the job, from the file records' segment
/// counts: no listing needed. A malformed count fails the shard instead of dropping segments.
fn segment_keys(job: &Job, partitions: &[Partition]) -> Result<Vec<String>, PipelineError> {
    let mut keys = Vec::new();
    for f in &job.files {
        for (name, chunk, count) in FileRecord::segment_counts(&f.partitions)? {
            if partitions.iter().any(|p| p.name() == name) {
                keys.extend((0..count).map(|i| crate::ingest::segment_key(&f.file_id, &name, chunk, i)));
            }
        }
    }
    Ok(keys)
}

/// Decodes every buffer and keeps the records in the job's date range: PG captured in
/// [from, to], credits value-dated in [from, to + window].
fn decode_in_range<'b>(
    job: &Job,
    window: i32,
    buffers: &'b [(String, String)],
) -> Result<(Vec<PgTxn<'b>>, Vec<BankRow<'b>>), PipelineError> {
    let from = Date::parse_iso(&job.from).unwrap_or(Date(i32::MIN));
    let to = Date::parse_iso(&job.to).unwrap_or(Date(i32::MAX - 64));
    let mut pg = Vec::new();
    let mut bank = Vec::new();
    for (key, text) in buffers {
        let (p, b) = decode(text).map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
        pg.extend(p.into_iter().filter(|t| t.date >= from && t.date <= to));
        bank.extend(b.into_iter().filter(|r| r.date >= from && r.date <= to.add_days(window)));
    }
    Ok((pg, bank))
}

async fn utr_shard(ctx: &Context, job: &Job, index: u32) -> Result<ShardResult, PipelineError> {
    let partitions: Vec<Partition> =
        (0..PARTITIONS).map(Partition::Utr).filter(|p| p.shard(job.shards) == Some(index)).collect();
    let keys = segment_keys(job, &partitions)?;
    let buffers = read_objects(ctx, &keys).await?;
    let (pg, bank) = decode_in_range(job, ctx.match_config.date_window_days, &buffers)?;
    let out = reconcile_utr_shard(pg, bank, &ctx.match_config);
    let mut residual = Vec::new();
    for &i in &out.open_pg {
        encode_pg(&out.settled.pg[i as usize], &mut residual);
    }
    for &i in &out.open_bank {
        encode_bank(&out.settled.bank[i as usize], &mut residual);
    }
    let name = job::shard_name(Some(index));
    objects::put(
        &ctx.clients.s3,
        &ctx.resources.artifacts_bucket,
        &format!("work/{}/residual/{name}.tsv", job.job_id),
        residual,
    )
    .await?;
    if !settlement_step::reports(job).is_empty() {
        settlement_step::write_closed(ctx, job, &name, &out).await?;
    }
    store(ctx, job, &name, &out.settled, &[]).await
}

async fn residual_shard(ctx: &Context, job: &Job) -> Result<ShardResult, PipelineError> {
    // Every UTR shard wrote its residual object, empty or not.
    let mut keys: Vec<String> =
        (0..job.shards).map(|i| format!("work/{}/residual/{}.tsv", job.job_id, job::shard_name(Some(i)))).collect();
    keys.extend(segment_keys(job, &[Partition::NoUtr])?);
    let buffers = read_objects(ctx, &keys).await?;
    let (pg, bank) = decode_in_range(job, ctx.match_config.date_window_days, &buffers)?;
    if settlement_step::reports(job).is_empty() {
        let rec = reconcile(pg, bank, &ctx.match_config);
        return store(ctx, job, "residual", &rec, &[]).await;
    }
    let inputs = settlement_step::read_inputs(ctx, job).await?;
    let prepared = settlement_step::prepare(pg, bank, &inputs)?;
    // Rows naming transactions the job does not hold: exported on another capture day (that
    // day's job checks them), or never (`UNKNOWN_TXN`).
    let held = prepared.held();
    let (not_held, days) = prepared.not_held(&held);
    let elsewhere = settlement_step::exported_elsewhere(ctx, job, &not_held, days).await?;
    drop((not_held, held));
    // A job planned before rates were recorded with it was held to the defaults.
    let fees = job.settlement_fees.clone().unwrap_or_default();
    let (rec, settled) = settlement_step::reconcile(prepared, elsewhere, &fees, &ctx.match_config);
    settlement_step::write_outcome(ctx, job, &rec, &settled).await?;
    let findings = settlement_exceptions(&settled, &rec.bank);
    store(ctx, job, "residual", &rec, &findings).await
}

/// Writes a shard's matches and exceptions (the engine's, and the settlement step's for the
/// residual shard of a job with settlement reports), and its KPI partial for the finalizer.
async fn store(
    ctx: &Context,
    job: &Job,
    shard: &str,
    rec: &Reconciliation<'_>,
    settlement: &[SettlementException<'_>],
) -> Result<ShardResult, PipelineError> {
    let sources: HashMap<&str, String> =
        job.files.iter().map(|f| (f.name.as_str(), f.layout.clone().unwrap_or_else(|| f.kind.clone()))).collect();
    let source_of = |file: &str| sources.get(file).cloned().unwrap_or_else(|| "unknown".into());
    let mut items = match_pages(&job.job_id, shard, rec);
    items.extend(rec.exceptions.iter().map(|e| exception_item(&job.job_id, rec, e, &source_of)));
    items.extend(settlement.iter().map(|e| settlement_exception_item(&job.job_id, rec, e, &source_of)));
    put_all(&ctx.clients.dynamodb, &ctx.resources.results_table, items).await?;
    let mut kpis = Kpis::of(rec, &source_of);
    kpis.add_settlement_exceptions(settlement, rec, &source_of);
    let body = serde_json::to_vec(&kpis).unwrap_or_default();
    objects::put(
        &ctx.clients.s3,
        &ctx.resources.artifacts_bucket,
        &format!("work/{}/kpi/{shard}.json", job.job_id),
        body,
    )
    .await?;
    tracing::info!(
        job_id = job.job_id,
        shard,
        matches = rec.matches.len(),
        exceptions = rec.exceptions.len(),
        settlement_exceptions = settlement.len(),
        "shard reconciled"
    );
    Ok(ShardResult { matches: rec.matches.len() as u64, exceptions: (rec.exceptions.len() + settlement.len()) as u64 })
}
