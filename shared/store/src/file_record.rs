//! The file record: one item per S3 object version in the files table, with what ingestion made
//! of it. `file_id` is derived from bucket, key and version, so a redelivered event finds the
//! record it already wrote.
//!
//! Statuses: `RECEIVED` while an ingestion holds it; then `NORMALIZED` (counted by jobs),
//! `REJECTED` (unusable, with the reason), `DUPLICATE` (the same bytes as a file already counted,
//! named in `duplicate_of`), `FAILED` (the last attempt failed: the error says why, and a re-drive
//! from the dead-letter queue takes it up again) or `DELETED` (the object was removed from S3
//! after ingestion; later jobs leave it out).

use crate::error::StoreError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use settlepaisa_aws::dynamo::{conditional, lv, nv, s as s_attr, sv, Fields, Item, Malformed};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    Received,
    Normalized,
    Rejected,
    Duplicate,
    Failed,
    Deleted,
}

impl FileStatus {
    const ALL: [FileStatus; 6] = [
        FileStatus::Received,
        FileStatus::Normalized,
        FileStatus::Rejected,
        FileStatus::Duplicate,
        FileStatus::Failed,
        FileStatus::Deleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Received => "RECEIVED",
            FileStatus::Normalized => "NORMALIZED",
            FileStatus::Rejected => "REJECTED",
            FileStatus::Duplicate => "DUPLICATE",
            FileStatus::Failed => "FAILED",
            FileStatus::Deleted => "DELETED",
        }
    }

    pub fn parse(text: &str) -> Option<FileStatus> {
        FileStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// What ingestion recorded about one object version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileRecord {
    pub file_id: String,
    pub bucket: String,
    pub key: String,
    pub version: String,
    /// The object's base name: bank refs are `NAME:LINE`.
    pub name: String,
    /// `bank`, `pg`, or `unknown` (rejected before the kind was known).
    pub kind: String,
    pub layout: Option<String>,
    pub job_id: Option<String>,
    pub size: u64,
    pub sha256: String,
    pub status: Option<FileStatus>,
    pub error: Option<String>,
    pub lines_read: u64,
    pub data_rows: u64,
    pub rejected_rows: u64,
    pub non_data_lines: u64,
    /// Bank credits, or captured PG transactions.
    pub records: u64,
    pub first_date: Option<String>,
    pub last_date: Option<String>,
    /// `name:segments` for each partition written: segment keys are
    /// `normalized/<file_id>/<name>/<00000..segments>.tsv`, so readers need no listing.
    pub partitions: Vec<String>,
    pub received_at: String,
    /// PG exports: `{day: {status: [count, amount_paise]}}` over every row, for the dashboard's
    /// settlement funnel (the matcher only sees captured rows).
    pub day_statuses: Option<String>,
    /// `DUPLICATE`: the file id of the file with the same bytes that counts instead.
    pub duplicate_of: Option<String>,
    /// `DELETED`: when S3 reported the object removed.
    pub deleted_at: Option<String>,
    /// A PG export a later version of its key replaced (that version's file id): jobs take the
    /// latest version of a key only, and the transaction list leaves this one's rows out.
    pub superseded_by: Option<String>,
    /// When `POST /api/jobs/{id}/normalize` asked for this statement to be read again with another
    /// template (Unix seconds): while set, only that read (`renormalize-file`) may record an
    /// outcome, and ingestion does not claim the file.
    pub layout_requested_at: Option<i64>,
    /// A PG export ingested in parallel parts: how many, how many are done, and the plan (JSON
    /// spans) to queue the rest again after a failure. 0 for a file read in one go.
    pub chunks: u32,
    pub chunks_done: u32,
    pub chunk_plan: Option<String>,
    /// Every chunk's message was sent (a crash before that leaves it false: a redelivered event
    /// sends them).
    pub chunks_queued: bool,
    /// A PG export's rows by claim group before their ids are claimed: entries as for
    /// `partitions`, named by [`crate::txn_pages::group_name`] (`d20261001g07:1`, or per chunk
    /// `d20261001g07/c0003:1`), segments `bydate/{file_id}/{name}/…`. Each group's claim step
    /// writes the rows that keep their ids into the UTR partitions, as chunk number its group's
    /// place in this list; the file is `NORMALIZED` when every group is done.
    pub groups: Vec<String>,
    pub groups_done: u32,
    /// Every group's claim message was sent.
    pub groups_queued: bool,
}

