//! DynamoDB batches: writes in groups of 25 with unprocessed items retried with backoff, and
//! paginated queries.

use crate::{requests, sdk_message, AwsError};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::Duration;

pub type Item = HashMap<String, AttributeValue>;

const BATCH: usize = 25;
const MAX_ATTEMPTS: u32 = 8;

/// Puts every item, 25 per request; items DynamoDB leaves unprocessed are sent again with
/// exponential backoff (50 ms doubling, up to 8 attempts) before giving up.
pub async fn put_all(client: &Client, table: &str, items: Vec<Item>) -> Result<(), AwsError> {
    let mut pending: Vec<WriteRequest> = items
        .into_iter()
        .map(|item| {
            let put =
                PutRequest::builder().set_item(Some(item)).build().map_err(|e| AwsError::new("BatchWriteItem", e))?;
            Ok(WriteRequest::builder().put_request(put).build())
        })
        .collect::<Result<_, AwsError>>()?;
    while !pending.is_empty() {
        let rest = pending.split_off(pending.len().min(BATCH));
        let mut batch = std::mem::replace(&mut pending, rest);
        let mut attempt = 0;
        while !batch.is_empty() {
            attempt += 1;
            requests::record("dynamodb.BatchWriteItem", batch.len() as u64);
            let out = client
                .batch_write_item()
                .request_items(table, batch.clone())
                .send()
                .await
                .map_err(|e| AwsError::new("BatchWriteItem", sdk_message(&e)))?;
            batch = out.unprocessed_items.and_then(|mut m| m.remove(table)).unwrap_or_default();
            if !batch.is_empty() {
                if attempt >= MAX_ATTEMPTS {
                    return Err(AwsError::new("BatchWriteItem", format!("{} items still unprocessed", batch.len())));
                }
                tokio::time::sleep(Duration::from_millis(50 << attempt.min(6))).await;
            }
        }
    }
    Ok(())
}

/// Every item with partition key `pk_name = pk` (optionally from an index), across pages.
pub async fn query_all(
    client: &Client,
    table: &str,
    index: Option<&str>,
    pk_name: &str,
    pk: &str,
) -> Result<Vec<Item>, AwsError> {
    let mut items = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .set_index_name(index.map(str::to_string))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
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
