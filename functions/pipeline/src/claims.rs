//! `claim-txns`: a PG row's `txn_id` belongs to the first file that brought it. Ingestion writes
//! a PG export's rows by claim group (capture day × `txn_pages::group_of(txn_id)`); then one claim
//! step per (file, group) runs through a FIFO queue whose message group is the claim group, so the
//! steps of one group never run at once, whichever files they come from. A step:
//!
//! 1. reads the group's claim set (`claims/{day}/gNN.tsv`: txn_id, file, line) and the file's rows
//!    of the group, in line order;
//! 2. keeps a row whose id is new, already its own (a redelivery), or held by a file that no
//!    longer counts (deleted, a copy, refused), counts elsewhere (another job's upload), or is an
//!    older version of the same key; any other row is a reject naming the holder, exactly as a
//!    repeated `txn_id` within one file is offline;
//! 3. writes the claim set back, the rejects, the kept rows as pages of the transactions table
//!    (`txn_pages`), and the kept captured rows into the UTR partitions the matcher reads (with
//!    the group's place in the file's list as their chunk number);
//! 4. records the group done and counts it on the file, atomically and once. The step that
//!    completes the count writes the file's outcome: `NORMALIZED`, its counts less the rows that
//!    lost their ids.
//!
//! A redelivered step finds its group recorded and changes nothing; one that died part-way
//! writes the same claim set, pages and segments again (the file's rows hold their ids by line).
//! A step failing on its last attempt fails the file; a re-drive queues the groups not done.

use crate::error::PipelineError;
use crate::file_record::{self, FileRecord, FileStatus};
use crate::ingest::{group_segment_key, segment_key};
use crate::{sqs_batch, Context};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use settlepaisa_aws::dynamo::{batch_get_consistent, nv, put_all, sv, Item};
use settlepaisa_aws::s3 as objects;
use settlepaisa_aws::sqs::{self, FifoMessage};
use settlepaisa_aws::transact::{transact, Transacted};
use settlepaisa_recon::pg_file::PgTxn;
use settlepaisa_recon::reject::Reject;
use settlepaisa_recon::report::write_rejects;
use settlepaisa_recon::shard::{decode, encode_pg, Partition};
use settlepaisa_store::txn_pages::{self, parse_group_name};
use std::collections::{BTreeMap, HashMap};

/// One claim step: a file's group, by its place in the file's `groups`.
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

/// A file's claim groups in order: the group's name and its segments (chunk, count) as ingestion
/// wrote them.
type Groups = Vec<(String, Vec<(Option<u32>, u32)>)>;

fn groups_of(file: &FileRecord) -> Result<Groups, PipelineError> {
    let mut by_name: BTreeMap<String, Vec<(Option<u32>, u32)>> = BTreeMap::new();
    for (name, chunk, count) in FileRecord::segment_counts(&file.groups)? {
        if parse_group_name(&name).is_none() {
            return Err(PipelineError::Data {
                key: format!("files/{}/groups", file.file_id),
                message: format!("`{name}` is not a claim group"),
            });
        }
        by_name.entry(name).or_default().push((chunk, count));
    }
    Ok(by_name.into_iter().collect())
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
        let out = db
            .update_item()
            .table_name(table)
            .key("file_id", sv(&file.file_id))
            .update_expression("SET #s = :received, groups_queued = :no REMOVE #e")
            .condition_expression("#s = :failed")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#e", "error")
            .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
            .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()))
            .expression_attribute_values(":no", aws_sdk_dynamodb::types::AttributeValue::Bool(false))
            .send()
            .await;
        settlepaisa_aws::dynamo::conditional("UpdateItem", out)?;
    }
    if !file.groups_queued {
        let done: Vec<u32> = group_records(ctx, &file).await?.into_keys().collect();
        queue(ctx, &file, &done).await?;
        tracing::info!(file_id = file.file_id, done = done.len(), "claim steps resumed");
    }
    complete_if_last(ctx, &file.file_id).await
}

