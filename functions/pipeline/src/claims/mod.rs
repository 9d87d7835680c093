//! `claim-txns`: a PG row's `txn_id` belongs to the first file of its scope (`incoming/`, or one
//! job's uploads) that brought it. Ingestion writes a PG export's rows by claim group (capture day
//! × `txn_pages::group_of(txn_id)`); then one claim step per (file, id group) runs through a FIFO
//! queue whose message group is (scope, id group), so the steps that read and write a group's
//! claim sets never run at once, whichever files and days they come from. A step ([`step`]):
//!
//! 1. reads the file's rows of the group on all its days, in line order, and the group's claim
//!    sets of those days and the days either side ([`claim_set`]);
//! 2. keeps a row whose id is new, its own (a redelivery), or held only by files its ids pass on
//!    from (deleted, a copy, refused, replaced, or an older version of the same key); any other
//!    row is a reject naming the holder, as a repeated `txn_id` within one file is offline;
//! 3. writes the claim sets back, the rejects, the kept captured rows into the UTR partitions the
//!    matcher reads (the group's number as their chunk), and — for `incoming/` — every row as
//!    pages of the transactions table, the lost ones marked;
//! 4. records the group done and counts it on the file, atomically and once. The step that
//!    completes the count writes the file's outcome: `NORMALIZED`, its counts less the rows that
//!    lost their ids; then the key's older versions are marked replaced.
//!
//! A redelivered step finds its group recorded and changes nothing; one that died part-way writes
//! the same claim sets, segments and page keys again (the file's rows hold their ids by line). A
//! step failing on its last attempt fails the file and dead-letters its S3 event; a step the
//! queue dead-lettered without that (a timeout) is taken up by `redrive-ingest` from the claim
//! dead-letter queue. Either way the re-drive queues the groups not done.

mod claim_set;
mod step;

pub use step::run_group;

use crate::error::PipelineError;
use crate::file_record::{self, FileRecord, FileStatus};
use crate::{sqs_batch, Context};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::{Deserialize, Serialize};
use settlepaisa_aws::dynamo::sv;
use settlepaisa_aws::s3 as objects;
use settlepaisa_aws::sqs::{self, FifoMessage};
use settlepaisa_store::txn_pages::parse_group_name;
use std::collections::BTreeMap;

/// One claim step: a file's rows of one id group (`txn_pages::group_of`), on all its days.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMessage {
    pub file_id: String,
    pub group: u32,
}

/// The record of a group's step in the files table (kind [`GROUP_KIND`], never planned).
pub fn group_record_id(file_id: &str, group: u32) -> String {
    format!("{file_id}#G{group:04}")
}

const GROUP_KIND: &str = "pg-claims";

/// A file's rows by id group: for each group present, its days with their segment name and
/// segments (chunk, count) as ingestion wrote them.
type Groups = BTreeMap<u32, Vec<(String, String, Vec<(Option<u32>, u32)>)>>;

fn groups_of(file: &FileRecord) -> Result<Groups, PipelineError> {
    let mut by_name: BTreeMap<String, Vec<(Option<u32>, u32)>> = BTreeMap::new();
    for (name, chunk, count) in FileRecord::segment_counts(&file.groups)? {
        by_name.entry(name).or_default().push((chunk, count));
    }
    let mut out: Groups = BTreeMap::new();
    for (name, segments) in by_name {
        let (day, group) = parse_group_name(&name).ok_or_else(|| PipelineError::Data {
            key: format!("files/{}/groups", file.file_id),
            message: format!("`{name}` is not a claim group"),
        })?;
        out.entry(group).or_default().push((day, name, segments));
    }
    Ok(out)
}

/// Starts the claim steps of a PG export whose rows are read (`file` holds its counts and group
/// entries, still `RECEIVED`): records the groups and queues one step per group. `false` when the
/// file has no rows to claim: its outcome is the caller's to write, as for any file.
pub(crate) async fn start(ctx: &Context, file: &mut FileRecord) -> Result<bool, PipelineError> {
    if file.groups.is_empty() {
        return Ok(false);
    }
    file.groups_done = 0;
    file.groups_queued = false;
    file.status = Some(FileStatus::Received);
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    if !put_groups(db, table, file).await? {
        // A second start (a redelivered event, two last chunks at once): take up the first's.
        if let Some(current) = file_record::get(db, table, &file.file_id).await? {
            if !current.groups.is_empty() {
                resume(ctx, current).await?;
            }
        }
        return Ok(true);
    }
    queue(ctx, file, &[]).await?;
    complete_if_last(ctx, &file.file_id).await?;
    Ok(true)
}

