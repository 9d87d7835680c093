//! `ingest-chunk`: a PG export too large for one invocation is read in parallel parts. The
//! hashing pass of `ingest-file` also cuts the file into byte ranges that start on a line (each
//! knowing its first line number); each range is one SQS message, and `ingest-chunk` normalizes
//! it with a ranged GET exactly as a whole file is normalized — rows claim their ids, segments and
//! rejects are written under the chunk's own names — then records the chunk `DONE` and counts it on
//! the file, atomically and once. The chunk that completes the count writes the file's outcome:
//! the sums of the chunks' line accounting, dates and day tallies, and their partition entries.
//! Redelivered, concurrent or retried chunks change nothing twice; a chunk failing on its last
//! attempt fails the file (a re-drive of the S3 event queues the chunks not done).

use crate::error::PipelineError;
use crate::file_record::{self, FileRecord, FileStatus};
use crate::ingest::{normalize, undated_fallback, Failure, Part, Route};
use crate::{sqs_batch, Context};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::{Deserialize, Serialize};
use settlepaisa_aws::dynamo::sv;
use settlepaisa_aws::sqs;
use settlepaisa_recon::chunks::ChunkSpan;
use std::collections::BTreeMap;

/// One chunk to ingest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkMessage {
    pub file_id: String,
    pub chunk: u32,
}

/// A chunk plan as the file record keeps it: the S3 version every chunk must read (so all chunks
/// read the bytes the hash was taken of) and the spans, `[start, end, first_line]` each.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    version: Option<String>,
    spans: Vec<[u64; 3]>,
}

fn plan_json(version: Option<&str>, spans: &[ChunkSpan]) -> Result<String, PipelineError> {
    let plan = Plan {
        version: version.map(str::to_string),
        spans: spans.iter().map(|s| [s.start, s.end, u64::from(s.first_line)]).collect(),
    };
    serde_json::to_string(&plan).map_err(|e| PipelineError::Data { key: "chunk plan".into(), message: e.to_string() })
}

fn plan_of(file: &FileRecord) -> Result<(Option<String>, Vec<ChunkSpan>), PipelineError> {
    let bad = |m: String| PipelineError::Data { key: format!("files/{}/chunk_plan", file.file_id), message: m };
    let text = file.chunk_plan.as_deref().ok_or_else(|| bad("missing".into()))?;
    let plan: Plan = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let spans = plan
        .spans
        .into_iter()
        .map(|[start, end, line]| {
            let first_line = u32::try_from(line).map_err(|_| bad(format!("line {line}")))?;
            Ok(ChunkSpan { start, end, first_line })
        })
        .collect::<Result<Vec<_>, PipelineError>>()?;
    if spans.len() != file.chunks as usize {
        return Err(bad(format!("{} spans for {} chunks", spans.len(), file.chunks)));
    }
    Ok((plan.version, spans))
}

/// The id of a chunk's record in the files table (its kind, `pg-chunk`, is one planning never
/// queries; the record still costs its index entry).
pub fn chunk_id(file_id: &str, chunk: u32) -> String {
    format!("{file_id}#C{chunk:04}")
}

const CHUNK_KIND: &str = "pg-chunk";

/// Starts a chunked ingestion of a claimed file: records the plan on the file (still `RECEIVED`)
/// and queues every chunk. Only once: a second start for the same file (its S3 event delivered
/// twice at once) finds the plan recorded and resumes it instead. A re-driven file (the same
/// bytes, so the same plan) keeps the chunks it finished before: they are counted at once and only
/// the others are queued.
pub(crate) async fn start(
    ctx: &Context,
    file: &mut FileRecord,
    spans: &[ChunkSpan],
    version: Option<&str>,
) -> Result<(), Failure> {
    file.kind = "pg".into();
    file.chunks = spans.len() as u32;
    file.chunk_plan = Some(plan_json(version, spans)?);
    file.chunks_queued = false;
    file.status = Some(FileStatus::Received);
    let done = done_chunks(ctx, file).await?;
    file.chunks_done = done.len() as u32;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    if !file_record::put_plan(db, table, file).await? {
        return match file_record::get(db, table, &file.file_id).await? {
            Some(current) if current.chunks > 0 => Ok(resume(ctx, current).await?),
            _ => Err(Failure::Rejected("the file's record changed while it was being planned".into())),
        };
    }
    queue(ctx, file, &done).await?;
    complete_if_last(ctx, &file.file_id).await?;
    Ok(())
}

