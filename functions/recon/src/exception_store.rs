//! Exceptions in the results table: pages for the API, and the resolution transaction.

use crate::resolution::KpiDeltas;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use settlepaisa_aws::capacity::WriteUnits;
use settlepaisa_aws::dynamo::{batch_get, s, sv, Item};
use settlepaisa_aws::transact::Transacted;
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_http::page_walk::{walk, Budget, Resume, Slice};

use settlepaisa_store::results::{exception_key, job_part, RESULT_PARTITIONS};

pub async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    exception_id: &str,
) -> Result<Option<Item>, AwsError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(exception_key(job_id, exception_id, "E#")))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(out.item)
}

pub async fn get_many(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    ids: &[String],
) -> Result<Vec<Item>, AwsError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    batch_get(client, table, ids.iter().map(|id| exception_key(job_id, id, "E#")).collect()).await
}

/// One page of a job's exceptions, optionally of one category (`by-job-category` index) and one
/// status, within [`Budget`]: DynamoDB applies `Limit` before the status filter, so a page
/// stops when it is full *or* the budget is spent, and may come back short with a position to go
/// on from. The job's [`RESULT_PARTITIONS`] partitions are walked in order. The index carries only
/// the keys and `status` (an exception with its records is over a KB, and every index copy is
/// billed per KB when written), so a category's page is then read from the table by key.
pub async fn page(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    category: Option<&str>,
    status: Option<&str>,
    limit: u32,
    from: Resume<Item>,
) -> Result<(Vec<Item>, Option<Resume<Item>>), AwsError> {
    let key_names: &[&str] =
        if category.is_some() { &["job_category", "job_part", "item"] } else { &["job_part", "item"] };
    let key_of = |item: &Item| -> Item {
        key_names.iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), v.clone()))).collect()
    };
    let page = walk(
        RESULT_PARTITIONS as usize,
        from,
        Budget::new(limit as usize, status.is_some()),
        key_of,
        |partition, start, evaluate| async move {
            let mut q = client.query().table_name(table).set_exclusive_start_key(start).limit(evaluate as i32);
            q = match category {
                Some(c) => q
                    .index_name("by-job-category")
                    .key_condition_expression("job_category = :jc")
                    .expression_attribute_values(":jc", sv(format!("{job_id}#{c}#{partition:02}"))),
                None => q
                    .key_condition_expression("job_part = :j AND begins_with(#item, :e)")
                    .expression_attribute_names("#item", "item")
                    .expression_attribute_values(":j", sv(job_part(job_id, partition as u32)))
                    .expression_attribute_values(":e", sv("E#")),
            };
            if let Some(st) = status {
                q = q
                    .filter_expression("#st = :st")
                    .expression_attribute_names("#st", "status")
                    .expression_attribute_values(":st", sv(st));
            }
            let out = q.send().await.map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
            let (items, examined, next) = settlepaisa_aws::dynamo::query_page(out);
            Ok::<_, AwsError>(Slice { items, examined, next })
        },
    )
    .await?;
    let items = match category {
        Some(_) => whole_items(client, table, page.items).await?,
        None => page.items,
    };
    Ok((items, page.next))
}

/// Whether a key read back from a cursor is a position in partition `partition` of this listing:
/// exactly its key attributes, of this job (and category).
pub fn accepts(key: &Item, job_id: &str, category: Option<&str>, partition: u32) -> bool {
    let is = |name: &str, want: &str| matches!(key.get(name), Some(AttributeValue::S(v)) if v == want);
    let item_ok = matches!(key.get("item"), Some(AttributeValue::S(i)) if i.starts_with("E#"));
    let part_ok = is("job_part", &job_part(job_id, partition));
    match category {
        Some(c) => key.len() == 3 && part_ok && is("job_category", &format!("{job_id}#{c}#{partition:02}")) && item_ok,
        None => key.len() == 2 && part_ok && item_ok,
    }
}

/// The table's items behind an index page's keys, in the page's order.
async fn whole_items(client: &aws_sdk_dynamodb::Client, table: &str, page: Vec<Item>) -> Result<Vec<Item>, AwsError> {
    let keys: Vec<(String, String)> = page.iter().filter_map(|i| Some((s(i, "job_part")?, s(i, "item")?))).collect();
    let mut found: std::collections::HashMap<(String, String), Item> = batch_get(
        client,
        table,
        keys.iter().map(|(p, n)| Item::from([("job_part".into(), sv(p)), ("item".into(), sv(n))])).collect(),
    )
    .await?
    .into_iter()
    .filter_map(|i| Some(((s(&i, "job_part")?, s(&i, "item")?), i)))
    .collect();
    Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
}

