//! SQS: sending many messages with SendMessageBatch (ten per request), retrying failed entries.

use crate::{requests, sdk_message, AwsError};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_sdk_sqs::Client;

/// Attempts for entries SQS reports as failed in a batch (the SDK already retries whole-request
/// failures on its own).
const ENTRY_ATTEMPTS: u32 = 5;

/// Sends every body, ten per request. Entries SQS refuses are sent again with jittered backoff; any
/// still refused after that is an error, so the caller never believes a message is queued when it
/// is not.
pub async fn send_all(client: &Client, queue_url: &str, bodies: Vec<String>) -> Result<(), AwsError> {
    send_entries(client, queue_url, bodies.into_iter().map(|body| (body, None)).collect()).await
}

/// One message for a FIFO queue: its body, its message group (messages of a group are handled one
/// at a time, in order) and its deduplication id.
#[derive(Clone, Debug)]
pub struct FifoMessage {
    pub body: String,
    pub group: String,
    pub dedup: String,
}

/// As [`send_all`], to a FIFO queue.
pub async fn send_all_fifo(client: &Client, queue_url: &str, messages: Vec<FifoMessage>) -> Result<(), AwsError> {
    send_entries(client, queue_url, messages.into_iter().map(|m| (m.body, Some((m.group, m.dedup)))).collect()).await
}

async fn send_entries(
    client: &Client,
    queue_url: &str,
    messages: Vec<(String, Option<(String, String)>)>,
) -> Result<(), AwsError> {
    for (chunk_no, chunk) in messages.chunks(10).enumerate() {
        let mut entries: Vec<SendMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .map(|(i, (body, fifo))| {
                let entry = SendMessageBatchRequestEntry::builder().id(format!("m{chunk_no}-{i}")).message_body(body);
                let entry = match fifo {
                    Some((group, dedup)) => entry.message_group_id(group).message_deduplication_id(dedup),
                    None => entry,
                };
                entry.build().map_err(|e| AwsError::new("SendMessageBatch", e))
            })
            .collect::<Result<_, _>>()?;
        let mut attempt = 0;
        loop {
            requests::record("sqs.SendMessageBatch", entries.len() as u64);
            let out = client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries.clone()))
                .send()
                .await
                .map_err(|e| AwsError::new("SendMessageBatch", sdk_message(&e)))?;
            if out.failed.is_empty() {
                break;
            }
            attempt += 1;
            if attempt >= ENTRY_ATTEMPTS {
                let first = &out.failed[0];
                return Err(AwsError::new(
                    "SendMessageBatch",
                    format!(
                        "{} of {} messages refused after {attempt} attempts: {} {}",
                        out.failed.len(),
                        entries.len(),
                        first.code,
                        first.message.as_deref().unwrap_or("")
                    ),
                ));
            }
            let failed: Vec<String> = out.failed.into_iter().map(|f| f.id).collect();
            entries.retain(|e| failed.contains(&e.id));
            tokio::time::sleep(crate::transact::backoff(attempt)).await;
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

/// A message taken from a queue: its body and the handle that deletes it.
#[derive(Clone, Debug)]
pub struct Received {
    pub body: String,
    pub receipt_handle: String,
}

/// Up to `max` (1 to 10) messages waiting now, without waiting for more.
pub async fn receive(client: &Client, queue_url: &str, max: i32) -> Result<Vec<Received>, AwsError> {
    requests::record("sqs.ReceiveMessage", 1);
    let out = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(max.clamp(1, 10))
        .wait_time_seconds(0)
        .send()
        .await
        .map_err(|e| AwsError::new("ReceiveMessage", sdk_message(&e)))?;
    Ok(out
        .messages
        .unwrap_or_default()
        .into_iter()
        .map(|m| Received { body: m.body.unwrap_or_default(), receipt_handle: m.receipt_handle.unwrap_or_default() })
        .collect())
}

pub async fn delete(client: &Client, queue_url: &str, receipt_handle: &str) -> Result<(), AwsError> {
    requests::record("sqs.DeleteMessage", 1);
    client
        .delete_message()
        .queue_url(queue_url)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .map_err(|e| AwsError::new("DeleteMessage", sdk_message(&e)))?;
    Ok(())
}
