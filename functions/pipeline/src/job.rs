//! Jobs and their shards in the jobs table (`job_id`, `item`): the `META` item holds the job, one
//! `SHARD#nnn` item per UTR shard and `SHARD#residual` hold each shard's state. Also the messages
//! that move a job along.

use crate::error::PipelineError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use settlepaisa_aws::dynamo::{n, nv, query_all, s, sv, Item};
use settlepaisa_aws::{requests, sdk_message, AwsError};

/// A statement or export a job reconciles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFile {
    pub file_id: String,
    /// The S3 key it came from.
    #[serde(default)]
    pub key: String,
    pub name: String,
    pub kind: String,
    pub layout: Option<String>,
    pub partitions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    /// Capture dates reconciled, inclusive (`YYYY-MM-DD`, IST).
    pub from: String,
    pub to: String,
    pub shards: u32,
    /// `MATCHING`, `RESIDUAL`, `FINALIZING`, `COMPLETED` or `FAILED`.
    pub status: String,
    pub files: Vec<JobFile>,
    pub shards_done: u32,
    pub error: Option<String>,
    pub created_at: String,
    /// Set by the finalizer: the job's totals (KPI counts over all days).
    pub summary: Option<serde_json::Value>,
    /// Banks (template names) whose statements the job takes; all when empty.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Who asked for the job (the API's caller).
    #[serde(default)]
    pub created_by: Option<String>,
}

/// A file uploaded to a job, as ingestion left it (`FILE#<file_id>` items under the job).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobUpload {
    pub file_id: String,
    pub name: String,
    pub kind: String,
    pub layout: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub data_rows: u64,
    pub rejected_rows: u64,
    pub records: u64,
}

/// One shard's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardState {
    pub shard: String,
    /// `QUEUED`, `DONE` or `FAILED`.
    pub status: String,
    pub error: Option<String>,
    pub matches: u64,
    pub exceptions: u64,
}

/// Which shard a match message is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardMessage {
    pub job_id: String,
    /// A UTR shard's index, or `None` for the residual shard.
    pub shard: Option<u32>,
}

impl ShardMessage {
    pub fn shard_name(&self) -> String {
        shard_name(self.shard)
    }
}

pub fn shard_name(shard: Option<u32>) -> String {
    match shard {
        Some(i) => format!("{i:03}"),
        None => "residual".into(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinalizeMessage {
    pub job_id: String,
}

impl Job {
    pub fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert("job_id".into(), sv(&self.job_id));
        item.insert("item".into(), sv("META"));
        item.insert("from".into(), sv(&self.from));
        item.insert("to".into(), sv(&self.to));
        item.insert("shards".into(), nv(self.shards));
        item.insert("status".into(), sv(&self.status));
        item.insert("files".into(), sv(serde_json::to_string(&self.files).unwrap_or_default()));
        item.insert("shards_done".into(), nv(self.shards_done));
        item.insert("created_at".into(), sv(&self.created_at));
        if let Some(e) = &self.error {
            item.insert("error".into(), sv(e));
        }
        if let Some(summary) = &self.summary {
            item.insert("summary".into(), sv(summary.to_string()));
        }
        if !self.sources.is_empty() {
            item.insert("sources".into(), settlepaisa_aws::dynamo::lv(self.sources.iter().cloned()));
        }
        if let Some(by) = &self.created_by {
            item.insert("created_by".into(), sv(by));
        }
        item
    }

    pub fn from_item(item: &Item) -> Job {
        Job {
            job_id: s(item, "job_id").unwrap_or_default(),
            from: s(item, "from").unwrap_or_default(),
            to: s(item, "to").unwrap_or_default(),
            shards: n(item, "shards").unwrap_or(1) as u32,
            status: s(item, "status").unwrap_or_default(),
            files: s(item, "files").and_then(|f| serde_json::from_str(&f).ok()).unwrap_or_default(),
            shards_done: n(item, "shards_done").unwrap_or(0) as u32,
            error: s(item, "error"),
            created_at: s(item, "created_at").unwrap_or_default(),
            summary: s(item, "summary").and_then(|j| serde_json::from_str(&j).ok()),
            sources: settlepaisa_aws::dynamo::str_list(item, "sources"),
            created_by: s(item, "created_by"),
        }
    }
}

fn key(job_id: &str, item: &str) -> [(String, AttributeValue); 2] {
    [("job_id".into(), AttributeValue::S(job_id.into())), ("item".into(), AttributeValue::S(item.into()))]
}

fn aws(op: &'static str) -> impl Fn(String) -> PipelineError {
    move |m| PipelineError::Aws(AwsError::new(op, m))
}

pub async fn get(client: &aws_sdk_dynamodb::Client, table: &str, job_id: &str) -> Result<Option<Job>, PipelineError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| aws("GetItem")(sdk_message(&e)))?;
    Ok(out.item.as_ref().map(Job::from_item))
}

