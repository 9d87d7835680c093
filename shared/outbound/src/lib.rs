//! Outbound HTTP(S) that is not an AWS call: one client (hyper on rustls with ring, the system's
//! CA roots, plain HTTP allowed for loopback test servers), every request bounded by a timeout,
//! bodies read whole up to a limit.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use std::time::Duration;

pub use hyper::{Method, StatusCode};

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0} is not a valid request: {1}")]
    Request(String, String),
    #[error("{0}: no answer within {1:?}")]
    Timeout(String, Duration),
    #[error("{0}: {1}")]
    Transport(String, String),
    #[error("{0}: the body is over {1} bytes")]
    TooLarge(String, usize),
}

/// A response read whole.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

/// The client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Client {
    inner: HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Client {
    /// A client trusting the system's roots (Lambda's, or the machine's). Fails when none load.
    pub fn new() -> Result<Client, OutboundError> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| OutboundError::Transport("TLS roots".into(), e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Client { inner: HyperClient::builder(hyper_util::rt::TokioExecutor::new()).build(connector) })
    }

    /// Sends a request and reads the answer (at most `max_body` bytes), all within `timeout`.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Response, OutboundError> {
        let mut req = hyper::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req =
            req.body(Full::new(Bytes::from(body))).map_err(|e| OutboundError::Request(url.into(), e.to_string()))?;
        let call = async {
            let res = self.inner.request(req).await.map_err(|e| OutboundError::Transport(url.into(), e.to_string()))?;
            let (parts, body) = res.into_parts();
            let body = Limited::new(body, max_body).collect().await.map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    OutboundError::TooLarge(url.into(), max_body)
                } else {
                    OutboundError::Transport(url.into(), e.to_string())
                }
            })?;
            Ok(Response { status: parts.status, headers: parts.headers, body: body.to_bytes() })
        };
        tokio::time::timeout(timeout, call).await.map_err(|_| OutboundError::Timeout(url.into(), timeout))?
    }
}