/// Queues the claim steps of the groups not done, then records that they are queued.
async fn queue(ctx: &Context, file: &FileRecord, done: &[u32]) -> Result<(), PipelineError> {
    // A fresh deduplication id per sending: a re-drive within SQS's five-minute window must not be
    // taken for the first sending (a step that runs twice changes nothing).
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let messages = groups_of(file)?
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !done.contains(&(*i as u32)))
        .map(|(i, (name, _))| FifoMessage {
            body: serde_json::to_string(&ClaimMessage { file_id: file.file_id.clone(), group: i as u32 })
                .unwrap_or_default(),
            group: name,
            dedup: format!("{}-{i}-{nonce}", file.file_id),
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
    let count = groups_of(file)?.len() as u32;
    let keys: Vec<Item> = (0..count)
        .map(|g| Item::from([("file_id".to_string(), sv(group_record_id(&file.file_id, g)))]))
        .collect();
    let mut out = BTreeMap::new();
    for item in batch_get_consistent(&ctx.clients.dynamodb, &ctx.resources.files_table, keys).await? {
        let record = FileRecord::from_item(&item)?;
        let index = record.file_id.rsplit_once("#G").and_then(|(_, g)| g.parse().ok());
        if let (Some(g), Some(FileStatus::Normalized)) = (index, record.status) {
            out.insert(g, record);
        }
    }
    Ok(out)
}

/// FIFO batches: a message that fails fails the ones after it too, so a group's steps keep their
/// order (Lambda's contract for FIFO event sources).
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
            // As for a chunk: the file says why, and its S3 event waits where `redrive-ingest`
            // looks; the re-drive queues the groups not done.
            let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
            if let Ok(Some(mut file)) = file_record::get(db, table, &msg.file_id).await {
                file.error = Some(format!("claim group {} failed: {e}", msg.group));
                file_record::mark_failed(db, table, &file).await;
                let event = crate::chunks::s3_event_for(ctx, &file);
                if let Err(send) = sqs::send(&ctx.clients.sqs, &ctx.resources.ingest_dlq_url, event).await {
                    tracing::error!(file_id = file.file_id, error = %send, "could not dead-letter the file's event");
                }
            }
        }
    }
    result
}

/// The claim set of a (day, group): who holds each id.
struct ClaimSet {
    key: String,
    holders: HashMap<String, (String, u32)>,
    changed: bool,
}

impl ClaimSet {
    async fn read(ctx: &Context, day: &str, group: u32) -> Result<ClaimSet, PipelineError> {
        let key = format!("claims/{day}/g{group:02}.tsv");
        let bytes = match objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await {
            Ok(b) => b,
            Err(e) if objects::is_missing(&e) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let bad = |m: &str| PipelineError::Data { key: key.clone(), message: m.to_string() };
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let mut holders = HashMap::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let mut f = line.split('\t');
            let (Some(id), Some(file), Some(n), None) = (f.next(), f.next(), f.next(), f.next()) else {
                return Err(bad("a line is not txn_id, file, line"));
            };
            let n: u32 = n.parse().map_err(|_| bad("a line number is not a number"))?;
            holders.insert(id.to_string(), (file.to_string(), n));
        }
        Ok(ClaimSet { key, holders, changed: false })
    }

    async fn write(self, ctx: &Context) -> Result<(), PipelineError> {
        if !self.changed {
            return Ok(());
        }
        let mut entries: Vec<(&String, &(String, u32))> = self.holders.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::with_capacity(entries.len() * 48);
        for (id, (file, line)) in entries {
            out.extend_from_slice(id.as_bytes());
            out.push(b'\t');
            out.extend_from_slice(file.as_bytes());
            out.push(b'\t');
            out.extend_from_slice(itoa::Buffer::new().format(*line).as_bytes());
            out.push(b'\n');
        }
        objects::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &self.key, out).await?;
        Ok(())
    }
}