/// The job and its shard states, in one query.
/// A job with its shards and uploads: one Query (`job_id = :j`).
pub async fn get_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
) -> Result<Option<(Job, Vec<ShardState>, Vec<JobUpload>)>, PipelineError> {
    let items = query_all(client, table, None, "job_id", job_id).await?;
    let uploads = items
        .iter()
        .filter(|i| s(i, "item").is_some_and(|k| k.starts_with("FILE#")))
        .map(|i| JobUpload {
            file_id: s(i, "file_id").unwrap_or_default(),
            name: s(i, "name").unwrap_or_default(),
            kind: s(i, "kind").unwrap_or_default(),
            layout: s(i, "layout"),
            status: s(i, "status").unwrap_or_default(),
            error: s(i, "error"),
            data_rows: n(i, "data_rows").unwrap_or(0).max(0) as u64,
            rejected_rows: n(i, "rejected_rows").unwrap_or(0).max(0) as u64,
            records: n(i, "records").unwrap_or(0).max(0) as u64,
        })
        .collect();
    Ok(shards_of(&items).map(|(job, shards)| (job, shards, uploads)))
}

/// Records what ingestion made of a file uploaded to a job, under the job.
pub async fn record_upload(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    file: &crate::file_record::FileRecord,
) -> Result<(), PipelineError> {
    let mut item: Item = key(job_id, &format!("FILE#{}", file.file_id)).into_iter().collect();
    item.insert("file_id".into(), sv(&file.file_id));
    item.insert("name".into(), sv(&file.name));
    item.insert("kind".into(), sv(&file.kind));
    item.insert("status".into(), sv(file.status.map(|s| s.as_str()).unwrap_or("RECEIVED")));
    item.insert("data_rows".into(), nv(file.data_rows));
    item.insert("rejected_rows".into(), nv(file.rejected_rows));
    item.insert("records".into(), nv(file.records));
    for (k, v) in [("layout", &file.layout), ("error", &file.error)] {
        if let Some(v) = v {
            item.insert(k.into(), sv(v));
        }
    }
    requests::record_puts("dynamodb.PutItem", table, [&item]);
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| aws("PutItem")(sdk_message(&e)))?;
    Ok(())
}

/// Moves a job the API created (`CREATED`) to matching, with its files; `false` when someone
/// else started it first.
pub async fn start(client: &aws_sdk_dynamodb::Client, table: &str, job: &Job) -> Result<bool, PipelineError> {
    if !put_meta(client, table, job, Some("CREATED")).await? {
        return Ok(false);
    }
    put_shard_items(client, table, job).await?;
    Ok(true)
}

/// Puts the job's META item: new (`required_status` = `None`) or only over that status; `false`
/// when the condition did not hold.
async fn put_meta(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job: &Job,
    required_status: Option<&str>,
) -> Result<bool, PipelineError> {
    let item = job.to_item();
    requests::record_puts("dynamodb.PutItem", table, [&item]);
    let put = client.put_item().table_name(table).set_item(Some(item));
    let put = match required_status {
        None => put.condition_expression("attribute_not_exists(job_id)"),
        Some(status) => put
            .condition_expression("#s = :required")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":required", sv(status)),
    };
    match put.send().await {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(aws("PutItem")(sdk_message(&e))),
    }
}

/// A job the API created, waiting for uploads and `POST /api/jobs/{id}/match`.
pub async fn create_pending(client: &aws_sdk_dynamodb::Client, table: &str, job: &Job) -> Result<bool, PipelineError> {
    put_meta(client, table, job, None).await
}

fn shards_of(items: &[Item]) -> Option<(Job, Vec<ShardState>)> {
    let meta = items.iter().find(|i| s(i, "item").as_deref() == Some("META"))?;
    let shards = items
        .iter()
        .filter_map(|i| {
            let name = s(i, "item")?.strip_prefix("SHARD#")?.to_string();
            Some(ShardState {
                shard: name,
                status: s(i, "status").unwrap_or_default(),
                error: s(i, "error"),
                matches: n(i, "matches").unwrap_or(0) as u64,
                exceptions: n(i, "exceptions").unwrap_or(0) as u64,
            })
        })
        .collect();
    Some((Job::from_item(meta), shards))
}

pub async fn get_with_shards(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
) -> Result<Option<(Job, Vec<ShardState>)>, PipelineError> {
    let items = query_all(client, table, None, "job_id", job_id).await?;
    Ok(shards_of(&items))
}

/// Creates the job and its queued shard items; `false` when the job already exists.
pub async fn create(client: &aws_sdk_dynamodb::Client, table: &str, job: &Job) -> Result<bool, PipelineError> {
    if !put_meta(client, table, job, None).await? {
        return Ok(false);
    }
    put_shard_items(client, table, job).await?;
    Ok(true)
}

