//! DynamoDB batches: writes in groups of 25 with unprocessed items retried with backoff, and
//! paginated queries.

use crate::capacity::WriteUnits;
use crate::{requests, sdk_message, AwsError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use std::time::Duration;

pub use crate::capacity::Item;

const BATCH: usize = 25;
const MAX_ATTEMPTS: u32 = 8;

/// Requests in flight at once: a file of a million rows is 40,000 requests, which one at a time
/// would outlast a Lambda timeout.
const IN_FLIGHT: usize = 16;

/// Puts every item, 25 per request and up to 16 requests at once; items DynamoDB leaves
/// unprocessed are sent again with exponential backoff (50 ms doubling, up to 8 attempts).
pub async fn put_all(client: &Client, table: &str, items: Vec<Item>) -> Result<(), AwsError> {
    let requests: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            let put =
                PutRequest::builder().set_item(Some(item)).build().map_err(|e| AwsError::new("BatchWriteItem", e))?;
            Ok(WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<_, AwsError>>()?;
    let mut batches = requests.chunks(BATCH).map(<[WriteRequest]>::to_vec);
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < IN_FLIGHT {
            let Some(batch) = batches.next() else { break };
            let (client, table) = (client.clone(), table.to_string());
            running.spawn(async move { write_batch(&client, &table, batch).await });
        }
        match running.join_next().await {
            Some(done) => done.map_err(|e| AwsError::new("BatchWriteItem", e))??,
            None => return Ok(()),
        }
    }
}

async fn write_batch(client: &Client, table: &str, mut batch: Vec<WriteRequest>) -> Result<(), AwsError> {
    let mut attempt = 0;
    while !batch.is_empty() {
        attempt += 1;
        let sent = requests::put_units(table, puts(&batch));
        let out = client
            .batch_write_item()
            .request_items(table, batch.clone())
            .send()
            .await
            .map_err(|e| AwsError::new("BatchWriteItem", sdk_message(&e)))?;
        batch = out.unprocessed_items.and_then(|mut m| m.remove(table)).unwrap_or_default();
        // DynamoDB bills the items it wrote, not those it handed back.
        let left = requests::put_units(table, puts(&batch));
        requests::record_write(
            "dynamodb.BatchWriteItem",
            table,
            WriteUnits {
                table: sent.table.saturating_sub(left.table),
                indexes: sent.indexes.saturating_sub(left.indexes),
            },
        );
        if !batch.is_empty() {
            if attempt >= MAX_ATTEMPTS {
                return Err(AwsError::new("BatchWriteItem", format!("{} items still unprocessed", batch.len())));
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
        }
    }
    Ok(())
}

fn puts(batch: &[WriteRequest]) -> impl Iterator<Item = &Item> {
    batch.iter().filter_map(|w| w.put_request.as_ref()).map(|p| &p.item)
}

/// One Query's answer for a bounded page: the items that passed the filter, how many DynamoDB
/// evaluated (what `Limit` counts), and the key to go on from (none when the partition is done).
pub fn query_page(out: aws_sdk_dynamodb::operation::query::QueryOutput) -> (Vec<Item>, usize, Option<Item>) {
    let examined = out.scanned_count.max(0) as usize;
    requests::record("dynamodb.Query", examined as u64);
    (out.items.unwrap_or_default(), examined, out.last_evaluated_key.filter(|k| !k.is_empty()))
}

/// Every item with partition key `pk_name = pk` (optionally from an index), across pages.
pub async fn query_all(
    client: &Client,
    table: &str,
    index: Option<&str>,
    pk_name: &str,
    pk: &str,
) -> Result<Vec<Item>, AwsError> {
    let query = client
        .query()
        .table_name(table)
        .set_index_name(index.map(str::to_string))
        .key_condition_expression("#pk = :pk")
        .expression_attribute_names("#pk", pk_name)
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()));
    all_pages(query).await
}

/// Every item a query returns, page after page.
pub async fn all_pages(query: QueryFluentBuilder) -> Result<Vec<Item>, AwsError> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let out = query
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
        requests::record("dynamodb.Query", out.count as u64);
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(items),
        }
    }
}

/// Reads attribute helpers.
pub fn s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

pub fn n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

pub fn str_list(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::L(v)) => v.iter().filter_map(|a| a.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    }
}