/// Whether a holder's ids pass to the claimant: the holder counts elsewhere (another job's upload,
/// or a job upload when the claimant is not of that job: scopes never meet in one job), never
/// counts (deleted, a duplicate, rejected), or is an older version of the claimant's key, which
/// the claimant supersedes. Never backwards: a late event for an old version takes nothing back.
fn passes_on(holder: &FileRecord, me: &FileRecord) -> bool {
    holder.job_id != me.job_id
        || matches!(holder.status, Some(FileStatus::Deleted | FileStatus::Duplicate | FileStatus::Rejected))
        || (holder.key == me.key && holder.received_at < me.received_at)
}

/// One file's rows of one group: kept (their ids claimed) or rejected.
struct Verdicts<'a> {
    kept: Vec<PgTxn<'a>>,
    rejects: Vec<Reject>,
}

async fn decide<'a>(
    ctx: &Context,
    me: &FileRecord,
    rows: Vec<PgTxn<'a>>,
    set: &mut ClaimSet,
) -> Result<Verdicts<'a>, PipelineError> {
    let mut files: HashMap<String, Option<FileRecord>> = HashMap::new();
    let mut out = Verdicts { kept: Vec::with_capacity(rows.len()), rejects: Vec::new() };
    for t in rows {
        let reason = match set.holders.get(t.txn_id) {
            None => None,
            Some((f, l)) if *f == me.file_id && *l == t.line => None,
            Some((f, l)) if *f == me.file_id => Some(format!("txn_id `{}` already came from {} line {l}", t.txn_id, me.name)),
            Some((f, l)) => {
                if !files.contains_key(f) {
                    let record = file_record::get(&ctx.clients.dynamodb, &ctx.resources.files_table, f).await?;
                    files.insert(f.clone(), record);
                }
                match files.get(f).and_then(Option::as_ref) {
                    Some(holder) if passes_on(holder, me) => None,
                    Some(holder) => Some(format!("txn_id `{}` already came from {} line {l}", t.txn_id, holder.name)),
                    None => Some(format!("txn_id `{}` already came from file {f}", t.txn_id)),
                }
            }
        };
        match reason {
            None => {
                if set.holders.get(t.txn_id) != Some(&(me.file_id.clone(), t.line)) {
                    set.holders.insert(t.txn_id.to_string(), (me.file_id.clone(), t.line));
                    set.changed = true;
                }
                out.kept.push(t);
            }
            Some(reason) => out.rejects.push(Reject { line: t.line, reason, raw: raw_of(&t) }),
        }
    }
    Ok(out)
}

/// The row as the export had it (its columns, capture time in UTC): the reject's raw line.
fn raw_of(t: &PgTxn<'_>) -> String {
    format!(
        "{},{},{},{},{},{},{},{}",
        t.txn_id,
        t.merchant_id,
        t.merchant_ref,
        t.method.as_str(),
        t.amount.0,
        t.status,
        t.utr.map(|u| u.to_string()).unwrap_or_default(),
        settlepaisa_recon::date::format_utc(t.captured_at)
    )
}