/// A short stable id for an object version.
pub fn file_id_of(bucket: &str, key: &str, version: &str) -> String {
    let digest = Sha256::digest(format!("{bucket}\n{key}\n{version}").as_bytes());
    format!("F{}", &hex::encode(digest)[..24])
}

impl FileRecord {
    pub fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert("file_id".into(), sv(&self.file_id));
        item.insert("bucket".into(), sv(&self.bucket));
        item.insert("key".into(), sv(&self.key));
        item.insert("version".into(), sv(&self.version));
        item.insert("name".into(), sv(&self.name));
        item.insert("kind".into(), sv(&self.kind));
        item.insert("status".into(), sv(self.status.unwrap_or(FileStatus::Received).as_str()));
        item.insert("size".into(), nv(self.size));
        item.insert("sha256".into(), sv(&self.sha256));
        for (k, v) in [
            ("lines_read", self.lines_read),
            ("data_rows", self.data_rows),
            ("rejected_rows", self.rejected_rows),
            ("non_data_lines", self.non_data_lines),
            ("records", self.records),
        ] {
            item.insert(k.into(), nv(v));
        }
        for (k, v) in [
            ("layout", &self.layout),
            ("job_id", &self.job_id),
            ("error", &self.error),
            ("first_date", &self.first_date),
            ("last_date", &self.last_date),
            ("day_statuses", &self.day_statuses),
            ("duplicate_of", &self.duplicate_of),
            ("deleted_at", &self.deleted_at),
            ("superseded_by", &self.superseded_by),
            ("chunk_plan", &self.chunk_plan),
        ] {
            if let Some(v) = v {
                item.insert(k.into(), sv(v));
            }
        }
        item.insert("partitions".into(), lv(self.partitions.iter().cloned()));
        if self.chunks > 0 {
            item.insert("chunks".into(), nv(self.chunks));
            item.insert("chunks_done".into(), nv(self.chunks_done));
            item.insert("chunks_queued".into(), AttributeValue::Bool(self.chunks_queued));
        }
        if let Some(at) = self.layout_requested_at {
            item.insert("layout_requested_at".into(), nv(at));
        }
        if !self.groups.is_empty() {
            item.insert("groups".into(), lv(self.groups.iter().cloned()));
            item.insert("groups_done".into(), nv(self.groups_done));
            item.insert("groups_queued".into(), AttributeValue::Bool(self.groups_queued));
        }
        item.insert("received_at".into(), sv(&self.received_at));
        item
    }

    pub fn from_item(item: &Item) -> Result<FileRecord, Malformed> {
        let f = Fields::new("file", item);
        Ok(FileRecord {
            file_id: f.s("file_id")?,
            bucket: f.s("bucket")?,
            key: f.s("key")?,
            version: f.s("version")?,
            name: f.s("name")?,
            kind: f.s("kind")?,
            layout: f.opt_s("layout")?,
            job_id: f.opt_s("job_id")?,
            size: f.n("size")?,
            sha256: f.s("sha256")?,
            status: Some(f.parsed("status", FileStatus::parse)?),
            error: f.opt_s("error")?,
            lines_read: f.n("lines_read")?,
            data_rows: f.n("data_rows")?,
            rejected_rows: f.n("rejected_rows")?,
            non_data_lines: f.n("non_data_lines")?,
            records: f.n("records")?,
            first_date: f.opt_s("first_date")?,
            last_date: f.opt_s("last_date")?,
            partitions: f.str_list("partitions")?,
            received_at: f.s("received_at")?,
            day_statuses: f.opt_s("day_statuses")?,
            duplicate_of: f.opt_s("duplicate_of")?,
            deleted_at: f.opt_s("deleted_at")?,
            superseded_by: f.opt_s("superseded_by")?,
            layout_requested_at: f.opt_n("layout_requested_at")?,
            chunks: f.opt_n("chunks")?.unwrap_or(0),
            chunks_done: f.opt_n("chunks_done")?.unwrap_or(0),
            chunk_plan: f.opt_s("chunk_plan")?,
            chunks_queued: matches!(item.get("chunks_queued"), Some(AttributeValue::Bool(true))),
            groups: match item.get("groups") {
                None => Vec::new(),
                Some(_) => f.str_list("groups")?,
            },
            groups_done: f.opt_n("groups_done")?.unwrap_or(0),
            groups_queued: matches!(item.get("groups_queued"), Some(AttributeValue::Bool(true))),
        })
    }

    /// Whether the transaction list shows this file's rows: not deleted, a copy, refused, failed
    /// or replaced by a later version of its key.
    pub fn rows_count(&self) -> bool {
        self.superseded_by.is_none()
            && !matches!(
                self.status,
                Some(FileStatus::Deleted | FileStatus::Duplicate | FileStatus::Rejected | FileStatus::Failed)
            )
    }

    /// The segments of each partition entry: partition name, chunk, count. Entries are
    /// `name:count`, or for a chunked file `name/cNNNN:count` (one chunk) and `name/cNNNN-MMMM:count`
    /// (every chunk from NNNN to MMMM, each with `count` segments: see [`compact_chunk_entries`]). A
    /// malformed entry is an error, never a partition silently left out.
    pub fn segment_counts(partitions: &[String]) -> Result<Vec<(String, Option<u32>, u32)>, Malformed> {
        let digits = |t: &str| -> Option<u32> {
            (!t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
        };
        let mut out = Vec::with_capacity(partitions.len());
        let mut seen = std::collections::HashSet::new();
        for entry in partitions {
            let bad = || Malformed { what: "file", problem: format!("partition entry `{entry}` is not name:count") };
            let (name, count) = entry.split_once(':').ok_or_else(bad)?;
            let count = digits(count).ok_or_else(bad)?;
            let (name, chunks) = match name.split_once("/c") {
                None => (name, None),
                Some((name, chunks)) => {
                    let (first, last) = chunks.split_once('-').unwrap_or((chunks, chunks));
                    let (first, last) = (digits(first).ok_or_else(bad)?, digits(last).ok_or_else(bad)?);
                    if last < first || last >= MAX_CHUNKS {
                        return Err(bad());
                    }
                    (name, Some((first, last)))
                }
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(bad());
            }
            if let Some((first, last)) = chunks {
                if out.len() as u64 + u64::from(last - first) + 1 > MAX_SEGMENT_ENTRIES {
                    return Err(Malformed {
                        what: "file",
                        problem: format!("partition entry `{entry}` names too many segments"),
                    });
                }
            }
            // A segment named twice would be read twice: every record in it counted twice.
            let mut add = |chunk: Option<u32>| -> Result<(), Malformed> {
                if !seen.insert((name.to_string(), chunk)) {
                    return Err(Malformed {
                        what: "file",
                        problem: format!("partition entry `{entry}` repeats a segment"),
                    });
                }
                out.push((name.to_string(), chunk, count));
                Ok(())
            };
            match chunks {
                None => add(None)?,
                Some((first, last)) => (first..=last).try_for_each(|c| add(Some(c)))?,
            }
        }
        Ok(out)
    }
}

