//! `ingest-file`: an object created in the uploads bucket becomes normalized partition segments in
//! the artifacts bucket, a rejects object, PG rows in the transactions table, and a file record.
//!
//! The object is read as a stream, block by block, so a file of hundreds of MB needs memory for one
//! block and the partition buffers (1 MiB each at most), never the whole file. A file that cannot be
//! used (unknown layout, empty, binary, wrong header, deleted before its event was handled) is
//! recorded as `REJECTED` with the reason and the function succeeds: S3 must not retry a permanent
//! error. AWS failures are errors, so Lambda's retries apply to them; each failed attempt leaves the
//! file `FAILED` with its error, and after the last one the event goes to the ingestion dead-letter
//! queue, from which `redrive-ingest` takes it up again.
//!
//! A file with the same bytes as one already counted is `DUPLICATE` and names the original. An
//! `ObjectRemoved` event marks the object's files `DELETED`, so jobs planned after it leave them out.

use crate::error::PipelineError;
use crate::file_record::{self, file_id_of, FileRecord, FileStatus};
use crate::Context;
use aws_lambda_events::s3::{S3Event, S3EventRecord};
use serde::Serialize;
use settlepaisa_aws::s3 as objects;
use settlepaisa_aws::AwsError;
use settlepaisa_recon::chunks::{ChunkPlanner, ChunkSpan};
use settlepaisa_recon::date::ist_date;
use settlepaisa_recon::pg_file::PG_HEADER;
use settlepaisa_recon::reject::Reject;
use settlepaisa_recon::report::{push_reject_rows, write_rejects};
use settlepaisa_recon::shard::{encode_bank, encode_pg, Partition};
use settlepaisa_recon::stream::{LineBlocks, PgStream, StatementStream, MAX_LINE_BYTES};
use settlepaisa_recon::{BankRow, PgTxn as Txn};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A partition buffer is written as a segment object once it reaches this size.
pub(crate) const SEGMENT_BYTES: usize = 1 << 20;

/// What happened to one object.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Ingested {
    pub file_id: String,
    pub key: String,
    pub status: &'static str,
    /// True when the object had already been ingested (a redelivered event).
    pub duplicate: bool,
    pub error: Option<String>,
}

pub async fn handle(ctx: &Context, event: S3Event) -> Result<Vec<Ingested>, PipelineError> {
    let mut out = Vec::with_capacity(event.records.len());
    for record in &event.records {
        if let Some(done) = ingest_record(ctx, record).await? {
            out.push(done);
        }
    }
    Ok(out)
}

/// Where an upload goes, from its key.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Pg,
    Bank {
        layout: Option<String>,
    },
    /// `incoming/settlements/{acquirer}/...`: an acquirer's settlement report (bulk credits).
    Settlement {
        acquirer: String,
    },
    /// `jobs/{job_id}/...`: a file uploaded to a job; its kind is read from its header.
    Job {
        job_id: String,
    },
}

/// Keys must be `incoming/pg/.../{file}`, `incoming/{bank}/.../{file}` or `jobs/{job_id}/.../{file}`:
/// a file directly under `incoming/` names no bank (S3's filters match prefixes only, so such a key
/// still arrives here).
fn route_of(key: &str, templates: &[settlepaisa_recon::template::Template]) -> Option<Route> {
    let mut parts = key.split('/');
    let (top, folder) = (parts.next(), parts.next());
    if parts.next().is_none_or(str::is_empty) || folder.is_none_or(str::is_empty) {
        return None;
    }
    match (top, folder) {
        (Some("incoming"), Some("pg")) => Some(Route::Pg),
        (Some("incoming"), Some("settlements")) => {
            // `incoming/settlements/{acquirer}/{file}`: the acquirer's folder, then a file.
            let mut rest = key.splitn(4, '/').skip(2);
            let acquirer = rest.next().filter(|a| !a.is_empty())?;
            rest.next().filter(|f| !f.is_empty())?;
            Some(Route::Settlement { acquirer: acquirer.to_uppercase() })
        }
        (Some("incoming"), Some(bank)) => {
            let layout = templates.iter().find(|t| t.name.eq_ignore_ascii_case(bank)).map(|t| t.name.clone());
            Some(Route::Bank { layout })
        }
        (Some("jobs"), Some(job)) => Some(Route::Job { job_id: job.to_string() }),
        _ => None,
    }
}

/// Folders under `incoming/` that hold the settlement engine's and the disputes' files, not statements.
const SETTLEMENT_FOLDERS: [&str; 4] = ["refunds", "adjustments", "payout-responses", "disputes"];

fn settlement_folder(key: &str) -> Option<&'static str> {
    let folder = key.strip_prefix("incoming/")?.split_once('/')?.0;
    SETTLEMENT_FOLDERS.into_iter().find(|f| *f == folder)
}

/// Refunds and adjustments are read by each settlement run where they lie; a bank's payout
/// response file goes to `apply-payout-responses`, and a dispute file (`incoming/disputes/`) to
/// `apply-dispute-file`, each through its queue (retried, dead-lettered).
async fn settlement_file(
    ctx: &Context,
    folder: &str,
    bucket: &str,
    key: &str,
    removed: bool,
) -> Result<Option<Ingested>, PipelineError> {
    let queue = match folder {
        "payout-responses" => Some(&ctx.resources.payout_response_queue_url),
        "disputes" => Some(&ctx.resources.dispute_file_queue_url),
        _ => None,
    };
    if let Some(queue) = queue.filter(|_| !removed) {
        let body = settlepaisa_aws::forwarded::ForwardedFile::body(bucket, key);
        settlepaisa_aws::requests::record("sqs.SendMessage", 1);
        ctx.clients
            .sqs
            .send_message()
            .queue_url(queue)
            .message_body(body)
            .send()
            .await
            .map_err(|e| settlepaisa_aws::AwsError::new("SendMessage", settlepaisa_aws::sdk_message(&e)))?;
    }
    tracing::info!(key, folder, "a settlement file: not a statement");
    Ok(None)
}

