//! SDK clients, built once per process and shared by reference across invocations.

use aws_config::{BehaviorVersion, Region};

#[derive(Clone, Debug)]
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
}

impl Clients {
    /// From the environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`): what Lambda uses.
    pub async fn from_env() -> Clients {
        let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let custom_endpoint = std::env::var("AWS_ENDPOINT_URL").is_ok();
        Clients::from_config(&shared, custom_endpoint)
    }

    /// For an emulator at `endpoint` (the local stack and the tests), with fixed test credentials.
    pub async fn for_endpoint(endpoint: &str, region: &str) -> Clients {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "local"))
            .load()
            .await;
        Clients::from_config(&shared, true)
    }

    fn from_config(shared: &aws_config::SdkConfig, custom_endpoint: bool) -> Clients {
        // An emulator on an IP address cannot serve virtual-hosted bucket names.
        let s3 = aws_sdk_s3::config::Builder::from(shared).force_path_style(custom_endpoint).build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::new(shared),
            sqs: aws_sdk_sqs::Client::new(shared),
        }
    }
}