/// The most chunks a file is cut into: far more than a 1 GB export paced at one row a second needs
/// at the smallest rows (~200,000 would), so a corrupt range cannot expand without bound.
pub const MAX_CHUNKS: u32 = 1_000_000;

/// The most (partition, chunk) segments one file's entries may name in all: 65 partitions of
/// ~60,000 chunks, ~150 MB expanded at most, so corrupt entries cannot exhaust memory.
pub const MAX_SEGMENT_ENTRIES: u64 = 4_000_000;

/// A chunked file's partition entries, run-length encoded: one `name/cNNNN-MMMM:count` for each run
/// of consecutive chunks with the same segment count in a partition. A file cut into hundreds of
/// small chunks (paced writes) has one segment per partition per chunk, so its record and every
/// job that takes it carry ~65 entries instead of 65 a chunk (the item limit is 400 KB).
pub fn compact_chunk_entries(entries: &[(String, Option<u32>, u32)]) -> Vec<String> {
    let mut sorted: Vec<&(String, Option<u32>, u32)> = entries.iter().collect();
    sorted.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    let mut out = Vec::new();
    let mut run: Option<(&str, u32, u32, u32)> = None;
    let flush = |run: Option<(&str, u32, u32, u32)>, out: &mut Vec<String>| {
        if let Some((name, first, last, count)) = run {
            out.push(if first == last {
                format!("{name}/c{first:04}:{count}")
            } else {
                format!("{name}/c{first:04}-{last:04}:{count}")
            });
        }
    };
    for (name, chunk, count) in sorted {
        let Some(chunk) = *chunk else {
            flush(run.take(), &mut out);
            out.push(format!("{name}:{count}"));
            continue;
        };
        run = match run {
            Some((n, first, last, c)) if n == name && c == *count && chunk == last + 1 => Some((n, first, chunk, c)),
            other => {
                flush(other, &mut out);
                Some((name.as_str(), chunk, chunk, *count))
            }
        };
    }
    flush(run, &mut out);
    out
}