pub async fn run_group(ctx: &Context, msg: &ClaimMessage) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(file) = file_record::get(db, table, &msg.file_id).await? else {
        tracing::error!(file_id = msg.file_id, "claim step of a file that does not exist");
        return Ok(());
    };
    if !matches!(file.status, Some(FileStatus::Received | FileStatus::Failed)) {
        // Finished, deleted or refused meanwhile: its rows claim nothing more.
        tracing::info!(file_id = file.file_id, group = msg.group, status = ?file.status, "claim step not needed");
        return Ok(());
    }
    let groups = groups_of(&file)?;
    let Some((name, segments)) = groups.get(msg.group as usize) else {
        tracing::error!(file_id = file.file_id, group = msg.group, "no such claim group");
        return Ok(());
    };
    let record_id = group_record_id(&file.file_id, msg.group);
    if file_record::get(db, table, &record_id).await?.is_some_and(|g| g.status == Some(FileStatus::Normalized)) {
        return complete_if_last(ctx, &file.file_id).await;
    }
    let (day, group) = parse_group_name(name).ok_or_else(|| PipelineError::Data {
        key: format!("files/{}/groups", file.file_id),
        message: format!("`{name}` is not a claim group"),
    })?;
    let mut buffers = Vec::new();
    for (chunk, count) in segments {
        for seq in 0..*count {
            let key = group_segment_key(&file.file_id, name, *chunk, seq);
            let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await?;
            let text =
                String::from_utf8(bytes).map_err(|_| PipelineError::Data { key: key.clone(), message: "not UTF-8".into() })?;
            buffers.push((key, text));
        }
    }
    let mut rows = Vec::new();
    for (key, text) in &buffers {
        let (pg, _) = decode(text).map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
        rows.extend(pg);
    }
    // File order: of two rows with one id, the earlier line keeps it.
    rows.sort_by_key(|t| t.line);
    let mut set = ClaimSet::read(ctx, &day, group).await?;
    let Verdicts { mut kept, rejects } = decide(ctx, &file, rows, &mut set).await?;
    set.write(ctx).await?;

    if !rejects.is_empty() {
        let mut out = Vec::new();
        write_rejects([(file.name.as_str(), rejects.as_slice())], &mut out)
            .map_err(|e| PipelineError::Data { key: record_id.clone(), message: e.to_string() })?;
        let key = format!("rejects/{}/g{:04}.csv", file.file_id, msg.group);
        objects::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, out).await?;
    }

    // The kept captured rows, into the partitions the matcher reads.
    let mut partitions: BTreeMap<Partition, Vec<Vec<u8>>> = BTreeMap::new();
    let mut tallies: BTreeMap<String, BTreeMap<String, [i64; 2]>> = BTreeMap::new();
    let mut captured = 0u64;
    for t in &kept {
        let tally = tallies.entry(t.date.to_string()).or_default().entry(t.status.to_string()).or_default();
        tally[0] += 1;
        tally[1] = tally[1].checked_add(t.amount.0).ok_or(PipelineError::Overflow("a day's PG amount"))?;
        if t.is_captured() {
            captured += 1;
            let segments = partitions.entry(Partition::of(t.utr)).or_default();
            if segments.last().is_none_or(|s| s.len() >= crate::ingest::SEGMENT_BYTES) {
                segments.push(Vec::with_capacity(64 << 10));
            }
            if let Some(s) = segments.last_mut() {
                encode_pg(t, s);
            }
        }
    }
    let mut entries = Vec::new();
    for (p, segments) in partitions {
        entries.push(format!("{}/c{:04}:{}", p.name(), msg.group, segments.len()));
        for (seq, body) in segments.into_iter().enumerate() {
            let key = segment_key(&file.file_id, &p.name(), Some(msg.group), seq as u32);
            objects::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, body).await?;
        }
    }

    // The kept rows as pages, after the day is marked as having rows.
    let kept_rows = kept.len() as u64;
    if !kept.is_empty() {
        let mut marked = Default::default();
        settlepaisa_store::txn_days::mark(ctx, [day.as_str()], &mut marked).await?;
        let pages = txn_pages::pages_of(&file.file_id, group, &mut kept);
        let mut items = Vec::with_capacity(pages.len());
        for page in &pages {
            let item = page.to_item();
            // Paced by write units: a page is about eight.
            let units = settlepaisa_aws::capacity::units_for(settlepaisa_aws::capacity::item_size(&item));
            for _ in 0..units {
                ctx.write_pacer.acquire().await;
            }
            items.push(item);
        }
        put_all(&ctx.clients.dynamodb, &ctx.resources.transactions_table, items).await?;
    }

    let mut record = FileRecord {
        file_id: record_id,
        bucket: file.bucket.clone(),
        key: file.key.clone(),
        version: file.version.clone(),
        name: file.name.clone(),
        kind: GROUP_KIND.into(),
        job_id: file.job_id.clone(),
        status: Some(FileStatus::Normalized),
        data_rows: kept_rows,
        rejected_rows: rejects.len() as u64,
        records: captured,
        partitions: entries,
        received_at: file.received_at.clone(),
        day_statuses: Some(serde_json::to_string(&tallies).unwrap_or_default()),
        ..FileRecord::default()
    };
    if kept_rows > 0 {
        (record.first_date, record.last_date) = (Some(day.clone()), Some(day.clone()));
    }
    record_done(ctx, &file.file_id, &record).await?;
    tracing::info!(file_id = file.file_id, group = name, kept = kept_rows, rejected = rejects.len(), "claim step done");
    complete_if_last(ctx, &file.file_id).await
}

