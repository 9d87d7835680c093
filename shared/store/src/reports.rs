//! The reports table (issue 15 §3): one item per report requested (`pk` = its id), its status
//! `QUEUED` → `RUNNING` → `READY` | `FAILED`, where its CSV is, and when it goes (TTL 30 days,
//! like the object's lifecycle rule).

use crate::approvals::Person;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde::{Deserialize, Serialize};
use settlepaisa_aws::dynamo::{nv, sv, Fields, Item, Malformed};
use settlepaisa_aws::transact::Transacted;
use settlepaisa_aws::{requests, AwsError};

/// How long a report (and its object) is kept.
pub const KEEP_SECS: i64 = 30 * 86_400;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportStatus {
    Queued,
    Running,
    Ready,
    Failed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Queued => "QUEUED",
            ReportStatus::Running => "RUNNING",
            ReportStatus::Ready => "READY",
            ReportStatus::Failed => "FAILED",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub report_id: String,
    /// `recon_summary`, `exceptions`, `settlements`, `disputes`, `merchant_statement`.
    pub kind: String,
    pub from: String,
    pub to: String,
    pub merchant_id: Option<String>,
    pub job_id: Option<String>,
    pub requested_by: Person,
    pub requested_at: String,
    pub status: ReportStatus,
    pub attempts: u32,
    pub rows: Option<u64>,
    pub bytes: Option<u64>,
    /// The artifacts bucket's key of the CSV, once ready.
    pub key: Option<String>,
    pub error: Option<String>,
    pub finished_at: Option<String>,
    /// The most bytes the generator held at once (its part buffer): the bound its memory keeps.
    pub max_buffered_bytes: Option<u64>,
}

fn item_of(r: &Report, expires_at: i64) -> Item {
    Item::from([
        ("pk".to_string(), sv(&r.report_id)),
        ("doc".to_string(), sv(serde_json::to_string(r).expect("a report serializes"))),
        ("status".to_string(), sv(r.status.as_str())),
        ("expires_at".to_string(), nv(expires_at)),
    ])
}

fn from_item(item: &Item) -> Result<Report, Malformed> {
    let f = Fields::new("report", item);
    serde_json::from_str(&f.s("doc")?).map_err(|e| f.bad(format!("`doc` is not a report: {e}")))
}

/// `RPT-{yyyymmddhhmmss}-{8 hex}`.
pub fn new_id() -> String {
    crate::approvals::new_id().replacen("APR-", "RPT-", 1)
}

/// Records a new report (`QUEUED`) with its audit entry.
pub async fn put_new(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    r: &Report,
    now: i64,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<(), AwsError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item_of(r, now + KEEP_SECS)))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(|e| AwsError::new("TransactWriteItems", e))?;
    match crate::audit::transact(client, audit.0, vec![TransactWriteItem::builder().put(put).build()], audit.1).await? {
        Transacted::Written => Ok(()),
        Transacted::ConditionFailed { .. } => Err(AwsError::new("TransactWriteItems", "a report id was taken; retry")),
    }
}

pub async fn get(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> Result<Option<Report>, AwsError> {
    let key = Item::from([("pk".to_string(), sv(id))]);
    let item = settlepaisa_aws::dynamo::get_consistent(client, table, key).await?;
    item.as_ref().map(from_item).transpose().map_err(|e| AwsError::new("GetItem", e))
}

/// Writes `r` over the report as it was (`was`): `false` when it moved meanwhile (another
/// delivery of its message got there first).
pub async fn replace(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    r: &Report,
    was: ReportStatus,
    was_attempts: u32,
    now: i64,
) -> Result<bool, AwsError> {
    requests::record("dynamodb.PutItem", 1);
    let mut item = item_of(r, now + KEEP_SECS);
    item.insert("attempts".into(), nv(r.attempts));
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#s = :was AND (attribute_not_exists(attempts) OR attempts = :n)")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":was", sv(was.as_str()))
        .expression_attribute_values(":n", nv(was_attempts))
        .send()
        .await;
    settlepaisa_aws::dynamo::conditional("PutItem", out)
}
