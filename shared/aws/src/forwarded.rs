//! Files `ingest-file` forwards to a worker through a queue (a body `{"bucket", "key"}`): payout
//! responses, dispute files. One loop for every such worker: each message's file applied, a
//! failed one — or a body naming no file — reported for the queue to retry and then dead-letter,
//! never dropped.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::fmt::Display;
use std::future::Future;

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ForwardedFile {
    pub bucket: String,
    pub key: String,
}

impl ForwardedFile {
    /// The message body `ingest-file` sends.
    pub fn body(bucket: &str, key: &str) -> String {
        serde_json::json!({ "bucket": bucket, "key": key }).to_string()
    }
}

/// Applies `apply` to each message's file; `what` names the files in the logs.
pub async fn each_file<E, Fut>(event: &SqsEvent, what: &str, apply: impl Fn(ForwardedFile) -> Fut) -> SqsBatchResponse
where
    E: Display,
    Fut: Future<Output = Result<(), E>>,
{
    let mut response = SqsBatchResponse::default();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        let failure = match serde_json::from_str::<ForwardedFile>(m.body.as_deref().unwrap_or("")) {
            // Boxed: a worker's future nests deep enough to pass the compiler's layout depth inline.
            Ok(file) => Box::pin(apply(file)).await.err().map(|e| e.to_string()),
            Err(e) => Some(format!("not a {what} message: {e}")),
        };
        if let Some(error) = failure {
            tracing::error!(error, message = %id, "{what} not applied");
            response.add_failure(id);
        }
    }
    response
}
