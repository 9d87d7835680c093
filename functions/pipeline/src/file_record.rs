//! The file record: one item per S3 object version in the files table, with what ingestion made
//! of it. `file_id` is derived from bucket, key and version, so a redelivered event finds the
//! record it already wrote.

use crate::error::PipelineError;
use aws_sdk_dynamodb::types::AttributeValue;
use settlepaisa_aws::dynamo::{lv, n, nv, s, str_list, sv, Item};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use sha2::{Digest, Sha256};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    Received,
    Normalized,
    Rejected,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Received => "RECEIVED",
            FileStatus::Normalized => "NORMALIZED",
            FileStatus::Rejected => "REJECTED",
        }
    }
    fn parse(text: &str) -> FileStatus {
        match text {
            "NORMALIZED" => FileStatus::Normalized,
            "REJECTED" => FileStatus::Rejected,
            _ => FileStatus::Received,
        }
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
        ] {
            if let Some(v) = v {
                item.insert(k.into(), sv(v));
            }
        }
        item.insert("partitions".into(), lv(self.partitions.iter().cloned()));
        item.insert("received_at".into(), sv(&self.received_at));
        item
    }

    pub fn from_item(item: &Item) -> FileRecord {
        let num = |k| n(item, k).unwrap_or(0).max(0) as u64;
        FileRecord {
            file_id: s(item, "file_id").unwrap_or_default(),
            bucket: s(item, "bucket").unwrap_or_default(),
            key: s(item, "key").unwrap_or_default(),
            version: s(item, "version").unwrap_or_default(),
            name: s(item, "name").unwrap_or_default(),
            kind: s(item, "kind").unwrap_or_default(),
            layout: s(item, "layout"),
            job_id: s(item, "job_id"),
            size: num("size"),
            sha256: s(item, "sha256").unwrap_or_default(),
            status: s(item, "status").map(|t| FileStatus::parse(&t)),
            error: s(item, "error"),
            lines_read: num("lines_read"),
            data_rows: num("data_rows"),
            rejected_rows: num("rejected_rows"),
            non_data_lines: num("non_data_lines"),
            records: num("records"),
            first_date: s(item, "first_date"),
            last_date: s(item, "last_date"),
            partitions: str_list(item, "partitions"),
            received_at: s(item, "received_at").unwrap_or_default(),
            day_statuses: s(item, "day_statuses"),
        }
    }
}

/// Claims a file for ingestion: `None` when it was claimed now (or a previous attempt died before
/// finishing), `Some(status)` when it was already normalized or rejected.
pub async fn claim(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    record: &FileRecord,
) -> Result<Option<FileStatus>, PipelineError> {
    let item = record.to_item();
    requests::record_puts("dynamodb.PutItem", table, [&item]);
    let put = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(file_id) OR #s = :received")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":received", AttributeValue::S(FileStatus::Received.as_str().into()))
        .send()
        .await;
    match put {
        Ok(_) => Ok(None),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
            let existing = get(client, table, &record.file_id).await?;
            Ok(Some(existing.and_then(|r| r.status).unwrap_or(FileStatus::Received)))
        }
        Err(e) => Err(AwsError::new("PutItem", sdk_message(&e)).into()),
    }
}

pub async fn put(client: &aws_sdk_dynamodb::Client, table: &str, record: &FileRecord) -> Result<(), PipelineError> {
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

pub async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    file_id: &str,
) -> Result<Option<FileRecord>, PipelineError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .key("file_id", AttributeValue::S(file_id.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(out.item.as_ref().map(FileRecord::from_item))
}

/// Bank statements whose last value date is in `[from, to]` (open-ended without `to`): one Query
/// on the `by-kind-last-date` index.
pub async fn bank_files(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    from: &str,
    to: Option<&str>,
) -> Result<Vec<FileRecord>, AwsError> {
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
    Ok(settlepaisa_aws::dynamo::all_pages(query).await?.iter().map(FileRecord::from_item).collect())
}
