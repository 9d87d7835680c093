//! One claim step: a file's rows of one id group, on every capture day the file has, decided in
//! the file's line order against the group's claim sets, then written out — claim sets, rejects,
//! UTR partition segments for the matcher, transaction pages — and recorded done.

use super::claim_set::{verdict, ClaimSet, Holding};
use super::{complete_if_last, group_record_id, groups_of, ClaimMessage, GROUP_KIND};
use crate::error::PipelineError;
use crate::file_record::{self, FileRecord, FileStatus};
use crate::ingest::{group_segment_key, scope_of, segment_key};
use crate::Context;
use settlepaisa_aws::dynamo::put_all;
use settlepaisa_aws::s3 as objects;
use settlepaisa_recon::date::Date;
use settlepaisa_recon::pg_file::PgTxn;
use settlepaisa_recon::reject::Reject;
use settlepaisa_recon::report::write_rejects;
use settlepaisa_recon::shard::{decode, encode_pg, Partition};
use settlepaisa_store::{pg_event_notes, txn_pages};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Pages written per BatchWriteItem, each batch paced before it is sent.
const PAGES_PER_BATCH: usize = 25;

pub async fn run_group(ctx: &Context, msg: &ClaimMessage) -> Result<(), PipelineError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let Some(file) = file_record::get(db, table, &msg.file_id).await? else {
        tracing::error!(file_id = msg.file_id, "claim step of a file that does not exist");
        return Ok(());
    };
    if file.status == Some(FileStatus::Normalized) && !file.groups.is_empty() {
        // Done: a step redelivered after a failure past the outcome finishes what follows it.
        return super::after_outcome(ctx, &file).await;
    }
    if !matches!(file.status, Some(FileStatus::Received | FileStatus::Failed)) {
        // Deleted or refused meanwhile: its rows claim nothing more.
        tracing::info!(file_id = file.file_id, group = msg.group, status = ?file.status, "claim step not needed");
        return Ok(());
    }
    let groups = groups_of(&file)?;
    let Some(days) = groups.get(&msg.group) else {
        tracing::error!(file_id = file.file_id, group = msg.group, "the file has no rows in this group");
        return Ok(());
    };
    let record_id = group_record_id(&file.file_id, msg.group);
    if file_record::get(db, table, &record_id).await?.is_some_and(|g| g.status == Some(FileStatus::Normalized)) {
        return complete_if_last(ctx, &file.file_id).await;
    }

    let mut buffers = Vec::new();
    for (_, name, segments) in days {
        for (chunk, count) in segments {
            for seq in 0..*count {
                let key = group_segment_key(&file.file_id, name, *chunk, seq);
                let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| PipelineError::Data { key: key.clone(), message: "not UTF-8".into() })?;
                buffers.push((key, text));
            }
        }
    }
    let mut rows = Vec::new();
    for (key, text) in &buffers {
        let (pg, _) = decode(text).map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
        rows.extend(pg);
    }
    // File order: of two rows with one id, the earlier line keeps it, whichever day it is on.
    rows.sort_by_key(|t| t.line);

    let scope = scope_of(&file);
    let lost = claim(ctx, &file, &scope, msg.group, &rows).await?;
    write_rejects_of(ctx, &file, msg.group, &rows, &lost).await?;
    let (entries, tallies, kept, captured) = write_partitions(ctx, &file, msg.group, &rows, &lost).await?;
    // Job uploads are a job's inputs, not the PG's transactions: only `incoming/` is listed.
    if scope == "incoming" {
        write_pages(ctx, &file, msg.group, &mut rows, &lost).await?;
        // After the claims and pages: the rows the webhooks also reported, noted off the events
        // queue (settlepaisa_store::pg_event_notes says why in this order).
        let kept: Vec<PgTxn<'_>> = rows.iter().filter(|t| !lost.contains_key(&t.line)).copied().collect();
        let held = pg_event_notes::webhook_rows_held(
            &ctx.clients.dynamodb,
            &ctx.resources.transactions_table,
            &file.file_id,
            msg.group,
            &kept,
        )
        .await
        .map_err(PipelineError::from)?;
        if !held.is_empty() {
            let messages = pg_event_notes::note_messages(&held);
            settlepaisa_aws::sqs::send_all(&ctx.clients.sqs, &ctx.resources.pg_events_queue_url, messages).await?;
            tracing::info!(
                file_id = file.file_id,
                group = msg.group,
                rows = held.len(),
                "rows the webhooks also reported"
            );
        }
    }

    let kept_days: BTreeSet<String> =
        rows.iter().filter(|t| !lost.contains_key(&t.line)).map(|t| t.date.to_string()).collect();
    let record = FileRecord {
        file_id: record_id,
        bucket: file.bucket.clone(),
        key: file.key.clone(),
        version: file.version.clone(),
        name: file.name.clone(),
        kind: GROUP_KIND.into(),
        job_id: file.job_id.clone(),
        status: Some(FileStatus::Normalized),
        data_rows: kept,
        rejected_rows: lost.len() as u64,
        records: captured,
        partitions: entries,
        received_at: file.received_at.clone(),
        day_statuses: Some(serde_json::to_string(&tallies).unwrap_or_default()),
        first_date: kept_days.first().cloned(),
        last_date: kept_days.last().cloned(),
        ..FileRecord::default()
    };
    record_done(ctx, &file.file_id, &record).await?;
    tracing::info!(file_id = file.file_id, group = msg.group, kept, lost = lost.len(), "claim step done");
    complete_if_last(ctx, &file.file_id).await
}