async fn ingest_record(ctx: &Context, record: &S3EventRecord) -> Result<Option<Ingested>, PipelineError> {
    let bucket = record.s3.bucket.name.clone().unwrap_or_default();
    let raw_key = record.s3.object.key.clone().unwrap_or_default();
    // Keys arrive URL-encoded, with spaces as `+`.
    let key = urlencoding::decode(&raw_key.replace('+', " ")).map(|k| k.into_owned()).unwrap_or(raw_key);
    if key.is_empty() || key.ends_with('/') {
        return Ok(None);
    }
    let event_name = record.event_name.as_deref().unwrap_or("");
    let removed_event = event_name.trim_start_matches("s3:").starts_with("ObjectRemoved");
    if let Some(folder) = settlement_folder(&key) {
        return settlement_file(ctx, folder, &bucket, &key, removed_event).await;
    }
    if removed_event {
        return removed(ctx, record, &bucket, &key).await;
    }
    // The version identifies the upload: a new version of a key is a new file. S3 puts it in the
    // event of a versioned bucket; an event without it (an emulator's) asks S3 for the current one.
    let event_version = record.s3.object.version_id.clone().filter(|v| !v.is_empty() && v != "null");
    let object_version = match &event_version {
        Some(v) => Some(v.clone()),
        None => objects::current_version(&ctx.clients.s3, &bucket, &key).await?,
    };
    let version = object_version
        .clone()
        .or_else(|| record.s3.object.sequencer.clone())
        .or_else(|| record.s3.object.e_tag.clone())
        .unwrap_or_default();
    let file_id = file_id_of(&bucket, &key, &version);
    let name = key.rsplit('/').next().unwrap_or(&key).to_string();
    let mut file = FileRecord {
        file_id: file_id.clone(),
        bucket: bucket.clone(),
        key: key.clone(),
        version: version.clone(),
        name,
        kind: "unknown".into(),
        job_id: match route_of(&key, &ctx.templates) {
            Some(Route::Job { job_id }) => Some(job_id),
            _ => None,
        },
        received_at: record.event_time.to_rfc3339(),
        ..FileRecord::default()
    };
    // Dated and kinded from the start: a claim whose invocation is killed (a timeout, memory)
    // still shows in connector health and on its job.
    undated_fallback(&mut file, &ctx.templates);
    if let Some(existing) = file_record::claim(&ctx.clients.dynamodb, &ctx.resources.files_table, &file).await? {
        let status = existing.status.unwrap_or(FileStatus::Received);
        if existing.layout_requested_at.is_some() {
            // Ops asked for a read with another template: that read, not this event, records it.
            tracing::info!(file_id, key, "a read with another template is pending; the event leaves it to that");
            let status = status.as_str();
            return Ok(Some(Ingested { file_id, key, status, duplicate: true, error: None }));
        }
        if !existing.groups.is_empty() && matches!(status, FileStatus::Received | FileStatus::Failed) {
            // Claiming its ids: a redelivered event, or a re-drive after a claim step failed.
            crate::claims::resume(ctx, existing).await?;
            let status = FileStatus::Received.as_str();
            return Ok(Some(Ingested { file_id, key, status, duplicate: true, error: None }));
        }
        if existing.chunks > 0 && matches!(status, FileStatus::Received | FileStatus::Failed) {
            // A chunked file: a redelivered event, or a re-drive after a chunk failed.
            crate::chunks::resume(ctx, existing).await?;
            let status = FileStatus::Received.as_str();
            return Ok(Some(Ingested { file_id, key, status, duplicate: true, error: None }));
        }
        if status != FileStatus::Received {
            tracing::info!(file_id, key, status = status.as_str(), "already ingested");
            // The outcome may have been written by an attempt that died before the job's copy.
            if let Some(job_id) = &existing.job_id {
                crate::job::record_upload(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id, &existing).await?;
            }
            return Ok(Some(Ingested { file_id, key, status: status.as_str(), duplicate: true, error: None }));
        }
    }
    if let Some(job_id) = &file.job_id {
        crate::job::record_upload(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id, &file).await?;
    }
    let version_to_read = object_version.as_deref();
    match ingest_claimed(ctx, &mut file, version_to_read, event_version.is_some()).await {
        Ok(done) => Ok(Some(done)),
        Err(e) => {
            // Visible at once, not only after the last retry: connector health and the job's
            // uploads see `FAILED` with the cause. A retry or a re-drive claims it again.
            let mut failed = file.clone();
            failed.error = Some(e.to_string());
            failed.status = Some(FileStatus::Failed);
            file_record::mark_failed(&ctx.clients.dynamodb, &ctx.resources.files_table, &failed).await;
            if let Some(job_id) = &failed.job_id {
                let _ =
                    crate::job::record_upload(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id, &failed).await;
            }
            Err(e)
        }
    }
}

