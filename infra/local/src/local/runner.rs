//! Delivers events to the pipeline's handlers the way Lambda would: the uploads bucket's
//! notifications to `ingest-file`, each SQS event source's messages to its function in batches of
//! the template's `BatchSize`, failed items of a partial batch response made visible again at
//! once, and the queue's redrive policy left to move a message to its dead-letter queue.

use super::stack::Deployed;
use super::template::{EventSpec, StackSpec};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::s3::S3Event;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use settlepaisa_aws::{sdk_message, Clients};
use settlepaisa_pipeline::{chunks, claims, finalize, ingest, plan, renormalize, worker, Context};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What one function binary's invocations took: how many, their handler time, the longest (to set
/// against the function's timeout) and the most heap one of them allocated above what was in use
/// when it started (to set against its memory size; zero where the counting allocator is not
/// installed).
#[derive(Clone, Copy, Debug, Default)]
pub struct Invocations {
    pub count: u64,
    pub total: Duration,
    pub longest: Duration,
    pub heap_peak: usize,
}

/// Attempts after which a failing S3 notification is dropped (Lambda's asynchronous invocations
/// retry twice).
const S3_ATTEMPTS: u32 = 3;

struct SqsSource {
    binary: String,
    queue_url: String,
    queue_arn: String,
    batch_size: i32,
}

pub struct Runner {
    pub ctx: Context,
    pub deployed: Deployed,
    sources: Vec<SqsSource>,
    s3_events_url: String,
    /// `ingest-file`'s on-failure destination: where an S3 event goes once its retries are spent.
    ingest_failure_url: Option<String>,
    /// Invocations and handler time per function binary, for the compute estimate.
    invocations: std::sync::Mutex<std::collections::BTreeMap<String, Invocations>>,
}

impl Runner {
    pub async fn new(clients: Clients, spec: &StackSpec, deployed: Deployed) -> Result<Runner, String> {
        let env = deployed.environment.clone();
        // The stack's environment, and the local values of the keys a deployed stack keeps in
        // Secrets Manager (functions run in this process, not with their own environments).
        let lookup = |k: &str| env.get(k).cloned().or_else(|| super::sam_env::local_secret(k).map(str::to_string));
        let ctx = Context::new(clients.clone(), &lookup).map_err(|e| e.to_string())?;
        let mut sources = Vec::new();
        for f in &spec.functions {
            for e in &f.events {
                if let EventSpec::Sqs { queue, batch_size, .. } = e {
                    let (name, url) = deployed
                        .queues
                        .get(queue)
                        .cloned()
                        .ok_or(format!("{} reads unknown queue {queue}", f.logical))?;
                    sources.push(SqsSource {
                        binary: f.binary.clone(),
                        queue_url: url,
                        queue_arn: format!("arn:aws:sqs:{}:{}:{name}", deployed.region, super::stack::ACCOUNT),
                        batch_size: (*batch_size).clamp(1, 10) as i32,
                    });
                }
            }
        }
        let s3_events_url = clients
            .sqs
            .get_queue_url()
            .queue_name(&deployed.s3_events_queue)
            .send()
            .await
            .map_err(|e| sdk_message(&e))?
            .queue_url
            .unwrap_or_default();
        let ingest_failure_url = spec
            .functions
            .iter()
            .find(|f| f.binary == "ingest-file")
            .and_then(|f| f.on_failure.as_ref())
            .and_then(|q| deployed.queues.get(q))
            .map(|(_, url)| url.clone());
        Ok(Runner { ctx, deployed, sources, s3_events_url, ingest_failure_url, invocations: Default::default() })
    }