/// Takes up a chunked file again (its S3 event redelivered, or re-driven after a chunk failed):
/// a `FAILED` file is `RECEIVED` again, the chunks not done are queued, and the file completes
/// if they all are.
pub async fn resume(ctx: &Context, mut file: FileRecord) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    if file.status == Some(FileStatus::Failed) {
        // Back to work, with its chunks to be queued again: if the send below fails, the next
        // re-drive or redelivered event sees `chunks_queued` false and sends them.
        file.chunks_queued = false;
        file_record::reopen_failed(db, table, &file.file_id, Some("chunks_queued")).await?;
    }
    // A redelivered event while the chunks are on their way: their messages are in the queue
    // already, and sending them again would only run them twice.
    if !file.chunks_queued {
        let done = done_chunks(ctx, &file).await?;
        queue(ctx, &file, &done).await?;
        tracing::info!(file_id = file.file_id, done = done.len(), chunks = file.chunks, "chunked file resumed");
    }
    complete_if_last(ctx, &file.file_id).await
}

/// Queues the chunks of a chunked file that are not done (all, at the start; the rest, when a
/// re-drive takes up a file whose chunks failed), then records that they are queued.
pub async fn queue(ctx: &Context, file: &FileRecord, done: &[u32]) -> Result<(), PipelineError> {
    let bodies = (0..file.chunks)
        .filter(|c| !done.contains(c))
        .map(|chunk| serde_json::to_string(&ChunkMessage { file_id: file.file_id.clone(), chunk }).unwrap_or_default())
        .collect();
    sqs::send_all(&ctx.clients.sqs, &ctx.resources.ingest_chunk_queue_url, bodies).await?;
    settlepaisa_aws::requests::record("dynamodb.UpdateItem", 1);
    let out = ctx
        .clients
        .dynamodb
        .update_item()
        .table_name(&ctx.resources.files_table)
        .key("file_id", sv(&file.file_id))
        .update_expression("SET chunks_queued = :yes")
        .condition_expression("attribute_exists(chunks)")
        .expression_attribute_values(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .send()
        .await;
    settlepaisa_aws::dynamo::conditional("UpdateItem", out)?;
    Ok(())
}

/// The chunks of a file already recorded `DONE`.
pub async fn done_chunks(ctx: &Context, file: &FileRecord) -> Result<Vec<u32>, PipelineError> {
    Ok(chunk_records(ctx, file).await?.into_keys().collect())
}

async fn chunk_records(ctx: &Context, file: &FileRecord) -> Result<BTreeMap<u32, FileRecord>, PipelineError> {
    let parts = (0..file.chunks).map(|c| (c, chunk_id(&file.file_id, c)));
    Ok(file_record::done_parts(&ctx.clients.dynamodb, &ctx.resources.files_table, parts).await?)
}

pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    sqs_batch::each(&event, "chunk", |message| Box::pin(handle_message(ctx, message))).await
}

async fn handle_message(ctx: &Context, message: &SqsMessage) -> Result<(), PipelineError> {
    let msg: ChunkMessage = sqs_batch::body(message, "chunk message")?;
    let result = run_chunk(ctx, &msg).await;
    if let Err(e) = &result {
        if sqs_batch::is_last_attempt(message, ctx.max_receive_chunk) {
            // The message goes to the chunk dead-letter queue. The file says why, and its S3 event
            // goes where every failed ingestion waits (the ingest dead-letter queue), so
            // `redrive-ingest` takes it up: the chunks not done run again.
            fail_and_dead_letter(ctx, &msg.file_id, format!("chunk {} failed: {e}", msg.chunk)).await;
        }
    }
    result
}

/// A part of a file (a chunk, a claim group) failed on its last attempt: the file is `FAILED`
/// with why, and — by the part that failed it, once — its S3 event goes where every failed
/// ingestion waits (the ingest dead-letter queue), so `redrive-ingest` runs the parts not done.
pub(crate) async fn fail_and_dead_letter(ctx: &Context, file_id: &str, error: String) {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Ok(Some(mut file)) = file_record::get(db, table, file_id).await else { return };
    file.error = Some(error);
    if !file_record::mark_failed(db, table, &file).await {
        // Another part failed the file first and dead-lettered its event.
        return;
    }
    let event = s3_event_for(ctx, &file);
    if let Err(send) = sqs::send(&ctx.clients.sqs, &ctx.resources.ingest_dlq_url, event).await {
        tracing::error!(file_id = file.file_id, error = %send, "could not dead-letter the file's event");
    }
}

