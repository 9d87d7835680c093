//! Jobs and their shards in the jobs table (`job_id`, `item`): the `META` item holds the job, one
//! `SHARD#nnn` item per UTR shard and `SHARD#residual` hold each shard's state. Also the messages
//! that move a job along.

use crate::error::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use settlepaisa_aws::dynamo::{conditional, nv, query_all, s, sv, Fields, Item, Malformed};
use settlepaisa_aws::transact::{transact, Transacted};
use settlepaisa_aws::{requests, sdk_message, AwsError};

/// Where a job is. `CREATED` waits for uploads and a match request (API jobs); `MATCHING` runs its
/// UTR shards and then the residual shard; `FINALIZING` rolls up KPIs; `FAILED` names its first
/// cause and can be resumed (only the shards not `DONE` run again).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    Created,
    Matching,
    Finalizing,
    Completed,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Created => "CREATED",
            JobStatus::Matching => "MATCHING",
            JobStatus::Finalizing => "FINALIZING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        [JobStatus::Created, JobStatus::Matching, JobStatus::Finalizing, JobStatus::Completed, JobStatus::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for JobStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A shard's state: `QUEUED` until it has written its results, then `DONE`; `FAILED` when its
/// last attempt failed (a resume queues it again).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ShardStatus {
    Queued,
    Done,
    Failed,
}

impl ShardStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardStatus::Queued => "QUEUED",
            ShardStatus::Done => "DONE",
            ShardStatus::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<ShardStatus> {
        [ShardStatus::Queued, ShardStatus::Done, ShardStatus::Failed].into_iter().find(|s| s.as_str() == text)
    }
}

impl PartialEq<&str> for ShardStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

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
    /// The file's partition entries. Kept in the job's manifest in S3 ([`Job::files_manifest`]),
    /// not in the `META` item: a month of files with their entries would pass DynamoDB's 400 KB.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    /// Capture dates reconciled, inclusive (`YYYY-MM-DD`, IST).
    pub from: String,
    pub to: String,
    pub shards: u32,
    pub status: JobStatus,
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
    /// When the shard messages were queued (Unix seconds); absent until every send succeeded.
    #[serde(default)]
    pub queued_at: Option<i64>,
    /// When a shard last finished (or the job was queued): a job whose progress is older than the
    /// stall window may be queued again.
    #[serde(default)]
    pub progress_at: Option<i64>,
    /// Files of the job's dates that it could not take: still being ingested, or failed (with
    /// why). Re-drive them and run a new job to count them.
    #[serde(default)]
    pub skipped: Vec<String>,
    /// The artifacts key of the job's files with their partition entries (`jobs/{job_id}/files-
    /// {hash}.json`, written before the job is), which `match-shard` reads; `None` for a job that
    /// carries its entries in `files`.
    pub files_manifest: Option<String>,
    /// When `POST /api/jobs/{id}/match` queued the job's planning (Unix seconds): a second request
    /// is refused while it is pending, unless it is older than the stall window (the plan message
    /// was lost).
    #[serde(default)]
    pub plan_requested_at: Option<i64>,
    /// The contracted acquirer rates the job's settlement step holds reports to, fixed when the
    /// job is planned (from `config/settlement-fees.toml`, else the defaults), so a job's result
    /// never changes with a later edit of the rates and says which rates proved it. `None` for a
    /// job without settlement reports, or planned before rates were recorded (the defaults).
    #[serde(default)]
    pub settlement_fees: Option<settlepaisa_recon::settlement::FeeSchedule>,
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
    pub status: ShardStatus,
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

/// A job to plan (`plan-match`'s direct event, and the plan queue's message body).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// Given by the caller (the API creates jobs); generated when absent.
    pub job_id: Option<String>,
    /// Capture dates to reconcile, inclusive, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    /// UTR shards, 1 to 64; the stack's default when absent.
    pub shards: Option<u32>,
}

/// A new job's id: its dates and a time-derived suffix.
pub fn new_job_id(from: settlepaisa_recon::date::Date, to: settlepaisa_recon::date::Date) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!(
        "JOB-{}-{}-{:08x}",
        from.to_string().replace('-', ""),
        to.to_string().replace('-', ""),
        (nanos as u64) & 0xffff_ffff
    )
}

