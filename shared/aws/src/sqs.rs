//! SQS: sending many messages with SendMessageBatch (ten per request), retrying failed entries.

use crate::{requests, sdk_message, AwsError};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

pub async fn send_all(client: &Client, queue_url: &str, bodies: Vec<String>) -> Result<(), AwsError> {
    for (chunk_no, chunk) in bodies.chunks(10).enumerate() {
        let mut entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .map(|(i, body)| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{chunk_no}-{i}"))
                    .message_body(body)
                    .build()
                    .map_err(|e| AwsError::new("SendMessageBatch", e))
            })
            .collect::<Result<_, _>>()?;
        for _attempt in 0..5 {
            requests::record("sqs.SendMessageBatch", entries.len() as u64);
            let out = client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| AwsError::new("SendMessageBatch", sdk_message(&e)))?;
            let failed: Vec<String> = out.failed.into_iter().map(|f| f.id).collect();
            if failed.is_empty() {
                break;
            }
            entries.retain(|e| failed.contains(&e.id));
        }
    }
    Ok(())
}

pub async fn send(client: &Client, queue_url: &str, body: String) -> Result<(), AwsError> {
    requests::record("sqs.SendMessage", 1);
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| AwsError::new("SendMessage", sdk_message(&e)))?;
    Ok(())
}