/// The S3 event of a chunked file, as Lambda would have delivered it (for a re-drive).
pub(crate) fn s3_event_for(ctx: &Context, file: &FileRecord) -> String {
    let version = plan_of(file).ok().and_then(|(v, _)| v);
    let mut object = serde_json::json!({ "key": urlencoding::encode(&file.key), "size": file.size });
    match &version {
        Some(v) => object["versionId"] = v.clone().into(),
        // The file's id came from the event's sequencer when the bucket gave no version.
        None => object["sequencer"] = file.version.clone().into(),
    }
    let bucket = serde_json::json!({
        "name": file.bucket,
        "ownerIdentity": { "principalId": "" },
        "arn": format!("arn:aws:s3:::{}", file.bucket),
    });
    serde_json::json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": ctx.clients.sqs.config().region().map(|r| r.to_string()).unwrap_or_default(),
        "eventTime": file.received_at,
        "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "" },
        "requestParameters": { "sourceIPAddress": "" },
        "responseElements": {},
        "s3": { "s3SchemaVersion": "1.0", "configurationId": "ingest-chunk", "bucket": bucket, "object": object },
    }]})
    .to_string()
}

pub async fn run_chunk(ctx: &Context, msg: &ChunkMessage) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(file) = file_record::get(db, table, &msg.file_id).await? else {
        tracing::error!(file_id = msg.file_id, "chunk of a file that does not exist");
        return Ok(());
    };
    // A file another chunk failed still takes this chunk's work: the re-drive then runs only the
    // chunks that failed.
    if !matches!(file.status, Some(FileStatus::Received | FileStatus::Failed)) || msg.chunk >= file.chunks {
        // Finished, deleted, rejected, or not a chunk of it.
        tracing::info!(file_id = file.file_id, chunk = msg.chunk, status = ?file.status, "chunk not needed");
        return Ok(());
    }
    let (version, spans) = plan_of(&file)?;
    let span = *spans.get(msg.chunk as usize).ok_or_else(|| PipelineError::Data {
        key: format!("files/{}/chunk_plan", file.file_id),
        message: format!("no chunk {}", msg.chunk),
    })?;
    let cid = chunk_id(&file.file_id, msg.chunk);
    if file_record::get(db, table, &cid).await?.is_some_and(|c| c.status == Some(FileStatus::Normalized)) {
        return complete_if_last(ctx, &file.file_id).await;
    }
    let mut out = file.clone();
    match normalize(ctx, &mut out, Route::Pg, version.as_deref(), Part::Chunk { index: msg.chunk, span }).await {
        Ok(()) => {}
        Err(Failure::Rejected(reason)) => {
            // Unusable data in this part (binary bytes, an endless line): the file is rejected.
            let mut rejected = file.clone();
            rejected.status = Some(FileStatus::Rejected);
            rejected.error = Some(format!("chunk {} (from line {}): {reason}", msg.chunk, span.first_line));
            undated_fallback(&mut rejected, &ctx.templates);
            file_record::put_outcome(db, table, &rejected).await?;
            return Ok(());
        }
        Err(Failure::Pipeline(e)) => return Err(e),
        Err(Failure::Duplicate(_) | Failure::Chunked) => return Ok(()),
    }
    let mut record = out;
    record.file_id = cid;
    record.kind = CHUNK_KIND.into();
    record.status = Some(FileStatus::Normalized);
    // What the chunk record carries of its own: not the file's plan, counters or error.
    record.chunk_plan = None;
    (record.chunks, record.chunks_done, record.chunks_queued, record.error) = (0, 0, false, None);
    record.size = span.end - span.start;
    record_done(ctx, &file.file_id, &record).await?;
    complete_if_last(ctx, &file.file_id).await
}

/// Records a chunk `DONE` and counts it on its file, in one transaction, once.
async fn record_done(ctx: &Context, file_id: &str, chunk: &FileRecord) -> Result<(), PipelineError> {
    Ok(file_record::record_part_done(&ctx.clients.dynamodb, &ctx.resources.files_table, file_id, chunk, "chunks_done")
        .await?)
}

