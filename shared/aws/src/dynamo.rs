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
        let units: u64 = batch.iter().filter_map(|w| w.put_request.as_ref()).map(|p| write_units(&p.item)).sum();
        requests::record("dynamodb.BatchWriteItem", units);
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
    Ok(())
}

/// Write request units DynamoDB bills for putting `item`: one per started KB of its size (names
/// plus values, as DynamoDB counts them).
pub fn write_units(item: &Item) -> u64 {
    (item.iter().map(|(k, v)| k.len() + value_size(v)).sum::<usize>() as u64).div_ceil(1024).max(1)
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len() / 2 + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, x)| 1 + k.len() + value_size(x)).sum::<usize>(),
        AttributeValue::B(b) => b.as_ref().len(),
        _ => 8,
    }
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