pub fn now_rfc3339() -> String {
    settlepaisa_recon::date::format_utc(now_secs())
}

/// The start of the error of a job refused at planning because two statements share a name.
pub const DUPLICATE_NAMES: &str = "two statements are named";

/// Whether a started job has work to queue again: `FAILED`, or running with its queueing never
/// finished (a send failed), or with no progress for longer than the stall window (longer than a
/// shard's visibility timeout, so SQS would have redelivered anything in flight).
pub fn resumable(job: &Job, stall_secs: i64, now: i64) -> bool {
    match job.status {
        // A job refused at planning (two statements with one name) would fail the same way again.
        JobStatus::Failed => job.error.as_deref().is_none_or(|e| !e.starts_with(DUPLICATE_NAMES)),
        JobStatus::Matching | JobStatus::Finalizing => {
            job.queued_at.is_none() || job.progress_at.is_none_or(|p| now - p >= stall_secs)
        }
        JobStatus::Created | JobStatus::Completed => false,
    }
}

/// Records that a job's planning (or resume) was queued, once: `false` when another request queued
/// it less than `stall_secs` ago (cleared when `plan-match` has queued the job's messages:
/// [`mark_queued`]), or the job is no longer in the status `seen`.
pub async fn request_plan(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    seen: JobStatus,
    now: i64,
    stall_secs: i64,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .update_expression("SET plan_requested_at = :now")
        .condition_expression("#s = :seen AND (attribute_not_exists(plan_requested_at) OR plan_requested_at < :stale)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":seen", sv(seen.as_str()))
        .expression_attribute_values(":now", nv(now))
        .expression_attribute_values(":stale", nv(now - stall_secs));
    let items = vec![transact_update(update)?];
    Ok(matches!(crate::audit::transact(client, audit.0, items, audit.1).await?, Transacted::Written))
}

/// Takes back a plan request whose message could not be sent, so the next request may try again.
pub async fn withdraw_plan_request(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    at: i64,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<(), StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .update_expression("REMOVE plan_requested_at")
        .condition_expression("plan_requested_at = :at")
        .expression_attribute_values(":at", nv(at));
    crate::audit::transact(client, audit.0, vec![transact_update(update)?], audit.1).await?;
    Ok(())
}

impl Job {
    pub fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert("job_id".into(), sv(&self.job_id));
        item.insert("item".into(), sv("META"));
        item.insert("from".into(), sv(&self.from));
        item.insert("to".into(), sv(&self.to));
        item.insert("shards".into(), nv(self.shards));
        item.insert("status".into(), sv(self.status.as_str()));
        // Without partition entries when a manifest holds them.
        let files: Vec<JobFile> = match &self.files_manifest {
            Some(_) => self.files.iter().map(|f| JobFile { partitions: Vec::new(), ..f.clone() }).collect(),
            None => self.files.clone(),
        };
        item.insert("files".into(), sv(serde_json::to_string(&files).unwrap_or_default()));
        if let Some(key) = &self.files_manifest {
            item.insert("files_manifest".into(), sv(key));
        }
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
        if !self.skipped.is_empty() {
            item.insert("skipped".into(), settlepaisa_aws::dynamo::lv(self.skipped.iter().cloned()));
        }
        if let Some(fees) = &self.settlement_fees {
            item.insert("settlement_fees".into(), sv(serde_json::to_string(fees).unwrap_or_default()));
        }
        for (name, at) in [
            ("queued_at", self.queued_at),
            ("progress_at", self.progress_at),
            ("plan_requested_at", self.plan_requested_at),
        ] {
            if let Some(at) = at {
                item.insert(name.into(), nv(at));
            }
        }
        item
    }

    pub fn from_item(item: &Item) -> Result<Job, Malformed> {
        let f = Fields::new("job", item);
        Ok(Job {
            job_id: f.s("job_id")?,
            from: f.s("from")?,
            to: f.s("to")?,
            shards: f.n("shards")?,
            status: f.parsed("status", JobStatus::parse)?,
            files: f.parsed("files", |t| serde_json::from_str(t).ok())?,
            shards_done: f.n("shards_done")?,
            error: f.opt_s("error")?,
            created_at: f.s("created_at")?,
            summary: f.opt_parsed("summary", |t| serde_json::from_str(t).ok())?,
            sources: f.str_list("sources")?,
            created_by: f.opt_s("created_by")?,
            queued_at: f.opt_n("queued_at")?,
            progress_at: f.opt_n("progress_at")?,
            skipped: f.str_list("skipped")?,
            files_manifest: f.opt_s("files_manifest")?,
            plan_requested_at: f.opt_n("plan_requested_at")?,
            settlement_fees: f.opt_parsed("settlement_fees", |t| serde_json::from_str(t).ok())?,
        })
    }
}

