//! The rate limits table: one item per user and route class (`pk` = `{userId}#{class}`) holding
//! its bucket's theoretical arrival time `tat` (ms) and `expires_at` (TTL, a minute after the
//! bucket would be full again). The decision is [`settlepaisa_auth::rate_limit::decide`]'s; this
//! only reads and writes the number, conditioned on what was read.
//!
//! A request costs one conditional write (1 WCU) when the bucket was idle, two writes and at
//! most one strongly consistent read when the user is mid-burst.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use settlepaisa_auth::rate_limit::{decide, Decision, Limit};
use settlepaisa_aws::dynamo::{nv, sv, Item};
use settlepaisa_aws::{requests, sdk_message, AwsError};

/// Attempts when another request of the same user moves the bucket between read and write.
const ATTEMPTS: u32 = 4;

fn tat_of(item: Option<&Item>) -> Option<i64> {
    settlepaisa_aws::dynamo::n(item?, "tat")
}

/// Takes one request from `key`'s bucket at `now_ms`: `Ok(None)` allowed, `Ok(Some(secs))`
/// refused (retry after `secs`).
pub async fn take(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
    limit: Limit,
    now_ms: i64,
) -> Result<Option<u64>, AwsError> {
    // The common case first: an idle (or expired) bucket, one write, no read.
    let mut seen: Option<Option<i64>> = None;
    for _ in 0..ATTEMPTS {
        let tat = seen.flatten();
        let (condition_seen, new_tat) = match decide(limit, tat, now_ms) {
            Decision::Deny { retry_after_secs } => return Ok(Some(retry_after_secs)),
            Decision::Allow { seen, new_tat } => (seen, new_tat),
        };
        requests::record("dynamodb.UpdateItem", 1);
        let mut update = client
            .update_item()
            .table_name(table)
            .key("pk", sv(key))
            .update_expression("SET tat = :new, expires_at = :exp")
            .expression_attribute_values(":new", nv(new_tat))
            // Kept until well after the bucket is full again, then dropped by TTL (free).
            .expression_attribute_values(":exp", nv(new_tat / 1000 + 3_600))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        update = match condition_seen {
            None => update
                .condition_expression("attribute_not_exists(tat) OR tat < :now")
                .expression_attribute_values(":now", nv(now_ms)),
            Some(t) => update.condition_expression("tat = :seen").expression_attribute_values(":seen", nv(t)),
        };
        match update.send().await {
            Ok(_) => return Ok(None),
            Err(e) => match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                    // The bucket as it is: from the refusal when DynamoDB returns it, else read.
                    seen = Some(match c.item() {
                        Some(item) => tat_of(Some(item)),
                        None => current(client, table, key).await?,
                    });
                }
                _ => return Err(AwsError::new("UpdateItem", sdk_message(&e))),
            },
        }
    }
    // Contended beyond reason: the user is sending faster than the bucket can be written.
    Ok(Some(1))
}

async fn current(client: &aws_sdk_dynamodb::Client, table: &str, key: &str) -> Result<Option<i64>, AwsError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", sv(key))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(tat_of(out.item.as_ref()))
}