/// Normalizes a claimed file (reading `version` when S3 named one) and records the outcome. The
/// object's bytes are hashed first and the hash claimed before any row is: a file with the bytes
/// of one already counted in its scope (`incoming/`, or its job) is `DUPLICATE` and claims no
/// transaction, so two copies handled at the same moment cannot split the day's rows between them.
async fn ingest_claimed(
    ctx: &Context,
    file: &mut FileRecord,
    version: Option<&str>,
    versioned_event: bool,
) -> Result<Ingested, PipelineError> {
    let key = file.key.clone();
    let route = route_of(&key, &ctx.templates);
    let outcome = match route {
        None => Err(Failure::Rejected(format!(
            "`{key}` is not under incoming/{{bank}}/, incoming/pg/, incoming/settlements/{{acquirer}}/ or \
             jobs/{{job_id}}/ (a file directly under incoming/ names no bank); nothing knows what it is"
        ))),
        Some(route) => match deleted_since(ctx, file, versioned_event.then_some(version).flatten()).await? {
            Some(reason) => Err(Failure::Rejected(reason)),
            None => match content_hash(ctx, file, version).await? {
                Err(reason) => Err(Failure::Rejected(reason)),
                Ok(read) => {
                    let spans = read.spans;
                    file.sha256 = read.sha256;
                    file.size = read.size;
                    let scope = scope_of(file);
                    let db = &ctx.clients.dynamodb;
                    match file_record::claim_content(
                        db,
                        &ctx.resources.files_table,
                        &scope,
                        &file.sha256,
                        &file.file_id,
                    )
                    .await?
                    {
                        Some(original) => Err(Failure::Duplicate(original)),
                        None => match (&route, chunk_plan(&spans)) {
                            (Route::Pg, Some(spans)) => match pg_header_problem(&read.head) {
                                // Checked here, once: the chunks after the first never see line 1.
                                Some(reason) => Err(Failure::Rejected(reason)),
                                None => match crate::chunks::start(ctx, file, spans, version).await {
                                    Ok(()) => Err(Failure::Chunked),
                                    Err(failure) => Err(failure),
                                },
                            },
                            (Route::Settlement { acquirer }, _) => {
                                crate::settlement_ingest::normalize(ctx, file, acquirer, version).await
                            }
                            _ => normalize(ctx, file, route, version, Part::Whole).await,
                        },
                    }
                }
            },
        },
    };
    match outcome {
        Ok(()) if file.kind == "pg" && crate::claims::start(ctx, file).await? => {
            // Its claim steps are queued; the last one to finish writes the file's outcome.
            tracing::info!(file_id = file.file_id, key, groups = file.groups.len(), "claiming transaction ids");
            let status = FileStatus::Received.as_str();
            return Ok(Ingested { file_id: file.file_id.clone(), key, status, duplicate: false, error: None });
        }
        Ok(()) => file.status = Some(FileStatus::Normalized),
        Err(Failure::Chunked) => {
            // Its chunks are queued; the last one to finish writes the file's outcome.
            tracing::info!(file_id = file.file_id, key, chunks = file.chunks, "ingesting in chunks");
            let status = FileStatus::Received.as_str();
            return Ok(Ingested { file_id: file.file_id.clone(), key, status, duplicate: false, error: None });
        }
        Err(Failure::Duplicate(original)) => {
            tracing::warn!(file_id = file.file_id, key, original, "same bytes as a file already counted");
            file.status = Some(FileStatus::Duplicate);
            file.error = Some(format!("the same bytes as file {original}, which counts instead"));
            file.duplicate_of = Some(original);
        }
        Err(Failure::Rejected(reason)) => {
            tracing::warn!(file_id = file.file_id, key, reason, "file rejected");
            file.status = Some(FileStatus::Rejected);
            file.error = Some(reason);
            undated_fallback(file, &ctx.templates);
        }
        Err(Failure::Pipeline(e)) => return Err(e),
    }
    if let Some(now) = record_outcome(ctx, file).await? {
        tracing::warn!(file_id = file.file_id, key, status = now.as_str(), "the record changed meanwhile; that stands");
        file.status = Some(now);
    }
    let status = file.status.unwrap_or(FileStatus::Received).as_str();
    tracing::info!(
        file_id = file.file_id,
        key,
        status,
        rows = file.data_rows,
        rejects = file.rejected_rows,
        "ingested"
    );
    Ok(Ingested { file_id: file.file_id.clone(), key, status, duplicate: false, error: file.error.clone() })
}

/// Where a file counts: every job (`incoming/`), or only its own job (`jobs/{id}/`). Content and
/// transaction ids are unique within a scope.
pub fn scope_of(file: &FileRecord) -> String {
    file.job_id.as_ref().map_or_else(|| "incoming".to_string(), |j| format!("job:{j}"))
}

/// What one streamed read of an object tells before its rows are read.
struct HashRead {
    sha256: String,
    size: u64,
    /// Spans of about the configured chunk size, each starting on a line.
    spans: Vec<ChunkSpan>,
    /// The first bytes (up to 64 KiB), for checks the chunks after the first cannot make.
    head: Vec<u8>,
}