fn key(job_id: &str, item: &str) -> [(String, AttributeValue); 2] {
    [("job_id".into(), AttributeValue::S(job_id.into())), ("item".into(), AttributeValue::S(item.into()))]
}

fn aws(op: &'static str) -> impl Fn(String) -> StoreError {
    move |m| StoreError::Aws(AwsError::new(op, m))
}

pub async fn get(client: &aws_sdk_dynamodb::Client, table: &str, job_id: &str) -> Result<Option<Job>, StoreError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| aws("GetItem")(sdk_message(&e)))?;
    Ok(out.item.as_ref().map(Job::from_item).transpose()?)
}

/// The job and its shard states, in one query.
/// A job with its shards and uploads: one Query (`job_id = :j`).
pub async fn get_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
) -> Result<Option<(Job, Vec<ShardState>, Vec<JobUpload>)>, StoreError> {
    let items = query_all(client, table, None, "job_id", job_id).await?;
    let uploads = items
        .iter()
        .filter(|i| s(i, "item").is_some_and(|k| k.starts_with("FILE#")))
        .map(|i| {
            let f = Fields::new("job upload", i);
            Ok(JobUpload {
                file_id: f.s("file_id")?,
                name: f.s("name")?,
                kind: f.s("kind")?,
                layout: f.opt_s("layout")?,
                status: f.s("status")?,
                error: f.opt_s("error")?,
                data_rows: f.n("data_rows")?,
                rejected_rows: f.n("rejected_rows")?,
                records: f.n("records")?,
            })
        })
        .collect::<Result<Vec<_>, Malformed>>()?;
    Ok(shards_of(&items)?.map(|(job, shards)| (job, shards, uploads)))
}

/// Records what ingestion made of a file uploaded to a job, under the job.
pub async fn record_upload(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    file: &crate::file_record::FileRecord,
) -> Result<(), StoreError> {
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
pub async fn start(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job: &Job,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    if !put_meta(client, table, job, Some(JobStatus::Created), audit).await? {
        return Ok(false);
    }
    put_shard_items(client, table, job).await?;
    Ok(true)
}

/// Puts the job's META item: new (`required_status` = `None`) or only over that status, with its
/// audit entry in the same transaction; `false` when the condition did not hold.
async fn put_meta(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job: &Job,
    required_status: Option<JobStatus>,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let item = job.to_item();
    requests::record_puts("dynamodb.TransactWriteItems", table, [&item]);
    let put = aws_sdk_dynamodb::types::Put::builder().table_name(table).set_item(Some(item));
    let put = match required_status {
        None => put.condition_expression("attribute_not_exists(job_id)"),
        Some(status) => put
            .condition_expression("#s = :required")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":required", sv(status.as_str())),
    };
    let put = put.build().map_err(|e| settlepaisa_aws::AwsError::new("TransactWriteItems", e))?;
    let items = vec![TransactWriteItem::builder().put(put).build()];
    Ok(matches!(crate::audit::transact(client, audit.0, items, audit.1).await?, Transacted::Written))
}

