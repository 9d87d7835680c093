//! Secrets the stack owns (Secrets Manager), read when first needed and again once a short time
//! has passed, so a rotation takes effect without a deploy and the value never sits in a
//! function's configuration (where anyone who can read the function could see it).
//!
//! A function is given `{NAME}_ARN` (the template's secret) in AWS, or `{NAME}` itself (a value)
//! where there is no Secrets Manager: the local stack and tests.

use crate::{requests, sdk_message, AwsError};
use std::time::{Duration, Instant};

/// How long a value read from Secrets Manager is used before it is read again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

enum Source {
    Value(Vec<u8>),
    Manager { client: aws_sdk_secretsmanager::Client, id: String },
}

/// One secret and its cached value.
pub struct Secret {
    source: Source,
    ttl: Duration,
    cached: tokio::sync::Mutex<Option<(Instant, Vec<u8>)>>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A Secrets Manager client on `config`.
pub fn client(config: &aws_types::SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

impl Secret {
    /// A fixed value (no Secrets Manager).
    pub fn value(value: impl Into<Vec<u8>>) -> Secret {
        Secret { source: Source::Value(value.into()), ttl: Duration::MAX, cached: Default::default() }
    }

    /// The secret `id` (name or ARN) in Secrets Manager, read again after `ttl`.
    pub fn manager(client: aws_sdk_secretsmanager::Client, id: impl Into<String>, ttl: Duration) -> Secret {
        Secret { source: Source::Manager { client, id: id.into() }, ttl, cached: Default::default() }
    }

    /// From the environment: `{name}_ARN` (Secrets Manager), else `{name}` (a value); `None` when
    /// neither is set.
    pub fn from_lookup(
        name: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
        client: &aws_sdk_secretsmanager::Client,
    ) -> Option<Secret> {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        match (get(&format!("{name}_ARN")), get(name)) {
            (Some(arn), _) => Some(Secret::manager(client.clone(), arn, DEFAULT_TTL)),
            (None, Some(value)) => Some(Secret::value(value)),
            (None, None) => None,
        }
    }

    /// The current value. A read that fails keeps the last value read (the service not answering
    /// for a moment must not refuse every request); with none, it is an error.
    pub async fn current(&self) -> Result<Vec<u8>, AwsError> {
        let (client, id) = match &self.source {
            Source::Value(v) => return Ok(v.clone()),
            Source::Manager { client, id } => (client, id),
        };
        let mut cached = self.cached.lock().await;
        if let Some((at, value)) = cached.as_ref() {
            if at.elapsed() < self.ttl {
                return Ok(value.clone());
            }
        }
        requests::record("secretsmanager.GetSecretValue", 1);
        let read = client.get_secret_value().secret_id(id).send().await;
        match read {
            Ok(out) => {
                let value = match (out.secret_string, out.secret_binary) {
                    (Some(s), _) => s.into_bytes(),
                    (None, Some(b)) => b.into_inner(),
                    (None, None) => return Err(AwsError::new("GetSecretValue", "the secret has no value")),
                };
                *cached = Some((Instant::now(), value.clone()));
                Ok(value)
            }
            Err(e) => match cached.as_ref() {
                Some((_, value)) => {
                    tracing::warn!(error = %sdk_message(&e), "secret not read again; the last value stays in use");
                    Ok(value.clone())
                }
                None => Err(AwsError::new("GetSecretValue", sdk_message(&e))),
            },
        }
    }
}