/// The SHA-256 of the object's bytes, its size, chunk plan and head, from one streamed read (`Err`
/// with the reason when it is gone).
async fn content_hash(
    ctx: &Context,
    file: &FileRecord,
    version: Option<&str>,
) -> Result<Result<HashRead, String>, PipelineError> {
    let mut obj = match objects::open(&ctx.clients.s3, &file.bucket, &file.key, version).await {
        Ok(obj) => obj,
        Err(e) if objects::is_missing(&e) => {
            return Ok(Err(format!("s3://{}/{} no longer exists: nothing to ingest", file.bucket, file.key)))
        }
        Err(e) => return Err(e.into()),
    };
    let mut hasher = Sha256::new();
    let mut planner = ChunkPlanner::new(ctx.chunk_bytes);
    let (mut head, mut size) = (Vec::new(), 0u64);
    while let Some(bytes) = obj.body.next().await.transpose().map_err(|e| AwsError::new("GetObject", e))? {
        hasher.update(&bytes);
        planner.push(&bytes);
        size += bytes.len() as u64;
        if head.len() < HEAD_BYTES {
            head.extend_from_slice(&bytes[..bytes.len().min(HEAD_BYTES - head.len())]);
        }
    }
    Ok(Ok(HashRead { sha256: hex::encode(hasher.finalize()), size, spans: planner.finish(), head }))
}

const HEAD_BYTES: usize = 64 << 10;

/// Why a PG export's first line is not the export's header (or the file is binary), from its head.
fn pg_header_problem(head: &[u8]) -> Option<String> {
    let end = head.iter().position(|&b| b == b'\n').map_or(head.len(), |i| i + 1);
    let mut probe = PgStream::default();
    probe.feed(&head[..end], &mut |_, _| {}).err().map(|e| e.to_string())
}

/// The chunks to ingest in parallel, when the file is larger than one.
fn chunk_plan(spans: &[ChunkSpan]) -> Option<&[ChunkSpan]> {
    (spans.len() > 1).then_some(spans)
}

/// A drop that never got as far as its dates (in flight, rejected, or failed) still shows: a
/// statement counts against its bank's connector health (kind `bank` with the folder's bank as
/// layout), a PG export is named by the jobs planned meanwhile; both dated the IST day it arrived.
pub(crate) fn undated_fallback(file: &mut FileRecord, templates: &[settlepaisa_recon::template::Template]) {
    match (route_of(&file.key, templates), file.kind.as_str()) {
        (Some(Route::Bank { layout }), "unknown") => {
            file.kind = "bank".into();
            file.layout = Some(layout.unwrap_or_else(|| file.key.split('/').nth(1).unwrap_or_default().to_uppercase()));
        }
        // A PG export in flight or failed shows to the jobs planned meanwhile.
        (Some(Route::Pg), "unknown") => file.kind = "pg".into(),
        (Some(Route::Settlement { acquirer }), "unknown") => {
            file.kind = "settlement".into();
            file.layout = Some(acquirer);
        }
        _ => {}
    }
    if file.last_date.is_none() {
        let received = settlepaisa_recon::date::parse_rfc3339(&file.received_at).map(ist_date);
        file.first_date = received.map(|d| d.to_string());
        file.last_date = file.first_date.clone();
    }
}

/// Why a versioned event's object must not count although its version can still be read: the key
/// was deleted (its current version is a delete marker) before the event was handled. S3 keeps the
/// old version readable, so only asking for the key's current state tells.
async fn deleted_since(
    ctx: &Context,
    file: &FileRecord,
    version: Option<&str>,
) -> Result<Option<String>, PipelineError> {
    if version.is_none() {
        return Ok(None);
    }
    let versions = objects::versions_of(&ctx.clients.s3, &file.bucket, &file.key).await?;
    let latest = versions.iter().find(|v| v.is_latest);
    let ours = versions.iter().find(|v| Some(v.version_id.as_str()) == version);
    Ok(match (ours, latest) {
        (None, _) => Some(format!(
            "version {} of s3://{}/{} no longer exists: nothing to ingest",
            version.unwrap_or_default(),
            file.bucket,
            file.key
        )),
        (Some(_), Some(l)) if l.delete_marker => Some(format!(
            "s3://{}/{} was deleted before it was ingested; upload it again to count it",
            file.bucket, file.key
        )),
        _ => None,
    })
}

/// An `ObjectRemoved` event: the key's ingested versions up to the removal stop counting. For a
/// delete marker that is every version older than it; for a version deleted for good, that version.
async fn removed(
    ctx: &Context,
    record: &S3EventRecord,
    bucket: &str,
    key: &str,
) -> Result<Option<Ingested>, PipelineError> {
    let at = record.event_time.to_rfc3339();
    let event_version = record.s3.object.version_id.clone().filter(|v| !v.is_empty() && v != "null");
    let versions = objects::versions_of(&ctx.clients.s3, bucket, key).await?;
    let marker = versions.iter().find(|v| v.delete_marker && Some(&v.version_id) == event_version.as_ref());
    let gone: Vec<String> = match (marker, &event_version) {
        // A delete marker that is still the key's current state removed every version. One that
        // is not (the key was uploaded again since) removed the versions older than it; a version
        // of the same second is taken as the newer (the timestamps are whole seconds, and keeping
        // a file that counts beats losing one).
        (Some(m), _) => versions
            .iter()
            .filter(|v| !v.delete_marker && (m.is_latest || v.last_modified < m.last_modified))
            .map(|v| v.version_id.clone())
            .collect(),
        (None, Some(v)) => vec![v.clone()],
        // An event with no version on a versioned bucket (the emulator's): every version that is
        // not current any more, and the current one when the key is gone altogether.
        (None, None) => {
            let gone_entirely = versions.iter().find(|v| v.is_latest).is_none_or(|l| l.delete_marker);
            versions
                .iter()
                .filter(|v| !v.delete_marker && (gone_entirely || !v.is_latest))
                .map(|v| v.version_id.clone())
                .collect()
        }
    };
    let mut marked = Vec::new();
    for version in gone {
        let file_id = file_id_of(bucket, key, &version);
        if file_record::mark_deleted(&ctx.clients.dynamodb, &ctx.resources.files_table, &file_id, &at).await? {
            marked.push(file_id);
        }
    }
    tracing::info!(key, files = ?marked, "object removed");
    Ok(marked.first().map(|file_id| Ingested {
        file_id: file_id.clone(),
        key: key.to_string(),
        status: FileStatus::Deleted.as_str(),
        duplicate: false,
        error: None,
    }))
}