/// A job the API created, waiting for uploads and `POST /api/jobs/{id}/match`, with its audit
/// entry in the same transaction. `false`: the id is taken.
pub async fn create_pending(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job: &Job,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let item = job.to_item();
    requests::record_puts("dynamodb.TransactWriteItems", table, [&item]);
    let put = aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(job_id)")
        .build()
        .map_err(|e| settlepaisa_aws::AwsError::new("TransactWriteItems", e))?;
    let items = vec![TransactWriteItem::builder().put(put).build()];
    Ok(matches!(crate::audit::transact(client, audit.0, items, audit.1).await?, Transacted::Written))
}

fn shards_of(items: &[Item]) -> Result<Option<(Job, Vec<ShardState>)>, Malformed> {
    let Some(meta) = items.iter().find(|i| s(i, "item").as_deref() == Some("META")) else { return Ok(None) };
    let shards = items
        .iter()
        .filter_map(|i| Some((s(i, "item")?.strip_prefix("SHARD#")?.to_string(), i)))
        .map(|(name, i)| {
            let f = Fields::new("shard", i);
            Ok(ShardState {
                shard: name,
                status: f.parsed("status", ShardStatus::parse)?,
                error: f.opt_s("error")?,
                matches: f.opt_n("matches")?.unwrap_or(0),
                exceptions: f.opt_n("exceptions")?.unwrap_or(0),
            })
        })
        .collect::<Result<Vec<_>, Malformed>>()?;
    Ok(Some((Job::from_item(meta)?, shards)))
}

pub async fn get_with_shards(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
) -> Result<Option<(Job, Vec<ShardState>)>, StoreError> {
    let items = query_all(client, table, None, "job_id", job_id).await?;
    Ok(shards_of(&items)?)
}

/// Creates the job and its queued shard items; `false` when the job already exists.
pub async fn create(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job: &Job,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    if !put_meta(client, table, job, None, audit).await? {
        return Ok(false);
    }
    put_shard_items(client, table, job).await?;
    Ok(true)
}

async fn put_shard_items(client: &aws_sdk_dynamodb::Client, table: &str, job: &Job) -> Result<(), StoreError> {
    put_missing_shard_items(client, table, job, &[]).await
}

/// Puts a `QUEUED` item for each of the job's shards not in `present`: a job whose META was written
/// but whose shard items were not (the second write failed) gets them back when it is resumed, so
/// its shards can be counted done.
pub async fn put_missing_shard_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job: &Job,
    present: &[String],
) -> Result<(), StoreError> {
    let shards = (0..job.shards).map(Some).chain(std::iter::once(None));
    let items: Vec<Item> = shards
        .filter(|s| !present.contains(&shard_name(*s)))
        .map(|s| {
            let mut item: Item = key(&job.job_id, &format!("SHARD#{}", shard_name(s))).into_iter().collect();
            item.insert("status".into(), sv(ShardStatus::Queued.as_str()));
            item
        })
        .collect();
    if !items.is_empty() {
        settlepaisa_aws::dynamo::put_all(client, table, items).await?;
    }
    Ok(())
}

pub async fn get_shard_status(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    shard: &str,
) -> Result<Option<ShardStatus>, StoreError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(job_id, &format!("SHARD#{shard}")).into_iter().collect()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| aws("GetItem")(sdk_message(&e)))?;
    Ok(out.item.as_ref().map(|i| Fields::new("shard", i).parsed("status", ShardStatus::parse)).transpose()?)
}

fn transact_update(u: aws_sdk_dynamodb::types::builders::UpdateBuilder) -> Result<TransactWriteItem, StoreError> {
    u.build()
        .map(|u: Update| TransactWriteItem::builder().update(u).build())
        .map_err(|e| aws("TransactWriteItems")(e.to_string()))
}

