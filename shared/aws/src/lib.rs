//! Thin adapters over the AWS SDK: building clients (which honour `AWS_ENDPOINT_URL`, so the same
//! code talks to AWS or to the local emulator), and the batch operations the pipeline needs with
//! their retries. No business rules live here.

pub mod capacity;
pub mod clients;
pub mod dynamo;
pub mod faults;
pub mod forwarded;
pub mod logs;
pub mod pace;
pub mod requests;
pub mod s3;
pub mod secrets;
pub mod sqs;
pub mod transact;

pub use clients::Clients;

/// An AWS call that failed, with the operation that was attempted.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub message: String,
}

impl AwsError {
    pub fn new(operation: &'static str, err: impl std::fmt::Display) -> AwsError {
        AwsError { operation, message: err.to_string() }
    }

    /// The service refused the request itself as invalid (DynamoDB's `ValidationException`: a
    /// start key or value it does not take), as opposed to failing to answer.
    pub fn is_validation(&self) -> bool {
        self.message.contains("ValidationException")
    }
}

/// Formats an SDK error with its service message, not just "service error".
pub fn sdk_message<E: std::error::Error>(err: &E) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub mod health;
