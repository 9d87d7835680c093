//! DynamoDB transactions with DynamoDB's own conflict semantics: a transaction cancelled because
//! another one touched the same item at the same moment (`TransactionConflict`) is sent again after
//! a jittered backoff, in place; a failed condition is an answer for the caller, not an error.

use crate::{requests, sdk_message, AwsError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use aws_sdk_dynamodb::Client;
use std::time::Duration;

/// Attempts before a conflict that never clears becomes an error (about 6 s of backoff in all).
const CONFLICT_ATTEMPTS: u32 = 10;
const BASE_DELAY_MS: u64 = 20;
const MAX_DELAY_MS: u64 = 1_000;

/// What a transaction did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transacted {
    Written,
    /// A condition did not hold: nothing was written. `failed[i]` tells whether item `i`'s did not.
    ConditionFailed {
        failed: Vec<bool>,
    },
}

/// Why DynamoDB cancelled a transaction, from its cancellation reasons.
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    Conflict,
    Condition(Vec<bool>),
}

fn cancelled(err: &TransactWriteItemsError) -> Option<Cancelled> {
    let TransactWriteItemsError::TransactionCanceledException(e) = err else { return None };
    let codes: Vec<&str> = e.cancellation_reasons().iter().map(|r| r.code().unwrap_or("None")).collect();
    if codes.contains(&"ConditionalCheckFailed") {
        Some(Cancelled::Condition(codes.iter().map(|c| *c == "ConditionalCheckFailed").collect()))
    } else if codes.contains(&"TransactionConflict") {
        Some(Cancelled::Conflict)
    } else {
        None
    }
}

/// Full jitter: a uniform delay in [0, min(cap, base · 2^attempt)] spreads the shards of one job
/// that all update the job's META item at about the same moment.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = (BASE_DELAY_MS << attempt.min(10)).min(MAX_DELAY_MS);
    Duration::from_millis(fastrand::u64(0..=ceiling))
}

/// Writes `items` in one transaction, retrying conflicts with jittered backoff.
pub async fn transact(client: &Client, items: Vec<TransactWriteItem>) -> Result<Transacted, AwsError> {
    let units = items.len() as u64 * 2;
    for attempt in 0..CONFLICT_ATTEMPTS {
        requests::record("dynamodb.TransactWriteItems", units);
        let out = client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
        let err = match out {
            Ok(_) => return Ok(Transacted::Written),
            Err(e) => e,
        };
        match err.as_service_error().and_then(cancelled) {
            Some(Cancelled::Condition(failed)) => return Ok(Transacted::ConditionFailed { failed }),
            Some(Cancelled::Conflict) => {
                tracing::warn!(attempt, "transaction conflict; retrying");
                tokio::time::sleep(backoff(attempt)).await;
            }
            None => return Err(AwsError::new("TransactWriteItems", sdk_message(&err))),
        }
    }
    Err(AwsError::new("TransactWriteItems", format!("still conflicting after {CONFLICT_ATTEMPTS} attempts")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_sdk_dynamodb::types::CancellationReason;

    fn cancelled_with(codes: &[&str]) -> TransactWriteItemsError {
        let mut e = TransactionCanceledException::builder();
        for c in codes {
            e = e.cancellation_reasons(CancellationReason::builder().code(*c).build());
        }
        TransactWriteItemsError::TransactionCanceledException(e.build())
    }

    #[test]
    fn conflicts_are_retried_and_conditions_are_answers() {
        assert_eq!(cancelled(&cancelled_with(&["None", "TransactionConflict"])), Some(Cancelled::Conflict));
        assert_eq!(
            cancelled(&cancelled_with(&["ConditionalCheckFailed", "TransactionConflict"])),
            Some(Cancelled::Condition(vec![true, false]))
        );
        assert_eq!(cancelled(&cancelled_with(&["ValidationError"])), None);
    }

    #[test]
    fn backoff_stays_under_its_cap() {
        for attempt in 0..40 {
            assert!(backoff(attempt) <= Duration::from_millis(MAX_DELAY_MS));
        }
    }
}
