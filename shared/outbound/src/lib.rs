//! Outbound HTTP(S) that is not an AWS call: one client (hyper on rustls with ring, the system's
//! CA roots, plain HTTP allowed for loopback test servers), every request bounded by a timeout,
//! bodies read whole up to a limit.

use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use std::time::Duration;

pub use bytes::Bytes;
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

    /// A GET whose body is handed to `sink` piece by piece as it arrives (a large download never
    /// sits in memory): the headers within `timeout`, then each piece within `timeout` of the
    /// last (a server that stops sending is cut off, however long the whole takes). A status
    /// other than 2xx is returned with no body read.
    pub async fn get_streaming<F, Fut, E>(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        timeout: Duration,
        mut sink: F,
    ) -> Result<Result<Streamed, E>, OutboundError>
    where
        F: FnMut(Bytes) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        let mut req = hyper::Request::builder().method(Method::GET).uri(url);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::new())).map_err(|e| OutboundError::Request(url.into(), e.to_string()))?;
        let res = tokio::time::timeout(timeout, self.inner.request(req))
            .await
            .map_err(|_| OutboundError::Timeout(url.into(), timeout))?
            .map_err(|e| OutboundError::Transport(url.into(), e.to_string()))?;
        let (parts, mut body) = res.into_parts();
        let mut out = Streamed { status: parts.status, headers: parts.headers, bytes: 0 };
        if !out.status.is_success() {
            return Ok(Ok(out));
        }
        loop {
            let frame = tokio::time::timeout(timeout, body.frame())
                .await
                .map_err(|_| OutboundError::Timeout(url.into(), timeout))?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| OutboundError::Transport(url.into(), e.to_string()))?;
            if let Ok(data) = frame.into_data() {
                out.bytes += data.len() as u64;
                if let Err(e) = sink(data).await {
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(out))
    }
}

/// What a streamed GET answered (its body went to the sink).
#[derive(Debug)]
pub struct Streamed {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    /// Body bytes handed to the sink.
    pub bytes: u64,
}