/// Claims a file for ingestion: `None` when it was claimed now (new, or a previous attempt died
/// or failed before finishing), `Some(record)` when it already has an outcome (or another
/// invocation holds it).
pub async fn claim(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    record: &FileRecord,
) -> Result<Option<FileRecord>, StoreError> {
    let item = record.to_item();
    requests::record_puts("dynamodb.PutItem", table, [&item]);
    let put = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        // A chunked file in progress (or failed) is resumed from its chunks, and a file claiming its
        // ids from its claim groups, never re-planned.
        .condition_expression(
            "attribute_not_exists(file_id) OR (#s IN (:received, :failed) AND attribute_not_exists(chunks) \
             AND attribute_not_exists(#g) AND attribute_not_exists(layout_requested_at))",
        )
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#g", "groups")
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()))
        .send()
        .await;
    if conditional("PutItem", put)? {
        return Ok(None);
    }
    let existing = get(client, table, &record.file_id).await?;
    Ok(Some(existing.unwrap_or_else(|| record.clone())))
}

/// Writes a record unconditionally (renormalizing a stored statement replaces its outcome).
pub async fn put(client: &aws_sdk_dynamodb::Client, table: &str, record: &FileRecord) -> Result<(), StoreError> {
    let item = record.to_item();
    requests::record_puts("dynamodb.PutItem", table, [&item]);
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| AwsError::new("PutItem", sdk_message(&e)))?;
    Ok(())
}

/// Writes ingestion's outcome over the claim: `false` when the record is no longer `RECEIVED`
/// (S3 reported the object deleted meanwhile), in which case that stands.
pub async fn put_outcome(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    record: &FileRecord,
) -> Result<bool, StoreError> {
    requests::record("dynamodb.PutItem", 1);
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(record.to_item()))
        // A statement waiting for a read with another template is that read's to record.
        .condition_expression(
            "attribute_not_exists(file_id) OR (#s = :received AND attribute_not_exists(layout_requested_at))",
        )
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .send()
        .await;
    Ok(conditional("PutItem", out)?)
}

/// Records a chunk plan on a claimed file, once: `false` when the file already has one (a second
/// start of the same file) or is no longer `RECEIVED`.
pub async fn put_plan(client: &aws_sdk_dynamodb::Client, table: &str, record: &FileRecord) -> Result<bool, StoreError> {
    let item = record.to_item();
    requests::record_puts("dynamodb.PutItem", table, [&item]);
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#s = :received AND attribute_not_exists(chunks)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .send()
        .await;
    Ok(conditional("PutItem", out)?)
}

