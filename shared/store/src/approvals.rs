//! The approvals table (maker-checker, issue 15 §2). Keys (`pk`, `sk`):
//!
//! - `RULE` / `{action}` — a rule ([`Rule`] JSON in `doc`) over the defaults
//!   (`settlepaisa_audit::rules::defaults`); written only by an approved `approval_rule.change`;
//! - `APPROVAL` / `{id}` — a parked request: what it would do (`doc`), its `status` and `version`;
//! - `TARGET#{type}#{id}` / `PENDING` — the request pending on a target (`approval_id`, `action`),
//!   for the target's own reads (one GetItem, or a BatchGetItem for a page of targets); put only
//!   where none is, so a target holds at most one; removed when the request is decided.
//!
//! Parking, deciding and applying each write in one transaction with their audit entry; applying
//! adds [`decide_items`] to the change's own transaction, so a request is applied exactly once.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use settlepaisa_audit::rules::{ApprovalStatus, Rule};
use settlepaisa_audit::Draft;
use settlepaisa_aws::dynamo::{all_pages, get_consistent, nv, sv, Fields, Item, Malformed};
use settlepaisa_aws::transact::Transacted;
use settlepaisa_aws::{requests, sdk_message, AwsError};
use std::collections::BTreeMap;

const RULES: &str = "RULE";
const APPROVALS: &str = "APPROVAL";

fn key(pk: &str, sk: &str) -> Item {
    Item::from([("pk".to_string(), sv(pk)), ("sk".to_string(), sv(sk))])
}

fn build(e: aws_sdk_dynamodb::error::BuildError) -> AwsError {
    AwsError::new("TransactWriteItems", e)
}

/// A person, as an approval records them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub user_id: String,
    pub role: String,
}

/// A parked request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Approval {
    pub approval_id: String,
    /// The gated action (`merchant.update`, …).
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// The permission a checker needs: the one the request's route needs.
    pub permission: String,
    pub maker: Person,
    pub requested_at: String,
    /// The request's id (the maker's).
    pub request_id: String,
    pub reason: Option<String>,
    /// The amount the rule weighed (paise).
    pub amount_paise: i64,
    /// What approval applies: the request as made, and what it expects of the target.
    pub request: Value,
    /// What the change would do, for the checker to read.
    pub preview: Value,
    pub status: ApprovalStatus,
    pub decided_by: Option<Person>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
    pub version: u64,
}

impl Approval {
    /// As the API shows it: everything but `request`, which may hold what the requester's own
    /// views mask (a merchant's full account number); `preview` shows the change.
    pub fn view(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("request");
        }
        v
    }
}

/// `APR-{yyyymmddhhmmss}-{8 hex}`.
pub fn new_id() -> String {
    let now = crate::audit::now_rfc3339();
    let digits: String = now.chars().filter(char::is_ascii_digit).take(14).collect();
    format!("APR-{digits}-{:08x}", fastrand_u32())
}

fn fastrand_u32() -> u32 {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    n.rotate_left(7) ^ std::process::id().wrapping_mul(2_654_435_761)
}

fn approval_item(a: &Approval) -> Item {
    let mut item = key(APPROVALS, &a.approval_id);
    item.insert("doc".into(), sv(serde_json::to_string(a).expect("an approval serializes")));
    item.insert("status".into(), sv(a.status.as_str()));
    item.insert("version".into(), nv(a.version));
    item
}

fn approval_from(item: &Item) -> Result<Approval, Malformed> {
    let f = Fields::new("approval", item);
    serde_json::from_str(&f.s("doc")?).map_err(|e| f.bad(format!("`doc` is not an approval: {e}")))
}

const MARKER: &str = "PENDING";

fn target_key(target_type: &str, target_id: &str) -> Item {
    key(&format!("TARGET#{target_type}#{target_id}"), MARKER)
}

fn marker_key(a: &Approval) -> Item {
    target_key(&a.target_type, &a.target_id)
}

/// What a pending request shows on its target.
fn marker_view(item: &Item) -> Option<(String, Value)> {
    let f = Fields::new("approval marker", item);
    let pk: String = f.s("pk").ok()?;
    let (_, target_id) = pk.strip_prefix("TARGET#")?.split_once('#')?;
    let view = serde_json::json!({ "approvalId": f.s("approval_id").ok()?, "action": f.s("action").ok()?,
                                   "status": ApprovalStatus::PendingApproval.as_str() });
    Some((target_id.to_string(), view))
}

