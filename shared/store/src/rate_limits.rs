//! The rate limits table: one item per user and route class (`pk` = `{userId}#{class}`) holding
//! its bucket's theoretical arrival time `tat` (ms) and `expires_at` (TTL, a minute after the
//! bucket would be full again). The decision is [`settlepaisa_auth::rate_limit::decide`]'s; this
//! only reads and writes the number, conditioned on what was read.
//!
//! A request costs one conditional write (1 WCU) when the bucket was idle, two when the user is
//! mid-burst (and a strongly consistent read where DynamoDB does not return the item with a
//! refusal).

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
///
/// Every write is atomic on its own, so requests of one user at the same moment never undo each
/// other: an idle bucket is reset (`SET tat = now + T` where `tat < now`), a busy one advanced in
/// place (`SET tat = tat + T` where `now ≤ tat ≤ now + τ`). Only a `tat` past `now + τ` refuses.
pub async fn take(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
    limit: Limit,
    now_ms: i64,
) -> Result<Option<u64>, AwsError> {
    let interval = limit.interval_ms();
    let reset_to = now_ms + interval;
    // The furthest `tat` may stand for a request to pass (`now + τ`), as `decide` has it.
    let ceiling = now_ms + limit.tolerance_ms();
    for _ in 0..ATTEMPTS {
        // Idle (or never used): one write, no read.
        match update(
            client,
            table,
            key,
            "SET tat = :v, expires_at = :exp",
            "attribute_not_exists(tat) OR tat < :now",
            reset_to,
            now_ms,
            ceiling,
        )
        .await?
        {
            Outcome::Done => return Ok(None),
            Outcome::Refused(_) => {}
        }
        // Busy: advance it in place while within the burst.
        match update(
            client,
            table,
            key,
            "SET tat = tat + :t, expires_at = :exp",
            "tat BETWEEN :now AND :ceiling",
            interval,
            now_ms,
            ceiling,
        )
        .await?
        {
            Outcome::Done => return Ok(None),
            Outcome::Refused(Some(tat)) if tat > ceiling => {
                return Ok(match decide(limit, Some(tat), now_ms) {
                    Decision::Deny { retry_after_secs } => Some(retry_after_secs),
                    Decision::Allow { .. } => None,
                });
            }
            // It went idle in between (or the refusal did not say): try again from the top.
            Outcome::Refused(_) => {}
        }
    }
    // Never a refusal for losing races: the request goes through (as when the table is down).
    tracing::warn!(key, "rate limit bucket contended; letting the request through");
    Ok(None)
}

enum Outcome {
    Done,
    /// The condition did not hold; the bucket's `tat` then, when known.
    Refused(Option<i64>),
}

#[allow(clippy::too_many_arguments)]
async fn update(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    key: &str,
    expression: &str,
    condition: &str,
    value: i64,
    now_ms: i64,
    ceiling: i64,
) -> Result<Outcome, AwsError> {
    requests::record("dynamodb.UpdateItem", 1);
    let mut u = client
        .update_item()
        .table_name(table)
        .key("pk", sv(key))
        .update_expression(expression)
        .condition_expression(condition)
        .expression_attribute_values(":now", nv(now_ms))
        // Kept until well after the bucket is full again, then dropped by TTL (free).
        .expression_attribute_values(":exp", nv(ceiling / 1000 + 3_600))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    u = if expression.contains(":t") {
        u.expression_attribute_values(":t", nv(value)).expression_attribute_values(":ceiling", nv(ceiling))
    } else {
        u.expression_attribute_values(":v", nv(value))
    };
    match u.send().await {
        Ok(_) => Ok(Outcome::Done),
        Err(e) => match e.as_service_error() {
            Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                let tat = match c.item() {
                    Some(item) => tat_of(Some(item)),
                    None => current(client, table, key).await?,
                };
                Ok(Outcome::Refused(tat))
            }
            _ => Err(AwsError::new("UpdateItem", sdk_message(&e))),
        },
    }
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