/// Records a group done and counts it on its file, in one transaction, once.
async fn record_done(ctx: &Context, file_id: &str, group: &FileRecord) -> Result<(), PipelineError> {
    let table = &ctx.resources.files_table;
    let build =
        |e: aws_sdk_dynamodb::error::BuildError| PipelineError::Data { key: group.file_id.clone(), message: e.to_string() };
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(group.to_item()))
        .condition_expression("attribute_not_exists(file_id) OR #s <> :done")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":done", sv(FileStatus::Normalized.as_str()))
        .build()
        .map_err(build)?;
    let count = Update::builder()
        .table_name(table)
        .key("file_id", sv(file_id))
        .update_expression("ADD groups_done :one")
        .condition_expression("#s IN (:received, :failed)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":one", nv(1))
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()))
        .build()
        .map_err(build)?;
    let items = vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(count).build()];
    match transact(&ctx.clients.dynamodb, items).await? {
        Transacted::Written | Transacted::ConditionFailed { .. } => Ok(()),
    }
}

/// When every group is done, writes the file's outcome from theirs (any step may be the last; two
/// that see all done at once write the same record, only over `RECEIVED`).
async fn complete_if_last(ctx: &Context, file_id: &str) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(mut file) = file_record::get(db, table, file_id).await? else { return Ok(()) };
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
    if file.status == Some(FileStatus::Failed) {
        let out = db
            .update_item()
            .table_name(table)
            .key("file_id", sv(file_id))
            .update_expression("SET #s = :received")
            .condition_expression("#s = :failed")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
            .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()))
            .send()
            .await;
        if !settlepaisa_aws::dynamo::conditional("UpdateItem", out)? {
            return Ok(());
        }
    }
    assemble(&mut file, groups.values())?;
    if file_record::put_outcome(db, table, &file).await? {
        if let Some(job_id) = &file.job_id {
            crate::job::record_upload(db, &ctx.resources.jobs_table, job_id, &file).await?;
        }
        tracing::info!(file_id, rows = file.data_rows, rejects = file.rejected_rows, "PG export normalized");
        supersede_older(ctx, &file).await?;
    }
    Ok(())
}

/// A corrected export uploaded again under its key replaces the earlier versions: they no longer
/// show in the transaction list (jobs already take a key's latest version only).
async fn supersede_older(ctx: &Context, file: &FileRecord) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    for v in objects::versions_of(&ctx.clients.s3, &file.bucket, &file.key).await? {
        let id = file_record::file_id_of(&file.bucket, &file.key, &v.version_id);
        if v.delete_marker || id == file.file_id {
            continue;
        }
        if let Some(older) = file_record::get(db, table, &id).await? {
            if older.received_at < file.received_at && older.superseded_by.is_none() {
                file_record::mark_superseded(db, table, &id, &file.file_id).await?;
            }
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