/// When every chunk is done, writes the file's outcome from theirs (any chunk may be the last, and
/// two may see all done at once: writing it twice writes the same record, and only over
/// `RECEIVED`). The file's `chunks_done` counter (added in the same transaction that records a
/// chunk done, so never ahead of the records) answers "not yet" from one consistent read; only
/// when it says all are done are the chunk records read, and the decision is made from them.
/// Without that, every chunk's completion would read every chunk record: quadratic in the chunks
/// of a file cut small for paced writes.
async fn complete_if_last(ctx: &Context, file_id: &str) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(mut file) = file_record::get(db, table, file_id).await? else { return Ok(()) };
    if !matches!(file.status, Some(FileStatus::Received | FileStatus::Failed)) || file.chunks == 0 {
        return Ok(());
    }
    if !file.groups.is_empty() {
        // Every chunk was done already and its ids are being claimed: the claim steps own the
        // file now (a `FAILED` one is theirs to resume, queueing the groups not done).
        return crate::claims::resume(ctx, file).await;
    }
    if file.chunks_done < file.chunks {
        return Ok(());
    }
    let chunks = chunk_records(ctx, &file).await?;
    if (chunks.len() as u32) < file.chunks {
        return Ok(());
    }
    if file.status == Some(FileStatus::Failed) && !file_record::reopen_failed(db, table, file_id, None).await? {
        // Every chunk got done after all (a dead-lettered chunk moved back by hand), but someone
        // else moved the file first.
        return Ok(());
    }
    assemble(&mut file, chunks.values())?;
    // Every row is read: its ids are claimed group by group, and the last claim step writes the
    // file's outcome.
    file.status = Some(FileStatus::Received);
    if crate::claims::start(ctx, &mut file).await? {
        return Ok(());
    }
    file.status = Some(FileStatus::Normalized);
    if file_record::put_outcome(db, table, &file).await? {
        if let Some(job_id) = &file.job_id {
            crate::job::record_upload(db, &ctx.resources.jobs_table, job_id, &file).await?;
        }
        tracing::info!(file_id, chunks = file.chunks, rows = file.data_rows, "chunked file normalized");
    }
    Ok(())
}

/// The file's outcome from its chunks': line accounting and counts summed (checked), dates
/// widened, day tallies merged, partition entries joined (run-length encoded over chunks).
fn assemble<'c>(file: &mut FileRecord, chunks: impl Iterator<Item = &'c FileRecord>) -> Result<(), PipelineError> {
    let overflow = || PipelineError::Overflow("a chunked file's counts");
    let mut days: BTreeMap<String, BTreeMap<String, [i64; 2]>> = BTreeMap::new();
    let (mut lines, mut rows, mut rejected, mut other, mut records) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut first, mut last): (Option<String>, Option<String>) = (None, None);
    let mut size = 0u64;
    let mut partitions = Vec::new();
    let mut groups = Vec::new();
    for c in chunks {
        lines = lines.checked_add(c.lines_read).ok_or_else(overflow)?;
        rows = rows.checked_add(c.data_rows).ok_or_else(overflow)?;
        rejected = rejected.checked_add(c.rejected_rows).ok_or_else(overflow)?;
        other = other.checked_add(c.non_data_lines).ok_or_else(overflow)?;
        records = records.checked_add(c.records).ok_or_else(overflow)?;
        size = size.checked_add(c.size).ok_or_else(overflow)?;
        first = match (first, &c.first_date) {
            (Some(a), Some(b)) => Some(a.min(b.clone())),
            (a, b) => a.or(b.clone()),
        };
        last = match (last, &c.last_date) {
            (Some(a), Some(b)) => Some(a.max(b.clone())),
            (a, b) => a.or(b.clone()),
        };
        partitions.extend(FileRecord::segment_counts(&c.partitions)?);
        groups.extend(FileRecord::segment_counts(&c.groups)?);
        let tallies: BTreeMap<String, BTreeMap<String, [i64; 2]>> =
            serde_json::from_str(c.day_statuses.as_deref().unwrap_or("{}")).map_err(|e| PipelineError::Data {
                key: format!("files/{}/day_statuses", c.file_id),
                message: e.to_string(),
            })?;
        for (day, by_status) in tallies {
            for (status, [n, paise]) in by_status {
                let t = days.entry(day.clone()).or_default().entry(status).or_default();
                t[0] = t[0].checked_add(n).ok_or_else(overflow)?;
                t[1] = t[1].checked_add(paise).ok_or_else(overflow)?;
            }
        }
    }
    (file.lines_read, file.data_rows, file.rejected_rows, file.non_data_lines, file.records) =
        (lines, rows, rejected, other, records);
    (file.first_date, file.last_date) = (first, last);
    file.partitions = crate::file_record::compact_chunk_entries(&partitions);
    file.groups = crate::file_record::compact_chunk_entries(&groups);
    file.size = size;
    file.day_statuses = Some(serde_json::to_string(&days).unwrap_or_default());
    file.kind = "pg".into();
    file.status = Some(FileStatus::Normalized);
    file.error = None;
    Ok(())
}