/// Normalizes a stored statement again with the template `layout` (an operator's choice, when
/// the header did not identify the bank or identified it wrongly), as `POST
/// /api/jobs/{id}/normalize` requested it. The file keeps its id, so a job planned afterwards reads
/// the new rows; rows and rejects are replaced, not added. The outcome is written only over the
/// request it answers: a file deleted or asked again meanwhile keeps that.
pub async fn renormalize(
    ctx: &Context,
    file_id: &str,
    layout: &str,
    requested_at: i64,
) -> Result<Option<FileRecord>, PipelineError> {
    let Some(old) = file_record::get(&ctx.clients.dynamodb, &ctx.resources.files_table, file_id).await? else {
        return Ok(None);
    };
    if old.status != Some(FileStatus::Received) || old.layout_requested_at != Some(requested_at) {
        // Answered already (a redelivered message), asked again since (a newer request's read
        // answers it), or never asked: nothing to read.
        tracing::info!(file_id, status = ?old.status, "this read is not the one pending");
        return Ok(Some(old));
    }
    let mut file = FileRecord {
        file_id: old.file_id.clone(),
        bucket: old.bucket.clone(),
        key: old.key.clone(),
        version: old.version.clone(),
        name: old.name.clone(),
        kind: "unknown".into(),
        job_id: old.job_id.clone(),
        received_at: old.received_at.clone(),
        ..FileRecord::default()
    };
    let version = (!old.version.is_empty()).then_some(old.version.as_str());
    let hashed = match old.sha256.is_empty() {
        false => Ok(old.sha256.clone()),
        true => content_hash(ctx, &file, version).await?.map(|read| read.sha256),
    };
    let outcome = match hashed {
        Err(reason) => Err(Failure::Rejected(reason)),
        Ok(sha256) => {
            file.sha256 = sha256;
            Ok(())
        }
    };
    let db = &ctx.clients.dynamodb;
    let outcome = match outcome {
        Err(failure) => Err(failure),
        Ok(()) => {
            let scope = scope_of(&file);
            match file_record::claim_content(db, &ctx.resources.files_table, &scope, &file.sha256, &file.file_id)
                .await?
            {
                Some(original) => Err(Failure::Duplicate(original)),
                None => {
                    let route = Route::Bank { layout: Some(layout.to_string()) };
                    normalize(ctx, &mut file, route, version, Part::Whole).await
                }
            }
        }
    };
    match outcome {
        Ok(()) => file.status = Some(FileStatus::Normalized),
        Err(Failure::Duplicate(original)) => {
            file.status = Some(FileStatus::Duplicate);
            file.error = Some(format!("the same bytes as file {original}, which counts instead"));
            file.duplicate_of = Some(original);
        }
        Err(Failure::Rejected(reason)) => {
            file.status = Some(FileStatus::Rejected);
            file.error = Some(reason);
            file.kind = "bank".into();
            file.layout = Some(layout.to_string());
            (file.first_date, file.last_date) = (old.first_date.clone(), old.last_date.clone());
        }
        Err(Failure::Pipeline(e)) => return Err(e),
        // A statement is never read in chunks.
        Err(Failure::Chunked) => {
            return Err(PipelineError::Data { key: file.key.clone(), message: "a statement read in chunks".into() })
        }
    }
    if !file_record::put_requested_outcome(&ctx.clients.dynamodb, &ctx.resources.files_table, &file, requested_at)
        .await?
    {
        let now = file_record::get(&ctx.clients.dynamodb, &ctx.resources.files_table, file_id).await?;
        tracing::warn!(file_id, status = ?now.as_ref().and_then(|f| f.status), "the file changed meanwhile; that stands");
        return Ok(now);
    }
    if let Some(job_id) = &file.job_id {
        crate::job::record_upload(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id, &file).await?;
    }
    tracing::info!(file_id, layout, status = file.status.map(FileStatus::as_str), "renormalized");
    Ok(Some(file))
}

/// Stores what ingestion made of a file, and under its job when it was uploaded to one. When the
/// record is no longer this ingestion's claim (S3 reported the object deleted meanwhile, or a
/// concurrent attempt recorded a failure), that stands: the status it holds is returned.
async fn record_outcome(ctx: &Context, file: &FileRecord) -> Result<Option<FileStatus>, PipelineError> {
    if !file_record::put_outcome(&ctx.clients.dynamodb, &ctx.resources.files_table, file).await? {
        let now = file_record::get(&ctx.clients.dynamodb, &ctx.resources.files_table, &file.file_id).await?;
        return Ok(Some(now.and_then(|r| r.status).unwrap_or(FileStatus::Received)));
    }
    if let Some(job_id) = &file.job_id {
        crate::job::record_upload(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id, file).await?;
    }
    Ok(None)
}