/// Whether a request was parked.
#[derive(Debug, PartialEq, Eq)]
pub enum Parked {
    Parked,
    /// Another request is pending on the target (parked a moment before): nothing was written.
    TargetBusy,
}

/// The rules in force: the defaults, with the table's over them.
pub async fn rules(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<BTreeMap<String, Rule>, AwsError> {
    let q = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", sv(RULES));
    let mut rules = settlepaisa_audit::rules::defaults();
    for item in all_pages(q).await? {
        let f = Fields::new("approval rule", &item);
        let (Ok(action), Ok(doc)) = (f.s("sk"), f.s("doc")) else { continue };
        match serde_json::from_str::<Rule>(&doc) {
            Ok(r) => {
                rules.insert(action, r);
            }
            Err(e) => tracing::error!(action, error = %e, "an approval rule does not read; its default stands"),
        }
    }
    Ok(rules)
}

/// The table's own row for `action` (its `doc`), `None` while the default stands.
pub async fn rule_row(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    action: &str,
) -> Result<Option<String>, AwsError> {
    let item = get_consistent(client, table, key(RULES, action)).await?;
    Ok(item.as_ref().and_then(|i| settlepaisa_aws::dynamo::s(i, "doc")))
}

/// The item that writes rule `action` (in an approved rule change's transaction), only over the
/// row as it was when the change was asked for (`None`: there was none).
pub fn rule_item(table: &str, action: &str, rule: &Rule, was: Option<&str>) -> Result<TransactWriteItem, AwsError> {
    let mut item = key(RULES, action);
    item.insert("doc".into(), sv(serde_json::to_string(rule).expect("a rule serializes")));
    let put = Put::builder().table_name(table).set_item(Some(item));
    let put = match was {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(doc) => put.condition_expression("doc = :was").expression_attribute_values(":was", sv(doc)),
    };
    Ok(TransactWriteItem::builder().put(put.build().map_err(build)?).build())
}

/// Parks `a` (new, `PENDING_APPROVAL`) with its marker on the target and its audit entry; the
/// marker is put only where none is, so two requests racing for one target park one.
pub async fn park(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    a: &Approval,
    audit: (&str, Draft),
) -> Result<Parked, AwsError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(approval_item(a)))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build)?;
    let mut marker = marker_key(a);
    marker.insert("approval_id".into(), sv(&a.approval_id));
    marker.insert("action".into(), sv(&a.action));
    let marker = Put::builder()
        .table_name(table)
        .set_item(Some(marker))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build)?;
    let items = vec![TransactWriteItem::builder().put(put).build(), TransactWriteItem::builder().put(marker).build()];
    match crate::audit::transact(client, audit.0, items, audit.1).await? {
        Transacted::Written => Ok(Parked::Parked),
        Transacted::ConditionFailed { failed } if failed.get(1) == Some(&true) => Ok(Parked::TargetBusy),
        Transacted::ConditionFailed { .. } => {
            Err(AwsError::new("TransactWriteItems", "an approval id was taken; retry"))
        }
    }
}

pub async fn get(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> Result<Option<Approval>, AwsError> {
    let item = get_consistent(client, table, key(APPROVALS, id)).await?;
    item.as_ref().map(approval_from).transpose().map_err(|e| AwsError::new("GetItem", e))
}

/// Up to `limit` approvals older than `before` (an approval id; ids sort by time), newest first,
/// of `status` when given; and the id to go on from when there may be more. At most 2,000 items
/// are examined a call.
pub async fn list(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    status: Option<ApprovalStatus>,
    before: Option<&str>,
    limit: usize,
) -> Result<(Vec<Approval>, Option<String>), AwsError> {
    let mut q =
        client.query().table_name(table).expression_attribute_values(":p", sv(APPROVALS)).scan_index_forward(false);
    q = match before {
        Some(b) => q.key_condition_expression("pk = :p AND sk < :b").expression_attribute_values(":b", sv(b)),
        None => q.key_condition_expression("pk = :p"),
    };
    if let Some(s) = status {
        q = q
            .filter_expression("#s = :s")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":s", sv(s.as_str()));
    }
    let mut out = Vec::new();
    let mut start = None;
    let mut examined = 0usize;
    loop {
        requests::record("dynamodb.Query", 1);
        let resp = q
            .clone()
            .set_exclusive_start_key(start.take())
            .limit(500)
            .send()
            .await
            .map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
        examined += resp.scanned_count().max(0) as usize;
        for item in resp.items() {
            out.push(approval_from(item).map_err(|e| AwsError::new("Query", e))?);
            if out.len() == limit {
                let next = out.last().map(|a| a.approval_id.clone());
                return Ok((out, next));
            }
        }
        let next = resp.last_evaluated_key.filter(|k| !k.is_empty());
        match next {
            None => return Ok((out, None)),
            Some(k) if examined >= 2_000 => {
                let at = settlepaisa_aws::dynamo::s(&k, "sk");
                return Ok((out, at));
            }
            Some(k) => start = Some(k),
        }
    }
}

