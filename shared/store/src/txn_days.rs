//! Which capture days have PG rows in the transactions table: one KPI item per day (`day`,
//! [`DIMENSION`]), set before the day's first row is written. The staff transaction list reads
//! these (one BatchGetItem for a ≤ 92-day range) and walks the 16 write buckets of those days
//! only, instead of 16 buckets of every day in the range.
//!
//! A marker is never removed: a day whose rows all went away (a deleted file) is walked for
//! nothing, which costs a few empty queries and hides nothing.

use crate::error::StoreError;
use crate::Context;
use aws_sdk_dynamodb::types::AttributeValue;
use settlepaisa_aws::capacity::WriteUnits;
use settlepaisa_aws::dynamo::{batch_get, s, sv, Item};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use std::collections::BTreeSet;

/// The KPI item's dimension: next to `ALL`, `MERCHANT#…` and `SOURCE#…`, never read as a KPI.
pub const DIMENSION: &str = "PG_ROWS";

fn key(day: &str) -> Item {
    Item::from([("day".into(), sv(day)), ("dimension".into(), sv(DIMENSION))])
}

/// Marks each of `days` not yet in `marked` (what this invocation already marked).
pub async fn mark<'a>(
    ctx: &Context,
    days: impl IntoIterator<Item = &'a str>,
    marked: &mut BTreeSet<String>,
) -> Result<(), StoreError> {
    let new: BTreeSet<&str> = days.into_iter().filter(|d| !marked.contains(*d)).collect();
    for day in new {
        requests::record_write("dynamodb.UpdateItem", &ctx.resources.kpi_table, WriteUnits { table: 1, indexes: 0 });
        ctx.clients
            .dynamodb
            .update_item()
            .table_name(&ctx.resources.kpi_table)
            .set_key(Some(key(day)))
            .update_expression("SET has_rows = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| AwsError::new("UpdateItem", sdk_message(&e)))?;
        marked.insert(day.to_string());
    }
    Ok(())
}

/// The days of `days` (at most 100) that have PG rows.
pub async fn with_rows(
    client: &aws_sdk_dynamodb::Client,
    kpi_table: &str,
    days: &[String],
) -> Result<BTreeSet<String>, AwsError> {
    let items = batch_get(client, kpi_table, days.iter().map(|d| key(d)).collect()).await?;
    Ok(items.iter().filter_map(|i| s(i, "day")).collect())
}