pub(crate) enum Failure {
    Rejected(String),
    /// The same bytes as this file, which counts instead.
    Duplicate(String),
    /// Too large for one invocation: handed to `ingest-chunk` in parts.
    Chunked,
    Pipeline(PipelineError),
}

impl From<PipelineError> for Failure {
    fn from(e: PipelineError) -> Self {
        Failure::Pipeline(e)
    }
}

impl From<AwsError> for Failure {
    fn from(e: AwsError) -> Self {
        Failure::Pipeline(e.into())
    }
}

impl From<settlepaisa_store::StoreError> for Failure {
    fn from(e: settlepaisa_store::StoreError) -> Self {
        Failure::Pipeline(e.into())
    }
}

/// Buffers by segment name (a UTR partition, or a PG row's claim group), flushed to segment
/// objects as they fill.
struct Segments<'c, K> {
    ctx: &'c Context,
    file_id: String,
    /// `normalized` (UTR partitions, what match shards read) or `bydate` (claim groups).
    prefix: &'static str,
    /// `/c0003` when writing one chunk of a file: its segments are `…/p07/c0003-00000.tsv` and
    /// its entries `p07/c0003:n`, so chunks never write over each other.
    chunk: Option<u32>,
    name: fn(&K) -> String,
    buffers: BTreeMap<K, (Vec<u8>, u32)>,
}

impl<K: Ord + Copy> Segments<'_, K> {
    fn buffer(&mut self, k: K) -> &mut Vec<u8> {
        &mut self.buffers.entry(k).or_insert_with(|| (Vec::with_capacity(64 << 10), 0)).0
    }

    async fn flush(&mut self, all: bool) -> Result<(), AwsError> {
        for (k, (buf, seq)) in self.buffers.iter_mut() {
            if buf.is_empty() || (!all && buf.len() < SEGMENT_BYTES) {
                continue;
            }
            let key = object_key(self.prefix, &self.file_id, &(self.name)(k), self.chunk, *seq);
            objects::put(&self.ctx.clients.s3, &self.ctx.resources.artifacts_bucket, &key, std::mem::take(buf)).await?;
            *seq += 1;
        }
        Ok(())
    }

    /// `name:segments` (or `name/cNNNN:segments` for a chunk) of every segment name written (after
    /// the final flush).
    fn entries(&self) -> Vec<String> {
        let chunk = self.chunk.map(|c| format!("/c{c:04}")).unwrap_or_default();
        self.buffers
            .iter()
            .filter(|(_, (_, seq))| *seq > 0)
            .map(|(k, (_, seq))| format!("{}{chunk}:{seq}", (self.name)(k)))
            .collect()
    }
}

fn partition_name(p: &Partition) -> String {
    p.name()
}

fn claim_group_name(g: &(settlepaisa_recon::date::Date, u32)) -> String {
    settlepaisa_store::txn_pages::group_name(&g.0.to_string(), g.1)
}

/// The object holding segment `seq` of a partition (of one chunk, for a chunked file).
pub fn segment_key(file_id: &str, partition: &str, chunk: Option<u32>, seq: u32) -> String {
    object_key("normalized", file_id, partition, chunk, seq)
}

/// The object holding segment `seq` of a PG export's claim group (of one chunk).
pub fn group_segment_key(file_id: &str, group: &str, chunk: Option<u32>, seq: u32) -> String {
    object_key("bydate", file_id, group, chunk, seq)
}

fn object_key(prefix: &str, file_id: &str, name: &str, chunk: Option<u32>, seq: u32) -> String {
    match chunk {
        Some(c) => format!("{prefix}/{file_id}/{name}/c{c:04}-{seq:05}.tsv"),
        None => format!("{prefix}/{file_id}/{name}/{seq:05}.tsv"),
    }
}

/// Which part of the object a normalization reads: all of it, or one chunk of a large PG export
/// (bytes and first line from the chunk plan).
#[derive(Clone, Copy, Debug)]
pub enum Part {
    Whole,
    Chunk { index: u32, span: ChunkSpan },
}

