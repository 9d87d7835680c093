//! The pipeline's errors. A bad file is not an error (it is a `REJECTED` file record); these are
//! what should make Lambda retry, or stop a function from starting.

use settlepaisa_aws::AwsError;
use settlepaisa_store::StoreError;

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

/// The store's errors keep their meaning in the pipeline: one variant each, not a wrapper.
impl From<StoreError> for PipelineError {
    fn from(e: StoreError) -> PipelineError {
        match e {
            StoreError::Aws(e) => PipelineError::Aws(e),
            StoreError::Malformed(e) => PipelineError::Store(e),
            StoreError::MissingSetting(key) => PipelineError::MissingSetting(key),
            StoreError::BadSetting(key, value) => PipelineError::BadSetting(key, value),
            StoreError::Config(e) => PipelineError::Config(e),
            StoreError::Inconsistent(message) => PipelineError::Data { key: "store".into(), message },
        }
    }
}
