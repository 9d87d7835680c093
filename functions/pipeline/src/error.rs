//! The pipeline's errors. A bad file is not an error (it is a `REJECTED` file record); these are
//! what should make Lambda retry, or stop a function from starting.

use settlepaisa_aws::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Store(#[from] settlepaisa_aws::dynamo::Malformed),
    #[error("setting {0} is missing")]
    MissingSetting(&'static str),
    #[error("setting {0}=`{1}` is not valid")]
    BadSetting(&'static str, String),
    #[error("configuration: {0}")]
    Config(#[from] settlepaisa_recon::config::ConfigError),
    #[error("message is not a valid {kind}: {message}")]
    BadMessage { kind: &'static str, message: String },
    #[error("job {0} does not exist")]
    NoSuchJob(String),
    #[error("job {job}: {message}")]
    Job { job: String, message: String },
    #[error("{0} overflows: the inputs are not plausible")]
    Overflow(&'static str),
    #[error("normalized data {key}: {message}")]
    Data { key: String, message: String },
}
