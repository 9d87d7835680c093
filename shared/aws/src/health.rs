//! Reachability checks for health endpoints: one cheap call per dependency.

use crate::{requests, sdk_message, AwsError, Clients};

/// A dependency to check.
pub enum Dependency<'a> {
    Table(&'a str),
    Bucket(&'a str),
    Queue(&'a str),
}

/// `(name, result, milliseconds)` for each dependency, checked concurrently; a failure carries
/// the service's message.
pub async fn check(clients: &Clients, deps: &[(&str, Dependency<'_>)]) -> Vec<(String, Result<(), String>, u64)> {
    let calls = deps.iter().map(|(name, dep)| async move {
        let start = std::time::Instant::now();
        let result = match dep {
            Dependency::Table(t) => {
                requests::record("dynamodb.DescribeTable", 0);
                clients
                    .dynamodb
                    .describe_table()
                    .table_name(*t)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::new("DescribeTable", sdk_message(&e)))
            }
            Dependency::Bucket(b) => {
                requests::record("s3.HeadBucket", 0);
                clients
                    .s3
                    .head_bucket()
                    .bucket(*b)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::new("HeadBucket", sdk_message(&e)))
            }
            Dependency::Queue(q) => {
                requests::record("sqs.GetQueueAttributes", 0);
                clients
                    .sqs
                    .get_queue_attributes()
                    .queue_url(*q)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::new("GetQueueAttributes", sdk_message(&e)))
            }
        };
        (name.to_string(), result.map_err(|e| e.to_string()), start.elapsed().as_millis() as u64)
    });
    futures_util::future::join_all(calls).await
}