/// Marks a shard done and counts it on the job, atomically and once: `false` when the shard was
/// already done (a redelivered message) or the job is gone, in which case nothing changes. Every
/// shard of a job updates the one META item at about the same moment, so DynamoDB cancels some of
/// these transactions for a conflict: they are sent again after a jittered backoff, in place,
/// instead of failing the shard.
pub async fn complete_shard(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    shard: &str,
    matches: u64,
    exceptions: u64,
    job_status: Option<JobStatus>,
) -> Result<bool, StoreError> {
    let shard_update = transact_update(
        Update::builder()
            .table_name(table)
            .set_key(Some(key(job_id, &format!("SHARD#{shard}")).into_iter().collect()))
            .update_expression("SET #s = :done, #m = :m, #x = :e REMOVE #err")
            .condition_expression("attribute_exists(#s) AND #s <> :done")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#err", "error")
            .expression_attribute_names("#m", "matches")
            .expression_attribute_names("#x", "exceptions")
            .expression_attribute_values(":done", sv(ShardStatus::Done.as_str()))
            .expression_attribute_values(":m", nv(matches))
            .expression_attribute_values(":e", nv(exceptions)),
    )?;
    let meta = Update::builder()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .expression_attribute_names("#done", "shards_done")
        .expression_attribute_names("#p", "progress_at")
        .expression_attribute_values(":now", nv(now_secs()))
        .condition_expression("attribute_exists(#done)");
    let meta = match job_status {
        // Only a running job moves on: a late copy of the residual shard must not take a failed
        // job (or a finished one) back to FINALIZING.
        Some(status) => meta
            .update_expression("SET #st = :st, #p = :now")
            .condition_expression("attribute_exists(#done) AND #st = :matching")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":st", sv(status.as_str()))
            .expression_attribute_values(":matching", sv(JobStatus::Matching.as_str())),
        None => meta.update_expression("ADD #done :one SET #p = :now").expression_attribute_values(":one", nv(1)),
    };
    let meta_update = transact_update(meta)?;
    match transact(client, vec![shard_update, meta_update]).await? {
        Transacted::Written => Ok(true),
        Transacted::ConditionFailed { .. } => Ok(false),
    }
}

/// Records a shard whose last attempt failed, and fails its job with the reason, in one
/// transaction: nothing for an unknown job (no phantom items), nothing when the shard is already
/// `DONE` (a stale attempt from before a resume), and the job only while it is `MATCHING` (a job
/// already failed keeps its first cause; the shard is still marked).
pub async fn fail_shard(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    shard: &str,
    error: &str,
) -> Result<(), StoreError> {
    let shard_update = || {
        let u = Update::builder()
            .table_name(table)
            .set_key(Some(key(job_id, &format!("SHARD#{shard}")).into_iter().collect()))
            .update_expression("SET #s = :failed, #e = :e")
            .condition_expression("attribute_exists(#s) AND #s <> :done")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#e", "error")
            .expression_attribute_values(":failed", sv(ShardStatus::Failed.as_str()))
            .expression_attribute_values(":done", sv(ShardStatus::Done.as_str()))
            .expression_attribute_values(":e", sv(error));
        transact_update(u)
    };
    let meta = transact_update(
        Update::builder()
            .table_name(table)
            .set_key(Some(key(job_id, "META").into_iter().collect()))
            .update_expression("SET #s = :failed, #e = :e")
            .condition_expression("#s = :matching")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#e", "error")
            .expression_attribute_values(":failed", sv(JobStatus::Failed.as_str()))
            .expression_attribute_values(":matching", sv(JobStatus::Matching.as_str()))
            .expression_attribute_values(":e", sv(format!("shard {shard} failed: {error}"))),
    )?;
    match transact(client, vec![shard_update()?, meta]).await? {
        Transacted::Written => Ok(()),
        // The job is no longer running (failed first by another shard, or gone): mark the shard
        // alone, still only if it exists and is not done.
        Transacted::ConditionFailed { failed } if failed.first() == Some(&false) => {
            match transact(client, vec![shard_update()?]).await? {
                Transacted::Written | Transacted::ConditionFailed { .. } => Ok(()),
            }
        }
        Transacted::ConditionFailed { .. } => Ok(()),
    }
}

/// Fails a job whose finalization will not be retried again (its message goes to the dead-letter
/// queue), keeping an earlier cause if there is one.
pub async fn fail_job(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    error: &str,
) -> Result<(), StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let out = client
        .update_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .update_expression("SET #s = :failed, #e = :e")
        .condition_expression("attribute_exists(#s) AND NOT #s IN (:failed, :completed)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#e", "error")
        .expression_attribute_values(":failed", sv(JobStatus::Failed.as_str()))
        .expression_attribute_values(":completed", sv(JobStatus::Completed.as_str()))
        .expression_attribute_values(":e", sv(error))
        .send()
        .await;
    // Not over a finished or already-failed job: nothing to do then.
    conditional("UpdateItem", out)?;
    Ok(())
}

