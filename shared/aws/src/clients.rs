//! SDK clients, built once per process and shared by reference across invocations.

use crate::faults::Faults;
use aws_credential_types::{provider::SharedCredentialsProvider, Credentials};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::{region::Region, SdkConfig};

/// The one HTTP client: hyper 1 with rustls on ring (plain HTTP too, for an emulator). Chosen
/// here rather than by the SDK's default features, which bring aws-lc: a C build and about a
/// megabyte in every function (docs/benchmarks.md, "Build time and artifacts").
fn https() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

fn base_config() -> aws_types::sdk_config::Builder {
    SdkConfig::builder().behavior_version(BehaviorVersion::latest())
}

#[derive(Clone, Debug)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// What the clients were built from; other services' clients are built from it where they
    /// are used ([`Clients::secretsmanager`]), so a function links only the clients it calls.
    pub config: SdkConfig,
}

impl Clients {
    /// From the environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`): what Lambda uses.
    pub async fn from_env() -> Clients {
        let shared = Clients::config_from_env().await;
        let custom_endpoint = std::env::var("AWS_ENDPOINT_URL").is_ok_and(|url| !url.is_empty());
        Clients::from_config(&shared, custom_endpoint)
    }

    /// The SDK configuration from the environment, for a function that needs one client only.
    ///
    /// Read directly rather than through `aws-config`'s provider chain: Lambda hands a function
    /// its region, its role's credentials and any endpoint as environment variables and nothing
    /// else, and the chain (profile files, IMDS, STS for web identity) was a quarter of a
    /// megabyte in every artifact (docs/benchmarks.md, "Build time and artifacts"). Retries,
    /// timeouts, sleep and clock are the SDK's defaults for the behavior version, as before.
    pub async fn config_from_env() -> SdkConfig {
        let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let mut config = base_config().http_client(https());
        if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
            config = config.region(Region::new(region));
        }
        if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            let credentials = Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment");
            config = config.credentials_provider(SharedCredentialsProvider::new(credentials));
        }
        if let Some(endpoint) = var("AWS_ENDPOINT_URL") {
            config = config.endpoint_url(endpoint);
        }
        config.build()
    }

    /// A Secrets Manager client on the same configuration.
    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }

    /// For an emulator at `endpoint` (the local stack and the tests), with fixed test credentials.
    pub async fn for_endpoint(endpoint: &str, region: &str) -> Clients {
        Clients::for_endpoint_with_faults(endpoint, region, None).await
    }

    /// As [`Clients::for_endpoint`], with `faults` answering the requests its rules name (tests
    /// inject what the emulator cannot produce: conflicts, throttling, failed sends).
    pub async fn for_endpoint_with_faults(endpoint: &str, region: &str, faults: Option<&Faults>) -> Clients {
        let shared = base_config()
            .http_client(https())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new("test", "test", None, None, "local")))
            .build();
        // The emulator listens on plain HTTP on loopback: the injected faults sit in front of a
        // plain HTTP client (the SDK's default, chosen per service client, is not reachable to wrap).
        let shared = match faults {
            Some(faults) => {
                let inner = aws_smithy_http_client::Builder::new().build_http();
                shared.into_builder().http_client(faults.wrap(inner)).build()
            }
            None => shared,
        };
        Clients::from_config(&shared, true)
    }

    fn from_config(shared: &SdkConfig, custom_endpoint: bool) -> Clients {
        // An emulator on an IP address cannot serve virtual-hosted bucket names.
        let s3 = aws_sdk_s3::config::Builder::from(shared).force_path_style(custom_endpoint).build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::new(shared),
            sqs: aws_sdk_sqs::Client::new(shared),
            config: shared.clone(),
        }
    }
}
