//! SQS batches as Lambda delivers them to the pipeline's queue workers (match shards, finalizer,
//! ingest chunks): each message succeeds or fails on its own and only the failed ids go back in
//! the partial batch response; a body that does not parse is a failure, never a silent success.

use crate::error::PipelineError;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::pin::Pin;

/// One message's handling (boxed: a generic async closure here nests the workers' futures past
/// the compiler's layout depth).
pub type Handled<'m> = Pin<Box<dyn Future<Output = Result<(), PipelineError>> + Send + 'm>>;

/// Runs `handle` on every message of the batch; the ones that fail are retried by the queue.
pub async fn each<'m>(
    event: &'m SqsEvent,
    what: &'static str,
    handle: impl Fn(&'m SqsMessage) -> Handled<'m>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        if let Err(e) = handle(message).await {
            tracing::error!(message_id = id, error = %e, "{what} failed");
            response.add_failure(id);
        }
    }
    response
}

/// The message's body as a `kind` message.
pub fn body<T: DeserializeOwned>(message: &SqsMessage, kind: &'static str) -> Result<T, PipelineError> {
    serde_json::from_str(message.body.as_deref().unwrap_or(""))
        .map_err(|e| PipelineError::BadMessage { kind, message: e.to_string() })
}

/// Whether this delivery is the one after which the queue (`maxReceiveCount` = `max`) moves the
/// message to its dead-letter queue: the worker then records the failure where people look.
pub fn is_last_attempt(message: &SqsMessage, max: u32) -> bool {
    let attempt: u32 = message.attributes.get("ApproximateReceiveCount").and_then(|c| c.parse().ok()).unwrap_or(1);
    attempt >= max
}