/// Normalizes the object (or one chunk of it) into segments, rejects and, for PG rows, claimed
/// transaction items; `file` receives the counts, dates and partitions of what was read.
pub(crate) async fn normalize(
    ctx: &Context,
    file: &mut FileRecord,
    route: Route,
    version: Option<&str>,
    part: Part,
) -> Result<(), Failure> {
    let opened = match part {
        Part::Whole => objects::open(&ctx.clients.s3, &file.bucket, &file.key, version).await,
        Part::Chunk { span, .. } => {
            objects::open_range(&ctx.clients.s3, &file.bucket, &file.key, version, span.start, span.end).await
        }
    };
    let mut obj = present(file, opened)?;
    file.size = obj.size;
    let mut blocks = LineBlocks::default();
    let chunk = match part {
        Part::Whole => None,
        Part::Chunk { index, .. } => Some(index),
    };
    let file_id = file.file_id.clone();
    let mut segments = Segments {
        ctx,
        file_id: file_id.clone(),
        prefix: "normalized",
        chunk,
        name: partition_name,
        buffers: BTreeMap::new(),
    };
    let mut groups =
        Segments { ctx, file_id, prefix: "bydate", chunk, name: claim_group_name, buffers: BTreeMap::new() };
    let pg_stream = match part {
        Part::Chunk { span, .. } if span.first_line > 1 => PgStream::continuing(span.first_line),
        _ => PgStream::default(),
    };
    let mut reader: Option<Reader> = match &route {
        Route::Pg => Some(Reader::Pg(pg_stream, DayStatuses::new())),
        Route::Bank { layout } => Some(Reader::Bank(bank_stream(ctx, layout.as_deref())?)),
        Route::Job { .. } | Route::Settlement { .. } => None,
    };
    let name = file.name.clone();
    let mut rejects = RejectsSpill::new(ctx, &file.file_id, chunk, &file.name);
    loop {
        let chunk = obj.body.next().await.transpose().map_err(|e| AwsError::new("GetObject", e))?;
        let block = match &chunk {
            Some(bytes) => {
                let block = blocks.push(bytes);
                if blocks.pending_len() > MAX_LINE_BYTES {
                    return Err(Failure::Rejected(format!(
                        "more than {} MiB without a line break: not a statement or an export",
                        MAX_LINE_BYTES >> 20
                    )));
                }
                block
            }
            None => std::mem::take(&mut blocks).finish(),
        };
        if let Some(block) = block {
            let reader = match &mut reader {
                Some(r) => r,
                None => reader.insert(detect(ctx, &block)?),
            };
            match reader {
                Reader::Bank(stream) => feed_statement(stream, &name, &block, &mut segments)?,
                Reader::Pg(stream, statuses) => feed_export(&block, stream, statuses, &mut groups)?,
            }
            segments.flush(false).await?;
            groups.flush(false).await?;
            rejects.add(reader.take_rejects()).await?;
        }
        if chunk.is_none() {
            break;
        }
    }
    let Some(reader) = reader else {
        return Err(Failure::Rejected("the file is empty".into()));
    };
    let tail = match reader {
        Reader::Bank(stream) => {
            let summary = stream.finish().map_err(|e| Failure::Rejected(e.to_string()))?;
            file.kind = "bank".into();
            file.layout = Some(summary.layout);
            let s = summary.stats;
            (file.lines_read, file.data_rows, file.rejected_rows, file.non_data_lines, file.records) =
                (s.lines_read, s.data_rows, s.rejected_rows, s.non_data_lines, s.credits);
            (file.first_date, file.last_date) = dates(summary.dates);
            summary.rejects
        }
        Reader::Pg(stream, statuses) => {
            let summary = stream.finish().map_err(|e| Failure::Rejected(e.to_string()))?;
            file.day_statuses = Some(day_statuses_json(&statuses));
            file.kind = "pg".into();
            let s = summary.stats;
            (file.lines_read, file.data_rows, file.rejected_rows, file.non_data_lines, file.records) =
                (s.lines_read, s.data_rows, s.rejected_rows, s.non_data_lines, s.captured);
            (file.first_date, file.last_date) = dates(summary.dates);
            summary.rejects
        }
    };
    segments.flush(true).await?;
    groups.flush(true).await?;
    file.partitions = segments.entries();
    file.groups = groups.entries();
    rejects.add(tail).await?;
    rejects.finish().await?;
    Ok(())
}

/// The object opened, or why there is nothing to ingest: it was deleted since its event.
pub(crate) fn present(
    file: &FileRecord,
    opened: Result<objects::OpenObject, AwsError>,
) -> Result<objects::OpenObject, Failure> {
    match opened {
        Ok(obj) => Ok(obj),
        Err(e) if objects::is_missing(&e) => {
            Err(Failure::Rejected(format!("s3://{}/{} no longer exists: nothing to ingest", file.bucket, file.key)))
        }
        Err(e) => Err(e.into()),
    }
}

/// Rejected lines written to `rejects/{file_id}.csv` (`rejects/{file_id}/cNNNN.csv` per chunk of a
/// chunked file) as they are found, in parts of
/// [`REJECT_PART_BYTES`] (an S3 multipart upload), so a file of millions of bad lines never holds
/// them in memory. No object when nothing was rejected.
pub(crate) struct RejectsSpill {
    writer: objects::PartWriter,
    name: String,
    buf: Vec<u8>,
    any: bool,
}

/// Part size of the rejects object (S3 wants at least 5 MiB for every part but the last).
const REJECT_PART_BYTES: usize = 8 << 20;

impl RejectsSpill {
    pub(crate) fn new(ctx: &Context, file_id: &str, chunk: Option<u32>, name: &str) -> RejectsSpill {
        let key = match chunk {
            Some(c) => format!("rejects/{file_id}/c{c:04}.csv"),
            None => format!("rejects/{file_id}.csv"),
        };
        let mut buf = Vec::with_capacity(64 << 10);
        let _ = write_rejects(std::iter::empty(), &mut buf);
        RejectsSpill {
            writer: objects::PartWriter::new(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key),
            name: name.to_string(),
            buf,
            any: false,
        }
    }

    pub(crate) async fn add(&mut self, rejects: Vec<Reject>) -> Result<(), AwsError> {
        if rejects.is_empty() {
            return Ok(());
        }
        self.any = true;
        push_reject_rows(&self.name, &rejects, &mut self.buf);
        if self.buf.len() >= REJECT_PART_BYTES {
            self.writer.part(std::mem::take(&mut self.buf)).await?;
        }
        Ok(())
    }