/// One exception closed by a resolution, with the version it was read at.
pub struct Close {
    pub exception_id: String,
    pub version: i64,
    pub resolution: serde_json::Value,
}

pub struct Commit<'a> {
    pub results_table: &'a str,
    pub kpi_table: &'a str,
    pub job_id: &'a str,
    /// The exception resolved, then the counterpart's, if any.
    pub closes: Vec<Close>,
    /// The exception whose `R#<exception_id>` match item (a row in `matches.csv`'s columns) a
    /// pair made, and the row.
    pub match_row: Option<(String, String)>,
    pub kpi: KpiDeltas,
    /// The audit table and the resolution's entry, appended in the same transaction.
    pub audit: (&'a str, settlepaisa_audit::Draft),
    /// Written with it: an approval the resolution decides.
    pub extra: Vec<TransactWriteItem>,
}

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The n-th closed exception changed since it was read.
    #[error("exception {0} changed since it was read")]
    Conflict(usize),
    /// The approval it would apply was decided by someone else first.
    #[error("the approval was decided meanwhile")]
    ApprovalDecided,
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// All of a resolution in one TransactWriteItems: every exception closes only if still `OPEN`
/// at the version read, the match item and KPI adjustments land with them, or nothing does.
pub async fn commit(client: &aws_sdk_dynamodb::Client, c: Commit<'_>) -> Result<(), CommitError> {
    let build_err = |e: aws_sdk_dynamodb::error::BuildError| AwsError::new("TransactWriteItems", e);
    let mut ops = Vec::new();
    for close in &c.closes {
        let update = Update::builder()
            .table_name(c.results_table)
            .set_key(Some(exception_key(c.job_id, &close.exception_id, "E#")))
            .update_expression("SET #st = :resolved, resolution = :res, version = version + :one")
            .condition_expression("#st = :open AND version = :v")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":resolved", sv("RESOLVED"))
            .expression_attribute_values(":open", sv("OPEN"))
            .expression_attribute_values(":res", sv(close.resolution.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":v", AttributeValue::N(close.version.to_string()))
            .build()
            .map_err(build_err)?;
        ops.push(TransactWriteItem::builder().update(update).build());
    }
    if let Some((exception_id, row)) = &c.match_row {
        let mut item = exception_key(c.job_id, exception_id, "R#");
        item.insert("job_id".into(), sv(c.job_id));
        item.insert("count".into(), AttributeValue::N("1".into()));
        item.insert("rows".into(), sv(row.as_str()));
        let put = Put::builder()
            .table_name(c.results_table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#item)")
            .expression_attribute_names("#item", "item")
            .build()
            .map_err(build_err)?;
        ops.push(TransactWriteItem::builder().put(put).build());
    }
    for ((day, dimension), deltas) in &c.kpi {
        let mut update = Update::builder()
            .table_name(c.kpi_table)
            .set_key(Some(Item::from([("day".into(), sv(day)), ("dimension".into(), sv(dimension))])));
        let mut expr = Vec::new();
        for (i, (attr, delta)) in deltas.iter().enumerate() {
            expr.push(format!("#a{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), attr)
                .expression_attribute_values(format!(":v{i}"), AttributeValue::N(delta.to_string()));
        }
        let update = update.update_expression(format!("ADD {}", expr.join(", "))).build().map_err(build_err)?;
        ops.push(TransactWriteItem::builder().update(update).build());
    }
    // A transaction bills two write units per KB of each item it writes (counted by `transact`,
    // one KB each); a closed exception's new status also rewrites its `by-job-category` entry
    // (projected), counted here.
    requests::record_units(
        "dynamodb.TransactWriteItems",
        c.results_table,
        WriteUnits { table: 0, indexes: c.closes.len() as u64 },
    );
    // Two people resolving different exceptions of one day both `ADD` to the day's KPI items:
    // DynamoDB cancels one with `TransactionConflict`, which is retried in place. A failed
    // condition is a lost optimistic-lock race: 409.
    let (audit_table, draft) = c.audit;
    let own = ops.len();
    ops.extend(c.extra);
    match settlepaisa_store::audit::transact(client, audit_table, ops, draft).await? {
        Transacted::Written => Ok(()),
        Transacted::ConditionFailed { failed } => match failed.iter().position(|f| *f) {
            Some(i) if i < c.closes.len() => Err(CommitError::Conflict(i)),
            Some(i) if i >= own => Err(CommitError::ApprovalDecided),
            // The match item already exists: someone paired this exception meanwhile.
            _ => Err(CommitError::Conflict(0)),
        },
    }
}