pub fn sv(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn nv(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn lv(values: impl IntoIterator<Item = String>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(AttributeValue::S).collect())
}

/// One item by its key, strongly consistent (what a decision reads), or `None`.
pub async fn get_consistent(client: &Client, table: &str, key: Item) -> Result<Option<Item>, AwsError> {
    crate::requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", crate::sdk_message(&e)))?;
    Ok(out.item)
}

/// Reads up to 100 items per request by key; keys DynamoDB leaves unprocessed are asked again
/// with backoff. Missing items are simply absent from the answer.
pub async fn batch_get(client: &Client, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, AwsError> {
    batch_get_with(client, table, keys, false).await
}

/// As [`batch_get`], with strongly consistent reads: for a decision that must see writes made
/// just before (the last of a file's chunks deciding that all are done).
pub async fn batch_get_consistent(client: &Client, table: &str, keys: Vec<Item>) -> Result<Vec<Item>, AwsError> {
    batch_get_with(client, table, keys, true).await
}

async fn batch_get_with(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    consistent: bool,
) -> Result<Vec<Item>, AwsError> {
    use aws_sdk_dynamodb::types::KeysAndAttributes;
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(100) {
        let mut pending = chunk.to_vec();
        let mut attempt = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .consistent_read(consistent)
                .set_keys(Some(std::mem::take(&mut pending)))
                .build()
                .map_err(|e| AwsError::new("BatchGetItem", e))?;
            let out = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(|e| AwsError::new("BatchGetItem", sdk_message(&e)))?;
            let mut responses = out.responses.unwrap_or_default();
            let items = responses.remove(table).unwrap_or_default();
            requests::record("dynamodb.BatchGetItem", items.len() as u64);
            found.extend(items);
            pending = out.unprocessed_keys.and_then(|mut u| u.remove(table)).map(|k| k.keys).unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt >= MAX_ATTEMPTS {
                    return Err(AwsError::new("BatchGetItem", format!("{} keys still unprocessed", pending.len())));
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
        }
    }
    Ok(found)
}

/// A key (string and number attributes) as JSON, for pagination cursors.
pub fn key_to_json(key: &Item) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (k, v) in key {
        let v = match v {
            AttributeValue::S(s) => serde_json::json!({ "S": s }),
            AttributeValue::N(n) => serde_json::json!({ "N": n }),
            _ => continue,
        };
        out.insert(k.clone(), v);
    }
    serde_json::Value::Object(out)
}

/// The key of [`key_to_json`]; `None` when the JSON is not one.
pub fn key_from_json(json: &serde_json::Value) -> Option<Item> {
    let mut key = Item::new();
    for (k, v) in json.as_object()? {
        let v = match (v.get("S").and_then(|s| s.as_str()), v.get("N").and_then(|n| n.as_str())) {
            (Some(s), None) => AttributeValue::S(s.to_string()),
            (None, Some(n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
                AttributeValue::N(n.to_string())
            }
            _ => return None,
        };
        key.insert(k.clone(), v);
    }
    (!key.is_empty()).then_some(key)
}

/// An item read back that does not have the shape its writer gives it: a bug or a hand edit, never
/// something to paper over with a default (a job with no files would "complete" with nothing
/// matched; a missing amount would become ₹0).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} item: {problem}")]
pub struct Malformed {
    pub what: &'static str,
    pub problem: String,
}

/// Typed reads of one item's attributes; every miss names the item kind and the attribute.
pub struct Fields<'i> {
    pub what: &'static str,
    pub item: &'i Item,
}

impl<'i> Fields<'i> {
    pub fn new(what: &'static str, item: &'i Item) -> Fields<'i> {
        Fields { what, item }
    }

    pub fn bad(&self, problem: String) -> Malformed {
        Malformed { what: self.what, problem }
    }

    /// A string attribute that must be there.
    pub fn s(&self, name: &str) -> Result<String, Malformed> {
        self.opt_s(name)?.ok_or_else(|| self.bad(format!("`{name}` is missing")))
    }

    /// A string attribute that may be absent, but is a string when present.
    pub fn opt_s(&self, name: &str) -> Result<Option<String>, Malformed> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(self.bad(format!("`{name}` is not a string"))),
        }
    }

    /// A number attribute that must be there and fit `T`.
    pub fn n<T: std::str::FromStr>(&self, name: &str) -> Result<T, Malformed> {
        self.opt_n(name)?.ok_or_else(|| self.bad(format!("`{name}` is missing")))
    }

    pub fn opt_n<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, Malformed> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => {
                v.parse().map(Some).map_err(|_| self.bad(format!("`{name}` = {v} is out of range")))
            }
            Some(_) => Err(self.bad(format!("`{name}` is not a number"))),
        }
    }

    /// A string attribute parsed into `T` (an enum of statuses, a JSON document).
    pub fn parsed<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, Malformed> {
        let text = self.s(name)?;
        parse(&text)
            .ok_or_else(|| self.bad(format!("`{name}` = `{}` is not valid", text.chars().take(80).collect::<String>())))
    }

    pub fn opt_parsed<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>, Malformed> {
        match self.opt_s(name)? {
            None => Ok(None),
            Some(_) => self.parsed(name, parse).map(Some),
        }
    }

    /// A list of strings; absent is empty.
    pub fn str_list(&self, name: &str) -> Result<Vec<String>, Malformed> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::L(v)) => v
                .iter()
                .map(|a| a.as_s().cloned().map_err(|_| self.bad(format!("`{name}` holds a non-string"))))
                .collect(),
            Some(_) => Err(self.bad(format!("`{name}` is not a list"))),
        }
    }
}

/// A conditional write's outcome: `Ok(true)` written, `Ok(false)` its condition did not hold
/// (an answer, not an error); anything else is the operation's error.
pub fn conditional<T, E, R>(
    operation: &'static str,
    out: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<bool, AwsError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException") => Ok(false),
        Err(e) => Err(AwsError::new(operation, sdk_message(&e))),
    }
}