    pub(crate) async fn finish(self) -> Result<(), AwsError> {
        if self.any {
            self.writer.finish(self.buf).await?;
        }
        Ok(())
    }
}

pub(crate) fn dates(
    d: Option<(settlepaisa_recon::date::Date, settlepaisa_recon::date::Date)>,
) -> (Option<String>, Option<String>) {
    match d {
        Some((lo, hi)) => (Some(lo.to_string()), Some(hi.to_string())),
        None => (None, None),
    }
}

fn bank_stream<'c>(ctx: &'c Context, layout: Option<&'c str>) -> Result<StatementStream<'c>, Failure> {
    StatementStream::new(&ctx.templates, layout).map_err(|e| Failure::Rejected(e.to_string()))
}

/// A job upload is a PG export when its first line is the PG header, a statement otherwise.
fn detect<'c>(ctx: &'c Context, block: &[u8]) -> Result<Reader<'c>, Failure> {
    let text = String::from_utf8_lossy(settlepaisa_recon::lines::strip_bom(block));
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim().eq_ignore_ascii_case(PG_HEADER) {
        Ok(Reader::Pg(PgStream::default(), DayStatuses::new()))
    } else {
        Ok(Reader::Bank(bank_stream(ctx, None)?))
    }
}

enum Reader<'c> {
    Bank(StatementStream<'c>),
    /// The stream and the rows kept, counted by day and status.
    Pg(PgStream, DayStatuses),
}

impl Reader<'_> {
    fn take_rejects(&mut self) -> Vec<Reject> {
        match self {
            Reader::Bank(stream) => stream.take_rejects(),
            Reader::Pg(stream, _) => stream.take_rejects(),
        }
    }
}

fn feed_statement(
    stream: &mut StatementStream<'_>,
    name: &str,
    block: &[u8],
    segments: &mut Segments<'_, Partition>,
) -> Result<(), Failure> {
    stream
        .feed(name, block, &mut |row: BankRow<'_>| {
            if row.direction == settlepaisa_recon::bank_file::Direction::Credit {
                encode_bank(&row, segments.buffer(Partition::of(row.utr)));
            }
        })
        .map_err(|e| Failure::Rejected(e.to_string()))
}

/// A block of a PG export: every row is counted and goes to its claim group's segments (all
/// statuses: the transaction list shows them all). Ids are claimed afterwards, group by group
/// (`claims`), and only the rows that keep theirs reach the UTR partitions the matcher reads.
fn feed_export(
    block: &[u8],
    stream: &mut PgStream,
    statuses: &mut DayStatuses,
    groups: &mut Segments<'_, (settlepaisa_recon::date::Date, u32)>,
) -> Result<(), Failure> {
    let mut overflow = false;
    stream
        .feed(block, &mut |t: Txn<'_>, _raw| {
            let tally = statuses.entry((t.date, t.status.to_string())).or_default();
            tally.0 += 1;
            match tally.1.checked_add(t.amount.0) {
                Some(v) => tally.1 = v,
                None => overflow = true,
            }
            encode_pg(&t, groups.buffer((t.date, settlepaisa_store::txn_pages::group_of(t.txn_id))));
        })
        .map_err(|e| Failure::Rejected(e.to_string()))?;
    if overflow {
        return Err(PipelineError::Overflow("a day's PG amount").into());
    }
    Ok(())
}

/// Rows by (capture day, status): count and amount in paise.
type DayStatuses = BTreeMap<(settlepaisa_recon::date::Date, String), (u64, i64)>;

fn day_statuses_json(statuses: &DayStatuses) -> String {
    let mut out = serde_json::Map::new();
    for ((day, status), (count, amount)) in statuses {
        let entry = out.entry(day.to_string()).or_insert_with(|| serde_json::json!({}));
        entry[status.as_str()] = serde_json::json!([count, amount]);
    }
    serde_json::Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_recon::template::built_in_templates;

    #[test]
    fn keys_route_to_the_right_reader() {
        let t = built_in_templates();
        assert_eq!(route_of("incoming/pg/2026-10-01/export.csv", &t), Some(Route::Pg));
        assert_eq!(settlement_folder("incoming/refunds/r.csv"), Some("refunds"));
        assert_eq!(settlement_folder("incoming/payout-responses/HDFC/r.csv"), Some("payout-responses"));
        assert_eq!(settlement_folder("incoming/hdfc/refunds.csv"), None);
        assert_eq!(route_of("incoming/hdfc/HDFC_20261002.csv", &t), Some(Route::Bank { layout: Some("hdfc".into()) }));
        assert_eq!(route_of("incoming/sbi/x.csv", &t), Some(Route::Bank { layout: None }));
        assert_eq!(route_of("jobs/JOB-1/file.csv", &t), Some(Route::Job { job_id: "JOB-1".into() }));
        assert_eq!(route_of("random/file.csv", &t), None);
        assert_eq!(route_of("incoming/x.csv", &t), None, "a file directly under incoming/ names no bank");
        assert_eq!(
            route_of("incoming/settlements/razorpay/setl-2026-10-02.csv", &t),
            Some(Route::Settlement { acquirer: "RAZORPAY".into() })
        );
        assert_eq!(route_of("incoming/settlements/x.csv", &t), None, "an acquirer's folder, then the file");
        assert_eq!(route_of("incoming//x.csv", &t), None);
        assert_eq!(route_of("incoming/hdfc/", &t), None);
        assert_eq!(route_of("jobs/x.csv", &t), None);
    }
}
