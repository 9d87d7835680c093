//! The store's errors: a call that failed, an item that cannot be read, a setting that is
//! missing or wrong. Each layer above maps them once (the pipeline into its own error, the API
//! into its JSON error).

use settlepaisa_aws::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Malformed(#[from] settlepaisa_aws::dynamo::Malformed),
    #[error("setting {0} is missing")]
    MissingSetting(&'static str),
    #[error("setting {0}=`{1}` is not valid")]
    BadSetting(&'static str, String),
    /// Items that contradict each other (a bug or a hand edit): never resolved by guessing.
    #[error("inconsistent store: {0}")]
    Inconsistent(String),
    #[error("configuration: {0}")]
    Config(#[from] settlepaisa_recon::config::ConfigError),
}
