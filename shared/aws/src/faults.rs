//! Injected AWS faults, for tests: the emulator never throttles, never cancels a transaction for a
//! conflict and never fails a batch send, so tests wrap the SDK's HTTP client in one that answers
//! chosen requests itself, with the exact response AWS would send, before they reach the wire. The
//! SDK then parses, classifies and retries them as it would in AWS.
//!
//! A rule names an operation (`x-amz-target` of the JSON protocols, such as
//! `DynamoDB_20120810.TransactWriteItems`, or `METHOD /path` of S3's REST calls, matched as a
//! prefix after the bucket), how many matching requests it answers, and the response. Clients
//! built without faults never see this module.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use std::sync::{Arc, Mutex};

/// One injected answer.
#[derive(Clone, Debug)]
pub struct Fault {
    /// What the request must be: an `x-amz-target` value, or `METHOD path-prefix` for S3.
    pub operation: String,
    /// Further text the request's target or URI must contain (a key, a queue), empty for any.
    pub containing: String,
    /// Matching requests still to answer; the rule is spent at zero.
    pub remaining: u32,
    /// When not zero, every `pass_every`-th matching request goes through to the service (so a
    /// caller that retries meets `pass_every - 1` faults per call, every call).
    pub pass_every: u32,
    seen: u32,
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl Fault {
    /// DynamoDB cancels a transaction that overlaps another on one of its items.
    pub fn transaction_conflict(times: u32) -> Fault {
        Fault {
            operation: "DynamoDB_20120810.TransactWriteItems".into(),
            containing: String::new(),
            remaining: times,
            pass_every: 0,
            seen: 0,
            status: 400,
            content_type: "application/x-amz-json-1.0",
            body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"},{"Code":"None"}]}"#.into(),
        }
    }

    /// An SQS request that fails on the service side (the SDK retries it, then gives up).
    pub fn sqs_internal_error(action: &str, times: u32) -> Fault {
        Fault::json_error(
            &format!("AmazonSQS.{action}"),
            times,
            r#"{"__type":"com.amazonaws.sqs#InternalError","message":"We encountered an internal error. Please try again."}"#,
        )
    }

    /// A DynamoDB request (`BatchWriteItem`, …) that fails on the service side (the SDK retries
    /// it, then gives up).
    pub fn dynamodb_internal_error(action: &str, times: u32) -> Fault {
        Fault::json_error(
            &format!("DynamoDB_20120810.{action}"),
            times,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
        )
    }

    /// A request of a JSON-protocol service, named by its `x-amz-target` (`secretsmanager.GetSecretValue`,
    /// …), that fails on the service side.
    pub fn json_internal_error(target: &str, times: u32) -> Fault {
        Fault::json_error(target, times, r#"{"__type":"InternalServiceError","message":"Internal server error"}"#)
    }

    /// A 500 with `body` for `times` requests whose `x-amz-target` is `target`.
    fn json_error(target: &str, times: u32, body: &str) -> Fault {
        Fault {
            operation: target.to_string(),
            containing: String::new(),
            remaining: times,
            pass_every: 0,
            seen: 0,
            status: 500,
            content_type: "application/x-amz-json-1.0",
            body: body.into(),
        }
    }

    /// An S3 request (`GET`, `PUT`, …) on keys containing `containing` that fails with a 500.
    pub fn s3_internal_error(method: &str, containing: &str, times: u32) -> Fault {
        Fault {
            operation: format!("{method} /"),
            containing: containing.into(),
            remaining: times,
            pass_every: 0,
            seen: 0,
            status: 500,
            content_type: "application/xml",
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>".into(),
        }
    }

    /// Lets every `n`-th matching request through.
    pub fn passing_every(self, n: u32) -> Fault {
        Fault { pass_every: n, ..self }
    }

    fn matches(&self, target: Option<&str>, method: &str, uri: &str) -> bool {
        if self.remaining == 0 {
            return false;
        }
        let (what, haystack) = match target {
            Some(t) => (t == self.operation, format!("{t} {uri}")),
            None => {
                let path = uri.split_once("://").map_or(uri, |(_, rest)| rest.find('/').map_or("", |i| &rest[i..]));
                (format!("{method} {path}").starts_with(&self.operation), path.to_string())
            }
        };
        what && (self.containing.is_empty() || urlencoding_lossy(&haystack).contains(&self.containing))
    }
}

/// `%2F` and friends decoded, so a rule can name a key as written.
fn urlencoding_lossy(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rules in force, shared by every client built with them; tests add and clear rules while the
/// stack runs.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Fault>>>,
    /// Requests answered by a rule, per operation.
    injected: Arc<Mutex<Vec<String>>>,
    /// When set, one `TransactWriteItems` at a time reaches the emulator: see
    /// [`Faults::isolate_transactions`].
    transactions: Arc<Mutex<Option<Arc<tokio::sync::Mutex<()>>>>>,
}

impl Faults {
    pub fn add(&self, fault: Fault) {
        self.rules.lock().expect("faults lock").push(fault);
    }

    pub fn clear(&self) {
        self.rules.lock().expect("faults lock").clear();
    }

    /// Sends the stack's `TransactWriteItems` to the emulator one at a time. DynamoDB isolates
    /// transactions (two that race on an item: one commits, the other is cancelled); moto checks
    /// a transaction's conditions and applies its writes without a lock, so two that race can
    /// both pass their checks and both commit. Serialized, the second sees the first's writes, as
    /// it would on AWS.
    pub fn isolate_transactions(&self) {
        *self.transactions.lock().expect("faults lock") = Some(Arc::new(tokio::sync::Mutex::new(())));
    }

    fn transaction_lock(&self, request: &HttpRequest) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let target = request.headers().get("x-amz-target")?;
        if target != "DynamoDB_20120810.TransactWriteItems" {
            return None;
        }
        self.transactions.lock().ok()?.clone()
    }

    /// How many requests rules have answered for `operation` so far.
    pub fn injected(&self, operation: &str) -> usize {
        self.injected.lock().expect("faults lock").iter().filter(|o| o.as_str() == operation).count()
    }

    fn answer(&self, request: &HttpRequest) -> Option<Response<SdkBody>> {
        let target = request.headers().get("x-amz-target");
        let mut rules = self.rules.lock().ok()?;
        let rule = rules.iter_mut().find(|r| r.matches(target, request.method(), request.uri()))?;
        rule.seen += 1;
        if rule.pass_every > 0 && rule.seen % rule.pass_every == 0 {
            return None;
        }
        rule.remaining -= 1;
        self.injected.lock().ok()?.push(rule.operation.clone());
        let mut response =
            Response::new(StatusCode::try_from(rule.status).ok()?, SdkBody::from(rule.body.clone().into_bytes()));
        response.headers_mut().insert("content-type", rule.content_type);
        response.headers_mut().insert("x-amzn-requestid", "injected-fault");
        Some(response)
    }

    /// `inner` with these rules in front of it.
    pub fn wrap(&self, inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(FaultyClient { inner, faults: self.clone() })
    }
}

#[derive(Debug)]
struct FaultyClient {
    inner: SharedHttpClient,
    faults: Faults,
}

impl HttpClient for FaultyClient {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    faults: Faults,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        if let Some(response) = self.faults.answer(&request) {
            return HttpConnectorFuture::ready(Ok(response));
        }
        match self.faults.transaction_lock(&request) {
            Some(lock) => {
                let inner = self.inner.clone();
                HttpConnectorFuture::new(async move {
                    let _one_at_a_time = lock.lock().await;
                    inner.call(request).await
                })
            }
            None => self.inner.call(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_json_targets_and_s3_paths() {
        let f = Fault::transaction_conflict(1);
        assert!(f.matches(Some("DynamoDB_20120810.TransactWriteItems"), "POST", "http://127.0.0.1:1/"));
        assert!(!f.matches(Some("DynamoDB_20120810.PutItem"), "POST", "http://127.0.0.1:1/"));
        let g = Fault::s3_internal_error("GET", "incoming/pg/a b.csv", 2);
        assert!(g.matches(None, "GET", "http://127.0.0.1:1/bucket/incoming/pg/a%20b.csv?x-id=GetObject"));
        assert!(!g.matches(None, "PUT", "http://127.0.0.1:1/bucket/incoming/pg/a%20b.csv"));
        assert!(!g.matches(None, "GET", "http://127.0.0.1:1/bucket/incoming/hdfc/x.csv"));
        let spent = Fault { remaining: 0, ..f };
        assert!(!spent.matches(Some("DynamoDB_20120810.TransactWriteItems"), "POST", "/"));
    }
}