    async fn receive(&self, url: &str, max: i32) -> Result<Vec<Message>, String> {
        let out = self
            .ctx
            .clients
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| sdk_message(&e))?;
        Ok(out.messages.unwrap_or_default())
    }

    async fn delete(&self, url: &str, m: &Message) -> Result<(), String> {
        self.ctx
            .clients
            .sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
            .send()
            .await
            .map_err(|e| sdk_message(&e))?;
        Ok(())
    }

    /// Makes a failed message visible again at once, as Lambda's retry would after the timeout.
    async fn retry(&self, url: &str, m: &Message) -> Result<(), String> {
        self.ctx
            .clients
            .sqs
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| sdk_message(&e))?;
        Ok(())
    }

    /// Handles what is waiting in every queue once; returns how many messages were handled.
    pub async fn pump_once(&self) -> Result<usize, String> {
        let mut handled = 0;
        for m in self.receive(&self.s3_events_url, 10).await? {
            handled += 1;
            self.deliver_s3(&m).await?;
        }
        for source in &self.sources {
            let messages = self.receive(&source.queue_url, source.batch_size).await?;
            if messages.is_empty() {
                continue;
            }
            handled += messages.len();
            let event = sqs_event(&messages, &source.queue_arn, &self.deployed.region);
            let response = self.invoke_sqs(&source.binary, event).await?;
            let failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
            for m in &messages {
                if failed.contains(&m.message_id.clone().unwrap_or_default()) {
                    self.retry(&source.queue_url, m).await?;
                } else {
                    self.delete(&source.queue_url, m).await?;
                }
            }
        }
        Ok(handled)
    }

    async fn invoke_sqs(&self, binary: &str, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        let started = Instant::now();
        let heap = crate::memory::window_start();
        let out = match binary {
            "match-shard" => worker::handle(&self.ctx, event).await,
            "finalize-job" => finalize::handle(&self.ctx, event).await,
            "ingest-chunk" => chunks::handle(&self.ctx, event).await,
            "claim-txns" => claims::handle(&self.ctx, event).await,
            "plan-match" => plan::handle_queued(&self.ctx, event).await,
            "renormalize-file" => renormalize::handle(&self.ctx, event).await,
            "apply-payout-responses" => settlepaisa_settlement::responses::handle(&self.ctx, event).await,
            "apply-dispute-file" => settlepaisa_chargeback::files::handle(&self.ctx, event).await,
            "apply-pg-events" => settlepaisa_pg_ingestion::apply::handle(&self.ctx, event).await,
            "generate-report" => settlepaisa_governance::reports::generate::handle(&self.ctx, event).await,
            other => return Err(format!("no local handler for function binary `{other}`")),
        };
        self.count(binary, started.elapsed(), crate::memory::window_peak(heap));
        Ok(out)
    }

    fn count(&self, binary: &str, took: Duration, heap_peak: usize) {
        if let Ok(mut m) = self.invocations.lock() {
            let e = m.entry(binary.to_string()).or_default();
            e.count += 1;
            e.total += took;
            e.longest = e.longest.max(took);
            e.heap_peak = e.heap_peak.max(heap_peak);
        }
    }

    /// Invocations per function binary so far.
    pub fn invocations(&self) -> std::collections::BTreeMap<String, Invocations> {
        self.invocations.lock().map(|m| m.clone()).unwrap_or_default()
    }

    async fn deliver_s3(&self, m: &Message) -> Result<(), String> {
        let body = m.body.clone().unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        // S3 sends a test event when a notification is configured: not an upload.
        if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") || value.get("Records").is_none() {
            return self.delete(&self.s3_events_url, m).await;
        }
        let event: S3Event =
            serde_json::from_value(with_lambda_fields(value)).map_err(|e| format!("S3 notification: {e}"))?;
        let started = Instant::now();
        let heap = crate::memory::window_start();
        let result = ingest::handle(&self.ctx, event).await;
        self.count("ingest-file", started.elapsed(), crate::memory::window_peak(heap));
        match result {
            Ok(done) => {
                for d in done {
                    tracing::info!(key = d.key, status = d.status, duplicate = d.duplicate, "ingest-file");
                }
                self.delete(&self.s3_events_url, m).await
            }
            Err(e) => {
                let attempts = receive_count(m);
                tracing::error!(error = %e, attempts, "ingest-file failed");
                if attempts >= S3_ATTEMPTS {
                    let request_id = m.message_id.clone().unwrap_or_default();
                    self.to_failure_destination(&body, &e.to_string(), attempts, &request_id).await?;
                    self.delete(&self.s3_events_url, m).await
                } else {
                    self.retry(&self.s3_events_url, m).await
                }
            }
        }
    }

    /// What Lambda does with an asynchronous invocation whose retries are spent: an invocation
    /// record with the event and the error, sent to the function's on-failure destination.
    async fn to_failure_destination(
        &self,
        event: &str,
        error: &str,
        attempts: u32,
        request_id: &str,
    ) -> Result<(), String> {
        let Some(url) = &self.ingest_failure_url else { return Ok(()) };
        let payload: serde_json::Value = serde_json::from_str(event).unwrap_or_default();
        let record = serde_json::json!({
            "version": "1.0",
            "timestamp": settlepaisa_recon::date::format_utc(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
            ),
            "requestContext": {
                "requestId": request_id,
                "functionArn": format!("arn:aws:lambda:{}:{}:function:ingest-file", self.deployed.region, super::stack::ACCOUNT),
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": with_lambda_fields(payload),
            "responseContext": { "statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled" },
            "responsePayload": { "errorType": "PipelineError", "errorMessage": error },
        });
        settlepaisa_aws::sqs::send(&self.ctx.clients.sqs, url, record.to_string()).await.map_err(|e| e.to_string())
    }

    /// Pumps until every queue has been empty for two rounds in a row, or `limit` passes.
    pub async fn run_until_idle(&self, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let mut quiet = 0;
        while quiet < 2 {
            if Instant::now() > deadline {
                return Err(format!("the pipeline was still busy after {limit:?}"));
            }
            if self.pump_once().await? == 0 {
                quiet += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            } else {
                quiet = 0;
            }
        }
        Ok(())
    }

    /// Messages waiting in a queue of the template (by logical id).
    pub async fn queue_depth(&self, logical: &str) -> Result<u64, String> {
        let (_, url) = self.deployed.queues.get(logical).ok_or(format!("no queue {logical}"))?;
        let out = self
            .ctx
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(|e| sdk_message(&e))?;
        Ok(out
            .attributes
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages).cloned())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0))
    }
}