/// Marks a claimed file `FAILED` with the error of the attempt that just failed (and the kind,
/// layout and dates `failed` carries, so it shows in connector health); `true` when this call did
/// (a file already `FAILED` by another part of it is not marked twice). Best effort: the caller is
/// already failing, and the event goes to the dead-letter queue either way.
pub async fn mark_failed(client: &aws_sdk_dynamodb::Client, table: &str, failed: &FileRecord) -> bool {
    requests::record("dynamodb.UpdateItem", 1);
    let error: String = failed.error.as_deref().unwrap_or("").chars().take(1_000).collect();
    let mut update = client
        .update_item()
        .table_name(table)
        .key("file_id", sv(&failed.file_id))
        .condition_expression("#s = :received")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#e", "error")
        .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()))
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .expression_attribute_values(":e", sv(error))
        .expression_attribute_values(":k", sv(&failed.kind));
    let mut set = "SET #s = :failed, #e = :e, kind = :k".to_string();
    // A read with another template that failed no longer holds the file.
    let remove = " REMOVE layout_requested_at";
    for (name, value) in
        [("layout", &failed.layout), ("first_date", &failed.first_date), ("last_date", &failed.last_date)]
    {
        if let Some(v) = value {
            set.push_str(&format!(", {name} = :{name}"));
            update = update.expression_attribute_values(format!(":{name}"), sv(v));
        }
    }
    match conditional("UpdateItem", update.update_expression(format!("{set}{remove}")).send().await) {
        Ok(marked) => marked,
        Err(e) => {
            tracing::error!(file_id = failed.file_id, error = %e, "could not mark the file FAILED");
            false
        }
    }
}

/// Of `file_ids`, the files whose rows count: recorded, and not deleted, a copy, refused or
/// failed.
pub async fn that_count(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    file_ids: &std::collections::BTreeSet<String>,
) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let keys = file_ids.iter().map(|f| Item::from([("file_id".to_string(), sv(f))])).collect();
    let mut out = std::collections::BTreeSet::new();
    for item in settlepaisa_aws::dynamo::batch_get(client, table, keys).await? {
        let f = FileRecord::from_item(&item)?;
        if f.rows_count() {
            out.insert(f.file_id);
        }
    }
    Ok(out)
}

/// A statement uploaded to a job, to read again with a chosen template (`POST
/// /api/jobs/{id}/normalize` → the renormalize queue → `renormalize-file`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutRequest {
    pub file_id: String,
    /// A template name (`HDFC`, `ICICI`, …).
    pub layout: String,
    /// The request's mark (`layout_requested_at`): a message whose request was replaced by a
    /// newer one reads nothing.
    pub requested_at: i64,
}

/// What asking for a statement's new read came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutRequested {
    /// The file is `RECEIVED` again, for the read to record its outcome.
    Accepted,
    /// Its status stands: `RECEIVED` (an ingestion holds it now), `DELETED` or `DUPLICATE`
    /// (nothing to read), or a PG export (templates are for statements).
    Refused(FileStatus),
    NoSuchFile,
}

/// Puts a stored statement back to `RECEIVED` for a read with another template, marked with when
/// (`layout_requested_at` = `now`); no outcome is replaced while an ingestion holds it, and a
/// request older than `stall_secs` that never finished (its read was lost) may be made again.
pub async fn request_layout(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    file_id: &str,
    now: i64,
    stall_secs: i64,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<LayoutRequested, StoreError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .key("file_id", sv(file_id))
        .update_expression("SET #s = :received, layout_requested_at = :now REMOVE #e")
        .condition_expression(
            "(#s IN (:normalized, :rejected, :failed) OR (#s = :received AND layout_requested_at < :stale)) \
             AND kind <> :pg",
        )
        .expression_attribute_values(":now", nv(now))
        .expression_attribute_values(":stale", nv(now - stall_secs))
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#e", "error")
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .expression_attribute_values(":normalized", sv(FileStatus::Normalized.as_str()))
        .expression_attribute_values(":rejected", sv(FileStatus::Rejected.as_str()))
        .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()))
        .expression_attribute_values(":pg", sv("pg"))
        .build()
        .map_err(|e| AwsError::new("TransactWriteItems", e))?;
    let items = vec![aws_sdk_dynamodb::types::TransactWriteItem::builder().update(update).build()];
    let written = crate::audit::transact(client, audit.0, items, audit.1).await?;
    if matches!(written, settlepaisa_aws::transact::Transacted::Written) {
        return Ok(LayoutRequested::Accepted);
    }
    Ok(match get(client, table, file_id).await? {
        Some(f) => LayoutRequested::Refused(f.status.unwrap_or(FileStatus::Received)),
        None => LayoutRequested::NoSuchFile,
    })
}

