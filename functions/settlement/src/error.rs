//! The settlement functions' errors: what should make Lambda retry (a call that failed), or
//! what ops must fix (a refunds file with a bad row, an event naming no day).

use settlepaisa_aws::AwsError;
use settlepaisa_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    BadEvent(String),
    #[error("{key}: refused, nothing settled ({reasons})")]
    BadInput { key: String, reasons: String },
    #[error("ledger of {merchant}: {message}")]
    Ledger { merchant: String, message: String },
    #[error("{0}")]
    Cycle(#[from] settlepaisa_payout::cycle::CycleError),
    #[error("merchant {0}: the ledger kept moving under this run")]
    Contended(String),
    #[error("some merchants were not settled (the others were): {0}")]
    Partial(String),
}

impl From<AwsError> for SettleError {
    fn from(e: AwsError) -> SettleError {
        SettleError::Store(StoreError::Aws(e))
    }
}

impl From<settlepaisa_aws::dynamo::Malformed> for SettleError {
    fn from(e: settlepaisa_aws::dynamo::Malformed) -> SettleError {
        SettleError::Store(StoreError::Malformed(e))
    }
}