/// Records the groups on a claimed file, once.
async fn put_groups(client: &aws_sdk_dynamodb::Client, table: &str, file: &FileRecord) -> Result<bool, PipelineError> {
    let item = file.to_item();
    settlepaisa_aws::requests::record_puts("dynamodb.PutItem", table, [&item]);
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#s = :received AND attribute_not_exists(#g)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#g", "groups")
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .send()
        .await;
    Ok(settlepaisa_aws::dynamo::conditional("PutItem", out)?)
}

/// Takes up a file's claim steps again (its S3 event redelivered, or re-driven after a step
/// failed): a `FAILED` file is `RECEIVED` again, the groups not done are queued, and the file
/// completes if they all are.
pub async fn resume(ctx: &Context, mut file: FileRecord) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    if file.status == Some(FileStatus::Failed) {
        file.groups_queued = false;
        file_record::reopen_failed(db, table, &file.file_id, Some("groups_queued")).await?;
    }
    if !file.groups_queued {
        let done: Vec<u32> = group_records(ctx, &file).await?.into_keys().collect();
        queue(ctx, &file, &done).await?;
        tracing::info!(file_id = file.file_id, done = done.len(), "claim steps resumed");
    }
    complete_if_last(ctx, &file.file_id).await
}

/// Queues the groups not done of a file whose step the claim queue dead-lettered without failing
/// the file (the invocation timed out, or died): `redrive-ingest` calls it for each such message.
pub async fn requeue(ctx: &Context, file_id: &str) -> Result<bool, PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(mut file) = file_record::get(db, table, file_id).await? else { return Ok(false) };
    if file.groups.is_empty() || !matches!(file.status, Some(FileStatus::Received | FileStatus::Failed)) {
        // Finished, deleted or refused since: nothing to run again.
        return Ok(false);
    }
    file.groups_queued = false;
    resume(ctx, file).await?;
    Ok(true)
}

/// Queues the claim steps of the groups not done, then records that they are queued.
async fn queue(ctx: &Context, file: &FileRecord, done: &[u32]) -> Result<(), PipelineError> {
    // A fresh deduplication id per sending: a re-drive within SQS's five-minute window must not be
    // taken for the first sending (a step that runs twice changes nothing).
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let scope = crate::ingest::scope_of(file);
    let messages = groups_of(file)?
        .into_keys()
        .filter(|g| !done.contains(g))
        .map(|g| FifoMessage {
            body: serde_json::to_string(&ClaimMessage { file_id: file.file_id.clone(), group: g }).unwrap_or_default(),
            // One at a time per scope and id group: the steps that share its claim sets.
            group: format!("{scope}#g{g:02}"),
            dedup: format!("{}-{g}-{nonce}", file.file_id),
        })
        .collect();
    sqs::send_all_fifo(&ctx.clients.sqs, &ctx.resources.claim_queue_url, messages).await?;
    settlepaisa_aws::requests::record("dynamodb.UpdateItem", 1);
    let out = ctx
        .clients
        .dynamodb
        .update_item()
        .table_name(&ctx.resources.files_table)
        .key("file_id", sv(&file.file_id))
        .update_expression("SET groups_queued = :yes")
        .condition_expression("attribute_exists(#g)")
        .expression_attribute_names("#g", "groups")
        .expression_attribute_values(":yes", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
        .send()
        .await;
    settlepaisa_aws::dynamo::conditional("UpdateItem", out)?;
    Ok(())
}

/// The groups of a file recorded done, with their records.
async fn group_records(ctx: &Context, file: &FileRecord) -> Result<BTreeMap<u32, FileRecord>, PipelineError> {
    let parts = groups_of(file)?.into_keys().map(|g| (g, group_record_id(&file.file_id, g)));
    Ok(file_record::done_parts(&ctx.clients.dynamodb, &ctx.resources.files_table, parts).await?)
}

/// FIFO batches: a message that fails fails the ones after it too, so a group's steps keep their
/// order (Lambda's contract for FIFO event sources). The template's batch size is 1.
pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut failed = false;
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        if failed {
            response.add_failure(id);
            continue;
        }
        if let Err(e) = handle_message(ctx, message).await {
            tracing::error!(message_id = id, error = %e, "claim step failed");
            response.add_failure(id);
            failed = true;
        }
    }
    response
}

async fn handle_message(ctx: &Context, message: &SqsMessage) -> Result<(), PipelineError> {
    let msg: ClaimMessage = sqs_batch::body(message, "claim message")?;
    let result = run_group(ctx, &msg).await;
    if let Err(e) = &result {
        if sqs_batch::is_last_attempt(message, ctx.max_receive_claim) {
            crate::chunks::fail_and_dead_letter(ctx, &msg.file_id, format!("claim group {} failed: {e}", msg.group))
                .await;
        }
    }
    result
}