/// Writes the outcome of a requested read (`renormalize-file`) over the request it answers: `false`
/// when the file is no longer waiting for it (deleted meanwhile, or asked again since).
pub async fn put_requested_outcome(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    record: &FileRecord,
    requested_at: i64,
) -> Result<bool, StoreError> {
    let item = record.to_item();
    requests::record_puts("dynamodb.PutItem", table, [&item]);
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#s = :received AND layout_requested_at = :at")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .expression_attribute_values(":at", nv(requested_at))
        .send()
        .await;
    Ok(conditional("PutItem", out)?)
}

/// Marks `older` replaced by `newer` (a later version of its key, now counted); `false` when
/// `older` is not a counted file.
pub async fn mark_superseded(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    older: &str,
    newer: &str,
) -> Result<bool, StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let out = client
        .update_item()
        .table_name(table)
        .key("file_id", sv(older))
        .update_expression("SET superseded_by = :n")
        .condition_expression("#s = :normalized")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":n", sv(newer))
        .expression_attribute_values(":normalized", sv(FileStatus::Normalized.as_str()))
        .send()
        .await;
    Ok(conditional("UpdateItem", out)?)
}

/// Takes a `FAILED` file back to `RECEIVED` (its error cleared), and when `queued_flag` names one
/// (`chunks_queued`, `groups_queued`) sets it false, so its parts are queued again; `false` when
/// the file was not `FAILED`.
pub async fn reopen_failed(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    file_id: &str,
    queued_flag: Option<&str>,
) -> Result<bool, StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let set = match queued_flag {
        Some(flag) => format!("SET #s = :received, {flag} = :no REMOVE #e"),
        None => "SET #s = :received REMOVE #e".to_string(),
    };
    let mut update = client
        .update_item()
        .table_name(table)
        .key("file_id", sv(file_id))
        .update_expression(set)
        .condition_expression("#s = :failed")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#e", "error")
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()));
    if queued_flag.is_some() {
        update = update.expression_attribute_values(":no", AttributeValue::Bool(false));
    }
    Ok(conditional("UpdateItem", update.send().await)?)
}

/// The parts of a file recorded done, by number, from consistent reads (the part deciding that
/// all are done must see the others' records, and its own, written a moment before): `parts` are
/// each part's number and record id.
pub async fn done_parts(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    parts: impl IntoIterator<Item = (u32, String)>,
) -> Result<std::collections::BTreeMap<u32, FileRecord>, StoreError> {
    let numbers: std::collections::HashMap<String, u32> = parts.into_iter().map(|(n, id)| (id, n)).collect();
    let keys = numbers.keys().map(|id| Item::from([("file_id".to_string(), sv(id))])).collect();
    let mut out = std::collections::BTreeMap::new();
    for item in settlepaisa_aws::dynamo::batch_get_consistent(client, table, keys).await? {
        let record = FileRecord::from_item(&item)?;
        if let (Some(n), Some(FileStatus::Normalized)) = (numbers.get(&record.file_id), record.status) {
            out.insert(*n, record);
        }
    }
    Ok(out)
}