/// Records the contracted acquirer rates on a job that has none yet (one refused at planning for
/// its rates, being resumed): the job keeps the first rates it was held to.
pub async fn record_settlement_fees(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    fees: &settlepaisa_recon::settlement::FeeSchedule,
) -> Result<(), StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let out = client
        .update_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .update_expression("SET settlement_fees = :f")
        .condition_expression("attribute_exists(job_id) AND attribute_not_exists(settlement_fees)")
        .expression_attribute_values(":f", sv(serde_json::to_string(fees).unwrap_or_default()))
        .send()
        .await;
    // Another resume recorded them first: those stand.
    conditional("UpdateItem", out)?;
    Ok(())
}

/// Records that every message of the job's current step was queued.
pub async fn mark_queued(client: &aws_sdk_dynamodb::Client, table: &str, job_id: &str) -> Result<(), StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let now = now_secs();
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        // Every message is out: a match request may queue the job again (if it fails or stalls).
        .update_expression("SET queued_at = :now, progress_at = :now REMOVE plan_requested_at")
        .condition_expression("attribute_exists(job_id)")
        .expression_attribute_values(":now", nv(now))
        .send()
        .await
        .map_err(|e| aws("UpdateItem")(sdk_message(&e)))?;
    Ok(())
}

/// Takes a `FAILED` job (or one whose queueing never finished, or that stalled) back to work:
/// failed shards are queued again, the job's error is cleared and its status becomes `status`.
/// Only over the state the caller saw (`seen`), so two resumes cannot both win; `false` when
/// someone else moved the job first.
pub async fn reopen(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    seen: &Job,
    status: JobStatus,
    failed_shards: &[String],
) -> Result<bool, StoreError> {
    let job_id = seen.job_id.as_str();
    requests::record("dynamodb.UpdateItem", 1);
    // Over exactly the state the caller saw (status and last progress): the first of two
    // concurrent resumes moves `progress_at`, so the second's condition fails.
    let update = client
        .update_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .update_expression("SET #s = :to, #p = :now REMOVE #e, queued_at")
        .expression_attribute_names("#s", "status")
        .expression_attribute_names("#e", "error")
        .expression_attribute_names("#p", "progress_at")
        .expression_attribute_values(":to", sv(status.as_str()))
        .expression_attribute_values(":seen", sv(seen.status.as_str()))
        .expression_attribute_values(":now", nv(now_secs()));
    let update = match seen.progress_at {
        Some(p) => update.condition_expression("#s = :seen AND #p = :p").expression_attribute_values(":p", nv(p)),
        None => update.condition_expression("#s = :seen AND attribute_not_exists(#p)"),
    };
    let out = update.send().await;
    if !conditional("UpdateItem", out)? {
        return Ok(false);
    }
    for shard in failed_shards {
        requests::record("dynamodb.UpdateItem", 1);
        let out = client
            .update_item()
            .table_name(table)
            .set_key(Some(key(job_id, &format!("SHARD#{shard}")).into_iter().collect()))
            .update_expression("SET #s = :queued REMOVE #e")
            .condition_expression("#s = :failed")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#e", "error")
            .expression_attribute_values(":queued", sv(ShardStatus::Queued.as_str()))
            .expression_attribute_values(":failed", sv(ShardStatus::Failed.as_str()))
            .send()
            .await;
        // A shard that is not FAILED (done, or queued already) stays as it is.
        conditional("UpdateItem", out)?;
    }
    Ok(true)
}