/// The emulator's notification leaves out fields that Lambda's S3 event always carries.
fn with_lambda_fields(mut value: serde_json::Value) -> serde_json::Value {
    if let Some(records) = value.get_mut("Records").and_then(|r| r.as_array_mut()) {
        for r in records.iter_mut().filter_map(|r| r.as_object_mut()) {
            r.entry("userIdentity").or_insert_with(|| serde_json::json!({ "principalId": "" }));
            r.entry("requestParameters").or_insert_with(|| serde_json::json!({ "sourceIPAddress": "127.0.0.1" }));
            r.entry("responseElements").or_insert_with(|| serde_json::json!({}));
        }
    }
    value
}

fn receive_count(m: &Message) -> u32 {
    m.attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// The SQS messages as Lambda's event: ids, bodies, receipt handles and system attributes.
fn sqs_event(messages: &[Message], arn: &str, region: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    for m in messages {
        let mut record = SqsMessage::default();
        record.message_id = m.message_id.clone();
        record.receipt_handle = m.receipt_handle.clone();
        record.body = m.body.clone();
        record.md5_of_body = m.md5_of_body.clone();
        record.event_source = Some("aws:sqs".into());
        record.event_source_arn = Some(arn.to_string());
        record.aws_region = Some(region.to_string());
        let attrs: HashMap<String, String> =
            m.attributes.clone().unwrap_or_default().into_iter().map(|(k, v)| (k.as_str().to_string(), v)).collect();
        record.attributes = attrs;
        event.records.push(record);
    }
    event
}