/// Records one part of a file done — a chunk (`{file}#Cnnnn`, counted in `chunks_done`) or a claim
/// group (`{file}#Gnnnn`, `groups_done`) — and counts it on the file, in one transaction, once: a
/// part recorded before, or a file that moved on, changes nothing.
pub async fn record_part_done(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    file_id: &str,
    part: &FileRecord,
    counter: &str,
) -> Result<(), StoreError> {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
    let build = |e: aws_sdk_dynamodb::error::BuildError| AwsError::new("TransactWriteItems", e.to_string());
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(part.to_item()))
        .condition_expression("attribute_not_exists(file_id) OR #s <> :done")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":done", sv(FileStatus::Normalized.as_str()))
        .build()
        .map_err(build)?;
    let count = Update::builder()
        .table_name(table)
        .key("file_id", sv(file_id))
        .update_expression(format!("ADD {counter} :one"))
        .condition_expression("#s IN (:received, :failed)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":one", nv(1))
        .expression_attribute_values(":received", sv(FileStatus::Received.as_str()))
        .expression_attribute_values(":failed", sv(FileStatus::Failed.as_str()))
        .build()
        .map_err(build)?;
    let items = vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().update(count).build()];
    match settlepaisa_aws::transact::transact(client, items).await? {
        settlepaisa_aws::transact::Transacted::Written
        | settlepaisa_aws::transact::Transacted::ConditionFailed { .. } => Ok(()),
    }
}

/// Marks a file `DELETED` (S3 removed its object); `false` when there is no such record.
pub async fn mark_deleted(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    file_id: &str,
    at: &str,
) -> Result<bool, StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let out = client
        .update_item()
        .table_name(table)
        .key("file_id", sv(file_id))
        .update_expression("SET #s = :deleted, deleted_at = :at, #e = :why")
        // A rejected file keeps its reason: it never counted.
        .condition_expression("attribute_exists(file_id) AND NOT #s IN (:deleted, :rejected)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#e", "error")
        .expression_attribute_values(":deleted", sv(FileStatus::Deleted.as_str()))
        .expression_attribute_values(":rejected", sv(FileStatus::Rejected.as_str()))
        .expression_attribute_values(":at", sv(at))
        .expression_attribute_values(
            ":why",
            sv(format!("the object was deleted from S3 at {at}; jobs planned after that leave it out")),
        )
        .send()
        .await;
    Ok(conditional("UpdateItem", out)?)
}

/// Claims a content hash within a scope (`incoming`, or `job:{id}`) before a file's rows are read:
/// `None` when this file holds it now, `Some(original)` when a file with the same bytes holds it (it
/// counts, or is being ingested right now). A hash held by a file that was deleted or rejected since
/// passes to this one.
pub async fn claim_content(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    scope: &str,
    sha256: &str,
    file_id: &str,
) -> Result<Option<String>, StoreError> {
    let hash_key = format!("SHA256#{scope}#{sha256}");
    let mut condition = ("attribute_not_exists(file_id) OR original = :me", None::<String>);
    for _ in 0..3 {
        requests::record("dynamodb.PutItem", 1);
        let put = client
            .put_item()
            .table_name(table)
            .item("file_id", sv(&hash_key))
            .item("original", sv(file_id))
            .condition_expression(condition.0)
            .expression_attribute_values(":me", sv(file_id));
        let put = match &condition.1 {
            Some(previous) => put.expression_attribute_values(":previous", sv(previous)),
            None => put,
        };
        let err = match put
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await
        {
            Ok(_) => return Ok(None),
            Err(e) => e,
        };
        let Some(held) = err.as_service_error().and_then(|s| match s {
            PutItemError::ConditionalCheckFailedException(c) => {
                Some(c.item().and_then(|i| s_attr(i, "original")).unwrap_or_default())
            }
            _ => None,
        }) else {
            return Err(AwsError::new("PutItem", sdk_message(&err)).into());
        };
        match get(client, table, &held).await? {
            Some(original) if !matches!(original.status, Some(FileStatus::Deleted | FileStatus::Rejected)) => {
                return Ok(Some(held))
            }
            _ => condition = ("attribute_not_exists(file_id) OR original = :me OR original = :previous", Some(held)),
        }
    }
    Err(AwsError::new("PutItem", format!("content hash {sha256} kept changing hands")).into())
}