async fn put_shard_items(client: &aws_sdk_dynamodb::Client, table: &str, job: &Job) -> Result<(), PipelineError> {
    let shards = (0..job.shards).map(Some).chain(std::iter::once(None));
    let items = shards
        .map(|s| {
            let mut item: Item = key(&job.job_id, &format!("SHARD#{}", shard_name(s))).into_iter().collect();
            item.insert("status".into(), sv("QUEUED"));
            item
        })
        .collect();
    settlepaisa_aws::dynamo::put_all(client, table, items).await?;
    Ok(())
}

pub async fn get_shard_status(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    shard: &str,
) -> Result<Option<String>, PipelineError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(job_id, &format!("SHARD#{shard}")).into_iter().collect()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| aws("GetItem")(sdk_message(&e)))?;
    Ok(out.item.as_ref().and_then(|i| s(i, "status")))
}

/// Marks a shard done and counts it on the job, atomically and once: `false` when the shard was
/// already done (a redelivered message), in which case nothing changes.
pub async fn complete_shard(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    shard: &str,
    matches: u64,
    exceptions: u64,
    job_status: Option<&str>,
) -> Result<bool, PipelineError> {
    let build = |u: aws_sdk_dynamodb::types::builders::UpdateBuilder| {
        u.build()
            .map(|u: Update| TransactWriteItem::builder().update(u).build())
            .map_err(|e| aws("TransactWriteItems")(e.to_string()))
    };
    let shard_update = build(
        Update::builder()
            .table_name(table)
            .set_key(Some(key(job_id, &format!("SHARD#{shard}")).into_iter().collect()))
            .update_expression("SET #s = :done, #m = :m, #x = :e REMOVE #err")
            .condition_expression("#s <> :done")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#err", "error")
            .expression_attribute_names("#m", "matches")
            .expression_attribute_names("#x", "exceptions")
            .expression_attribute_values(":done", AttributeValue::S("DONE".into()))
            .expression_attribute_values(":m", AttributeValue::N(matches.to_string()))
            .expression_attribute_values(":e", AttributeValue::N(exceptions.to_string())),
    )?;
    let mut meta = Update::builder()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .expression_attribute_names("#done", "shards_done");
    meta = match job_status {
        Some(status) => meta
            .update_expression("SET #st = :st")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", AttributeValue::S(status.into()))
            .condition_expression("attribute_exists(#done)"),
        None => {
            meta.update_expression("ADD #done :one").expression_attribute_values(":one", AttributeValue::N("1".into()))
        }
    };
    let meta_update = build(meta)?;
    // A transaction bills two write units per KB of each item it writes (both under a KB here).
    requests::record("dynamodb.TransactWriteItems", 4);
    let out = client.transact_write_items().transact_items(shard_update).transact_items(meta_update).send().await;
    match out {
        Ok(_) => Ok(true),
        Err(e) => {
            let text = sdk_message(&e);
            if text.contains("ConditionalCheckFailed") {
                Ok(false)
            } else {
                Err(aws("TransactWriteItems")(text))
            }
        }
    }
}

/// Records a shard that will not be retried again, and fails its job with the reason.
pub async fn fail_shard(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    shard: &str,
    error: &str,
) -> Result<(), PipelineError> {
    for (item, status) in [(format!("SHARD#{shard}"), "FAILED"), ("META".to_string(), "FAILED")] {
        requests::record("dynamodb.UpdateItem", 1);
        let message = if item == "META" { format!("shard {shard} failed: {error}") } else { error.to_string() };
        client
            .update_item()
            .table_name(table)
            .set_key(Some(key(job_id, &item).into_iter().collect()))
            .update_expression("SET #s = :s, #e = :e")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#e", "error")
            .expression_attribute_values(":s", AttributeValue::S(status.into()))
            .expression_attribute_values(":e", AttributeValue::S(message))
            .send()
            .await
            .map_err(|e| aws("UpdateItem")(sdk_message(&e)))?;
    }
    Ok(())
}

/// Sets the job's final status and summary (the finalizer).
pub async fn finish(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    summary: &serde_json::Value,
) -> Result<(), PipelineError> {
    requests::record("dynamodb.UpdateItem", 1);
    let out = client
        .update_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .update_expression("SET #s = :s, summary = :sum")
        .condition_expression("#s <> :failed")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", AttributeValue::S("COMPLETED".into()))
        .expression_attribute_values(":failed", AttributeValue::S("FAILED".into()))
        .expression_attribute_values(":sum", AttributeValue::S(summary.to_string()))
        .send()
        .await;
    match out {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(()),
        Err(e) => Err(aws("UpdateItem")(sdk_message(&e))),
    }
}