/// Decides every row against the claim sets of its day and the days either side (read once
/// each), records the rows that keep their ids in their day's set, writes the sets that changed,
/// and returns the rows that lost theirs: line → reason.
async fn claim(
    ctx: &Context,
    file: &FileRecord,
    scope: &str,
    group: u32,
    rows: &[PgTxn<'_>],
) -> Result<HashMap<u32, String>, PipelineError> {
    let mut days: BTreeSet<Date> = BTreeSet::new();
    for t in rows {
        days.extend([t.date.add_days(-1), t.date, t.date.add_days(1)]);
    }
    let mut sets: BTreeMap<Date, ClaimSet> = BTreeMap::new();
    for d in days {
        sets.insert(d, ClaimSet::read(ctx, scope, &d.to_string(), group).await?);
    }
    let mut records: HashMap<String, Option<FileRecord>> = HashMap::new();
    let mut lost = HashMap::new();
    // Ids this file kept in this step, on any of its days: a repeat further away than the day
    // either side is still the file repeating an id (all of an id's rows are in this group).
    let mut kept: HashMap<&str, u32> = HashMap::new();
    for t in rows {
        if let Some(first) = kept.get(t.txn_id) {
            lost.insert(t.line, format!("txn_id `{}` already came from {} line {first}", t.txn_id, file.name));
            continue;
        }
        let near = [t.date.add_days(-1), t.date, t.date.add_days(1)];
        let holdings: Vec<(String, u32, bool)> = near
            .iter()
            .filter_map(|d| {
                sets.get(d).and_then(|s| s.holders.get(t.txn_id)).map(|(f, l)| (f.clone(), *l, *d == t.date))
            })
            .collect();
        for (f, _, _) in &holdings {
            if *f != file.file_id && !records.contains_key(f) {
                let record = file_record::get(&ctx.clients.dynamodb, &ctx.resources.files_table, f).await?;
                records.insert(f.clone(), record);
            }
        }
        let view: Vec<Holding<'_>> =
            holdings.iter().map(|(f, l, same_day)| Holding { file_id: f, line: *l, same_day: *same_day }).collect();
        match verdict(file, t.line, t.txn_id, &view, &records) {
            Some(reason) => {
                lost.insert(t.line, reason);
            }
            None => {
                kept.insert(t.txn_id, t.line);
                if let Some(set) = sets.get_mut(&t.date) {
                    let mine = (file.file_id.clone(), t.line);
                    if set.holders.get(t.txn_id) != Some(&mine) {
                        set.holders.insert(t.txn_id.to_string(), mine);
                        set.changed = true;
                    }
                }
            }
        }
    }
    for set in sets.values() {
        set.write(ctx).await?;
    }
    Ok(lost)
}

/// The rows that lost their ids, as rejects (`rejects/{file}/gNNNN.csv`); none, no object (one a
/// previous attempt wrote is removed).
async fn write_rejects_of(
    ctx: &Context,
    file: &FileRecord,
    group: u32,
    rows: &[PgTxn<'_>],
    lost: &HashMap<u32, String>,
) -> Result<(), PipelineError> {
    let key = format!("rejects/{}/g{group:04}.csv", file.file_id);
    let (s3, bucket) = (&ctx.clients.s3, &ctx.resources.artifacts_bucket);
    if lost.is_empty() {
        s3.delete_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| settlepaisa_aws::AwsError::new("DeleteObject", settlepaisa_aws::sdk_message(&e)))?;
        return Ok(());
    }
    let rejects: Vec<Reject> = rows
        .iter()
        .filter_map(|t| {
            lost.get(&t.line).map(|reason| Reject { line: t.line, reason: reason.clone(), raw: t.to_csv_line() })
        })
        .collect();
    let mut out = Vec::new();
    write_rejects([(file.name.as_str(), rejects.as_slice())], &mut out)
        .map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
    objects::put(s3, bucket, &key, out).await?;
    Ok(())
}

/// Day tallies: `{day: {status: [count, paise]}}`.
type Tallies = BTreeMap<String, BTreeMap<String, [i64; 2]>>;

/// The kept captured rows into the UTR partitions the matcher reads, the group's number as their
/// chunk (`normalized/{file}/{p}/cNNNN-…`). Returns the partition entries, the kept rows' day
/// tallies, and how many rows and captured rows were kept.
async fn write_partitions(
    ctx: &Context,
    file: &FileRecord,
    group: u32,
    rows: &[PgTxn<'_>],
    lost: &HashMap<u32, String>,
) -> Result<(Vec<String>, Tallies, u64, u64), PipelineError> {
    let mut partitions: BTreeMap<Partition, Vec<Vec<u8>>> = BTreeMap::new();
    let mut tallies: Tallies = BTreeMap::new();
    let (mut kept, mut captured) = (0u64, 0u64);
    for t in rows.iter().filter(|t| !lost.contains_key(&t.line)) {
        kept += 1;
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
        entries.push(format!("{}/c{group:04}:{}", p.name(), segments.len()));
        for (seq, body) in segments.into_iter().enumerate() {
            let key = segment_key(&file.file_id, &p.name(), Some(group), seq as u32);
            objects::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, body).await?;
        }
    }
    Ok((entries, tallies, kept, captured))
}

/// Every row of the group as pages (the lost ones marked), after their days are marked as having
/// rows; paced by write units, a batch at a time.
async fn write_pages(
    ctx: &Context,
    file: &FileRecord,
    group: u32,
    rows: &mut [PgTxn<'_>],
    lost: &HashMap<u32, String>,
) -> Result<(), PipelineError> {
    let days: BTreeSet<String> = rows.iter().map(|t| t.date.to_string()).collect();
    let mut marked = Default::default();
    settlepaisa_store::txn_days::mark(ctx, days.iter().map(String::as_str), &mut marked).await?;
    let lost_lines: HashSet<u32> = lost.keys().copied().collect();
    let pages = txn_pages::pages_of(&file.file_id, group, rows, &lost_lines);
    for batch in pages.chunks(PAGES_PER_BATCH) {
        let items: Vec<_> = batch.iter().map(txn_pages::Page::to_item).collect();
        let units: u64 =
            items.iter().map(|i| settlepaisa_aws::capacity::units_for(settlepaisa_aws::capacity::item_size(i))).sum();
        for _ in 0..units {
            ctx.write_pacer.acquire().await;
        }
        put_all(&ctx.clients.dynamodb, &ctx.resources.transactions_table, items).await?;
    }
    Ok(())
}

/// Records a group done and counts it on its file, in one transaction, once.
async fn record_done(ctx: &Context, file_id: &str, group: &FileRecord) -> Result<(), PipelineError> {
    Ok(file_record::record_part_done(&ctx.clients.dynamodb, &ctx.resources.files_table, file_id, group, "groups_done")
        .await?)
}
