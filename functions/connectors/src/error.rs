//! What a connector's run can fail on: the remote side (retried, then the run fails and the
//! breaker counts it), our configuration or secret (the run fails, said plainly), or our own
//! storage (the run fails; nothing is recorded as taken that is not in S3).

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The bank's side: refused, cut, timed out, an error status.
    #[error("{0}")]
    Remote(String),
    /// The bank's side said no in a way trying again will not change: a host key other than the
    /// pinned one, a refused login (retrying a refused login gets accounts locked).
    #[error("{0}")]
    Refused(String),
    /// Ours to fix: a secret missing or unusable, a host key that does not parse.
    #[error("{0}")]
    Config(String),
    /// The run's time is spent (the function's timeout nears): what is left waits for the next.
    #[error("the run's time ran out before {0}")]
    Deadline(String),
    #[error(transparent)]
    Store(#[from] settlepaisa_store::StoreError),
    #[error(transparent)]
    Aws(#[from] settlepaisa_aws::AwsError),
}

impl ConnectorError {
    /// Whether trying the step again may help.
    pub fn retryable(&self) -> bool {
        matches!(self, ConnectorError::Remote(_) | ConnectorError::Aws(_))
    }
}
