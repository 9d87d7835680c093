//! A counter that moves whenever KPI figures do, so a warm function's cached figures are dropped
//! when they change (the seed's "cache invalidation") instead of living out their TTL: writers
//! bump it after their change (once per batch, outside their transaction, so it never makes two
//! writers' transactions conflict); the overview reads it (one small GetItem) and keys its cache
//! by it.

use crate::error::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use settlepaisa_aws::capacity::WriteUnits;
use settlepaisa_aws::dynamo::{n, sv, Item};
use settlepaisa_aws::{requests, sdk_message, AwsError};

fn key() -> Item {
    Item::from([("day".into(), sv("GENERATION")), ("dimension".into(), sv("KPI"))])
}

/// Moves the counter.
pub async fn bump(client: &aws_sdk_dynamodb::Client, kpi_table: &str) -> Result<(), StoreError> {
    requests::record_write("dynamodb.UpdateItem", kpi_table, WriteUnits { table: 1, indexes: 0 });
    client
        .update_item()
        .table_name(kpi_table)
        .set_key(Some(key()))
        .update_expression("ADD n :one")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send()
        .await
        .map_err(|e| AwsError::new("UpdateItem", sdk_message(&e)))?;
    Ok(())
}

/// The counter now (0 before the first bump).
pub async fn read(client: &aws_sdk_dynamodb::Client, kpi_table: &str) -> Result<i64, StoreError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(kpi_table)
        .set_key(Some(key()))
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(out.item.as_ref().and_then(|i| n(i, "n")).unwrap_or(0))
}