/// Sets the job's final status and summary (the finalizer).
pub async fn finish(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    summary: &serde_json::Value,
) -> Result<(), StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let out = client
        .update_item()
        .table_name(table)
        .set_key(Some(key(job_id, "META").into_iter().collect()))
        .update_expression("SET #s = :s, summary = :sum")
        .condition_expression("#s = :finalizing")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":s", sv(JobStatus::Completed.as_str()))
        .expression_attribute_values(":finalizing", sv(JobStatus::Finalizing.as_str()))
        .expression_attribute_values(":sum", sv(summary.to_string()))
        .send()
        .await;
    // A job that is not finalizing (a redelivered message after completion): nothing to do.
    conditional("UpdateItem", out)?;
    Ok(())
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job {
            job_id: "JOB-1".into(),
            from: "2026-10-01".into(),
            to: "2026-10-01".into(),
            shards: 4,
            status: JobStatus::Matching,
            files: vec![JobFile {
                file_id: "F1".into(),
                key: "incoming/pg/x.csv".into(),
                name: "x.csv".into(),
                kind: "pg".into(),
                layout: None,
                partitions: vec!["p01:2".into()],
            }],
            shards_done: 1,
            error: None,
            created_at: "2026-10-01T00:00:00Z".into(),
            summary: None,
            sources: vec![],
            created_by: None,
            queued_at: Some(1),
            progress_at: Some(2),
            skipped: vec!["incoming/pg/y.csv is FAILED: boom".into()],
            files_manifest: None,
            plan_requested_at: None,
            settlement_fees: None,
        }
    }

    #[test]
    fn a_jobs_settlement_rates_read_back_as_planned() {
        let mut j = job();
        assert!(!j.to_item().contains_key("settlement_fees"));
        let fees = settlepaisa_recon::settlement::FeeSchedule { gst_bps: 1800, mdr_bps: [0, 210, 190, 175] };
        j.settlement_fees = Some(fees.clone());
        let item = j.to_item();
        assert_eq!(Job::from_item(&item).unwrap().settlement_fees, Some(fees));
        // Keyed by method, never by position.
        let stored = s(&item, "settlement_fees").unwrap();
        assert!(stored.contains(r#""CARD":210"#) && stored.contains(r#""WALLET":175"#), "{stored}");
    }

    #[test]
    fn a_job_with_a_manifest_keeps_partition_entries_out_of_its_item() {
        let mut j = job();
        j.files[0].partitions = (0..65).map(|p| format!("p{p:02}/c0000-0799:1")).collect();
        j.files_manifest = Some("jobs/JOB-1/files-0123456789abcdef.json".into());
        let item = j.to_item();
        assert!(!s(&item, "files").unwrap().contains("p07"), "entries stay in the manifest");
        let back = Job::from_item(&item).unwrap();
        assert!(back.files[0].partitions.is_empty());
        assert_eq!(back.files_manifest, j.files_manifest);
        assert_eq!(back.files[0].file_id, j.files[0].file_id);
    }

    #[test]
    fn a_job_reads_back_as_written() {
        assert_eq!(Job::from_item(&job().to_item()).unwrap(), job());
    }

    #[test]
    fn a_corrupt_job_item_is_an_error_not_a_default() {
        let corrupt = |name: &str, value: Option<AttributeValue>| {
            let mut item = job().to_item();
            match value {
                Some(v) => item.insert(name.into(), v),
                None => item.remove(name),
            };
            Job::from_item(&item).unwrap_err().to_string()
        };
        // A job with no readable files would "complete" with nothing matched.
        assert!(corrupt("files", Some(sv("not json"))).contains("`files`"));
        assert!(corrupt("files", None).contains("`files` is missing"));
        assert!(corrupt("status", Some(sv("DONEISH"))).contains("`status`"));
        assert!(corrupt("shards", Some(nv(-1))).contains("out of range"));
        assert!(corrupt("shards_done", Some(sv("3"))).contains("not a number"));
        assert!(corrupt("sources", Some(AttributeValue::L(vec![nv(1)]))).contains("non-string"));
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_refused() {
        for s in
            [JobStatus::Created, JobStatus::Matching, JobStatus::Finalizing, JobStatus::Completed, JobStatus::Failed]
        {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobStatus::parse("RESIDUAL"), None);
        for s in [ShardStatus::Queued, ShardStatus::Done, ShardStatus::Failed] {
            assert_eq!(ShardStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ShardStatus::parse("done"), None);
    }
}