/// The request pending on a target (none or one), strongly consistent: what a new request
/// is checked against.
pub async fn pending_on(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    target_type: &str,
    target_id: &str,
) -> Result<Vec<Value>, AwsError> {
    let item = get_consistent(client, table, target_key(target_type, target_id)).await?;
    Ok(item.as_ref().and_then(marker_view).map(|(_, v)| v).into_iter().collect())
}

/// The requests pending on a page of targets of one type, by target id (BatchGetItem, eventually
/// consistent: for listings).
pub async fn pending_on_each(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    target_type: &str,
    target_ids: &[String],
) -> Result<BTreeMap<String, Value>, AwsError> {
    let ids: std::collections::BTreeSet<&String> = target_ids.iter().collect();
    let keys = ids.into_iter().map(|id| target_key(target_type, id)).collect();
    let items = settlepaisa_aws::dynamo::batch_get(client, table, keys).await?;
    Ok(items.iter().filter_map(marker_view).collect())
}

/// The items that decide `a` (read at its version, still pending): its new status, who and why,
/// and its marker gone. In an applied change's transaction they are what makes it apply once.
pub fn decide_items(
    table: &str,
    a: &Approval,
    to: ApprovalStatus,
    by: &Person,
    note: Option<&str>,
) -> Result<Vec<TransactWriteItem>, AwsError> {
    let mut decided = a.clone();
    decided.status = to;
    decided.decided_by = Some(by.clone());
    decided.decided_at = Some(crate::audit::now_rfc3339());
    decided.decision_note = note.map(str::to_string);
    decided.version = a.version + 1;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(APPROVALS, &a.approval_id)))
        .update_expression("SET doc = :doc, #s = :to, version = :next")
        .condition_expression("#s = :pending AND version = :v")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":doc", sv(serde_json::to_string(&decided).expect("serializes")))
        .expression_attribute_values(":to", sv(to.as_str()))
        .expression_attribute_values(":next", nv(decided.version))
        .expression_attribute_values(":pending", sv(ApprovalStatus::PendingApproval.as_str()))
        .expression_attribute_values(":v", nv(a.version))
        .build()
        .map_err(build)?;
    // Only its own marker: never another request's on the same target.
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(marker_key(a)))
        .condition_expression("attribute_not_exists(pk) OR approval_id = :id")
        .expression_attribute_values(":id", sv(&a.approval_id))
        .build()
        .map_err(build)?;
    Ok(vec![TransactWriteItem::builder().update(update).build(), TransactWriteItem::builder().delete(delete).build()])
}

/// Decides `a` without applying anything (a rejection; a failure because its target changed),
/// with its audit entry. `false`: it was decided meanwhile.
pub async fn decide(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    a: &Approval,
    to: ApprovalStatus,
    by: &Person,
    note: Option<&str>,
    audit: (&str, Draft),
) -> Result<bool, AwsError> {
    let items = decide_items(table, a, to, by, note)?;
    Ok(matches!(crate::audit::transact(client, audit.0, items, audit.1).await?, Transacted::Written))
}

/// Writes rules directly, outside maker-checker: a fresh stack's set-up (tests, benchmarks), never
/// an API path — the table's own rules change only through an approved `approval_rule.change`.
pub async fn seed_rules(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    rules: &BTreeMap<String, Rule>,
) -> Result<(), AwsError> {
    for (action, rule) in rules {
        let mut item = key(RULES, action);
        item.insert("doc".into(), sv(serde_json::to_string(rule).expect("a rule serializes")));
        requests::record("dynamodb.PutItem", 1);
        client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| AwsError::new("PutItem", sdk_message(&e)))?;
    }
    Ok(())
}

/// Rules under which nothing needs a second person (but rule changes, which always do).
pub fn none_gated() -> BTreeMap<String, Rule> {
    settlepaisa_audit::rules::ACTIONS
        .iter()
        .filter(|a| **a != settlepaisa_audit::rules::RULE_CHANGE)
        .map(|a| (a.to_string(), Rule { min_amount_paise: None }))
        .collect()
}