/// When every group is done, writes the file's outcome from theirs (any step may be the last; two
/// that see all done at once write the same record, only over `RECEIVED`).
async fn complete_if_last(ctx: &Context, file_id: &str) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(mut file) = file_record::get(db, table, file_id).await? else { return Ok(()) };
    if file.status == Some(FileStatus::Normalized) && !file.groups.is_empty() {
        // Written before by a call that failed after it: finish what follows the outcome.
        return after_outcome(ctx, &file).await;
    }
    if !matches!(file.status, Some(FileStatus::Received | FileStatus::Failed)) || file.groups.is_empty() {
        return Ok(());
    }
    let count = groups_of(&file)?.len() as u32;
    if file.groups_done < count {
        return Ok(());
    }
    let groups = group_records(ctx, &file).await?;
    if (groups.len() as u32) < count {
        return Ok(());
    }
    if file.status == Some(FileStatus::Failed) && !file_record::reopen_failed(db, table, file_id, None).await? {
        return Ok(());
    }
    assemble(&mut file, groups.values())?;
    if file_record::put_outcome(db, table, &file).await? {
        tracing::info!(file_id, rows = file.data_rows, rejects = file.rejected_rows, "PG export normalized");
        after_outcome(ctx, &file).await?;
    }
    Ok(())
}

/// What follows a file's outcome, idempotent so a step redelivered after a failure here finishes
/// it: the job's copy of an upload, and the key's versions marked replaced — the older ones by
/// this file, or this file by a newer one that finished first (the transaction list shows a key's
/// latest counted version only, as jobs take only it).
pub(crate) async fn after_outcome(ctx: &Context, file: &FileRecord) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    if let Some(job_id) = &file.job_id {
        crate::job::record_upload(db, &ctx.resources.jobs_table, job_id, file).await?;
    }
    for v in objects::versions_of(&ctx.clients.s3, &file.bucket, &file.key).await? {
        let id = file_record::file_id_of(&file.bucket, &file.key, &v.version_id);
        if v.delete_marker || id == file.file_id {
            continue;
        }
        let Some(other) = file_record::get(db, table, &id).await? else { continue };
        if other.status != Some(FileStatus::Normalized) {
            continue;
        }
        if other.received_at < file.received_at && other.superseded_by.is_none() {
            file_record::mark_superseded(db, table, &id, &file.file_id).await?;
        } else if other.received_at > file.received_at && file.superseded_by.is_none() {
            file_record::mark_superseded(db, table, &file.file_id, &id).await?;
        }
    }
    Ok(())
}

/// The file's outcome once its ids are claimed: rows that lost theirs move from the data rows to
/// the rejects; captured count, day tallies and dates are those of the rows kept; partition
/// entries are the groups' (run-length encoded over groups).
fn assemble<'g>(file: &mut FileRecord, groups: impl Iterator<Item = &'g FileRecord>) -> Result<(), PipelineError> {
    let overflow = || PipelineError::Overflow("a PG export's counts");
    let mut days: BTreeMap<String, BTreeMap<String, [i64; 2]>> = BTreeMap::new();
    let (mut kept, mut lost, mut captured) = (0u64, 0u64, 0u64);
    let (mut first, mut last): (Option<String>, Option<String>) = (None, None);
    let mut partitions = Vec::new();
    for g in groups {
        kept = kept.checked_add(g.data_rows).ok_or_else(overflow)?;
        lost = lost.checked_add(g.rejected_rows).ok_or_else(overflow)?;
        captured = captured.checked_add(g.records).ok_or_else(overflow)?;
        if let Some(d) = &g.first_date {
            first = Some(first.map_or(d.clone(), |f: String| f.min(d.clone())));
        }
        if let Some(d) = &g.last_date {
            last = Some(last.map_or(d.clone(), |l: String| l.max(d.clone())));
        }
        partitions.extend(FileRecord::segment_counts(&g.partitions)?);
        let tallies: BTreeMap<String, BTreeMap<String, [i64; 2]>> =
            serde_json::from_str(g.day_statuses.as_deref().unwrap_or("{}")).map_err(|e| PipelineError::Data {
                key: format!("files/{}/day_statuses", g.file_id),
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
    if kept.checked_add(lost) != Some(file.data_rows) {
        return Err(PipelineError::Data {
            key: format!("files/{}", file.file_id),
            message: format!("claim groups hold {kept} kept and {lost} lost rows of {} read", file.data_rows),
        });
    }
    file.data_rows = kept;
    file.rejected_rows = file.rejected_rows.checked_add(lost).ok_or_else(overflow)?;
    file.records = captured;
    if first.is_some() {
        (file.first_date, file.last_date) = (first, last);
    }
    file.partitions = crate::file_record::compact_chunk_entries(&partitions);
    file.day_statuses = Some(serde_json::to_string(&days).unwrap_or_default());
    file.status = Some(FileStatus::Normalized);
    file.error = None;
    Ok(())
}