pub async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    file_id: &str,
) -> Result<Option<FileRecord>, StoreError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .key("file_id", AttributeValue::S(file_id.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(out.item.as_ref().map(FileRecord::from_item).transpose()?)
}

/// Bank statements whose last value date is in `[from, to]` (open-ended without `to`): one Query
/// on the `by-kind-last-date` index.
pub async fn bank_files(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    from: &str,
    to: Option<&str>,
) -> Result<Vec<FileRecord>, StoreError> {
    let query = client
        .query()
        .table_name(table)
        .index_name("by-kind-last-date")
        .expression_attribute_values(":k", sv("bank"))
        .expression_attribute_values(":from", sv(from));
    let query = match to {
        Some(to) => query
            .key_condition_expression("kind = :k AND last_date BETWEEN :from AND :to")
            .expression_attribute_values(":to", sv(to)),
        None => query.key_condition_expression("kind = :k AND last_date >= :from"),
    };
    let items = settlepaisa_aws::dynamo::all_pages(query).await?;
    Ok(items.iter().map(FileRecord::from_item).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> FileRecord {
        FileRecord {
            file_id: "F1".into(),
            bucket: "b".into(),
            key: "incoming/hdfc/x.csv".into(),
            version: "v1".into(),
            name: "x.csv".into(),
            kind: "bank".into(),
            layout: Some("hdfc".into()),
            size: 10,
            sha256: "ab".into(),
            status: Some(FileStatus::Duplicate),
            duplicate_of: Some("F0".into()),
            partitions: vec!["p00:1".into(), "none:2".into()],
            received_at: "2026-10-01T00:00:00Z".into(),
            ..FileRecord::default()
        }
    }

    #[test]
    fn a_file_record_reads_back_as_written() {
        assert_eq!(FileRecord::from_item(&record().to_item()).unwrap(), record());
    }

    #[test]
    fn a_corrupt_file_record_is_an_error_not_a_default() {
        let mut item = record().to_item();
        item.insert("status".into(), sv("MAYBE"));
        assert!(FileRecord::from_item(&item).unwrap_err().to_string().contains("`status`"));
        let mut item = record().to_item();
        item.remove("data_rows");
        assert!(FileRecord::from_item(&item).unwrap_err().to_string().contains("`data_rows` is missing"));
        // A bad segment count must not silently drop segments.
        assert!(FileRecord::segment_counts(&["p00:x".into()]).is_err());
        assert!(FileRecord::segment_counts(&["p00".into()]).is_err());
        assert_eq!(FileRecord::segment_counts(&["p00:3".into()]).unwrap(), vec![("p00".to_string(), None, 3)]);
        assert_eq!(
            FileRecord::segment_counts(&["p07/c0012:2".into()]).unwrap(),
            vec![("p07".to_string(), Some(12), 2)]
        );
        assert!(FileRecord::segment_counts(&["p07/cx:2".into()]).is_err());
        for bad in ["p07/c0009-0003:1", "p07/c+3:1", "p07:+2", "/c0001:1", ":1", "p07/c0-4294967295:1", "p#7:1"] {
            assert!(FileRecord::segment_counts(&[bad.into()]).is_err(), "{bad}");
        }
        // Overlapping or repeated entries would read a segment twice.
        assert!(FileRecord::segment_counts(&["p07/c0000-0003:1".into(), "p07/c0002:1".into()]).is_err());
        assert!(FileRecord::segment_counts(&["p07:1".into(), "p07:2".into()]).is_err());
    }

    #[test]
    fn chunk_entries_compact_to_runs_and_expand_back() {
        // 800 chunks, one segment each in two partitions, two in one chunk of one.
        let mut entries = Vec::new();
        for c in 0..800u32 {
            entries.push(("p07".to_string(), Some(c), if c == 400 { 2 } else { 1 }));
            entries.push(("none".to_string(), Some(c), 1));
        }
        entries.push(("p09".to_string(), Some(3), 1));
        let compact = compact_chunk_entries(&entries);
        assert_eq!(
            compact,
            ["none/c0000-0799:1", "p07/c0000-0399:1", "p07/c0400:2", "p07/c0401-0799:1", "p09/c0003:1"]
        );
        let mut back = FileRecord::segment_counts(&compact).unwrap();
        back.sort();
        entries.sort();
        assert_eq!(back, entries);
    }
}
