//! The chargeback functions' errors, and their one mapping to the API's error format.

use settlepaisa_aws::AwsError;
use settlepaisa_http::ApiError;
use settlepaisa_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DisputeError {
    /// The dispute's state does not allow the move: why, for a person (409).
    #[error("{0}")]
    Refused(String),
    /// No such dispute, or not the caller's: the same answer either way (404).
    #[error("dispute {0} not found")]
    NotFound(String),
    /// The dispute kept changing under every attempt (503, try again).
    #[error("dispute {0} is being changed by others; try again")]
    Busy(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    BadEvent(String),
}

impl From<AwsError> for DisputeError {
    fn from(e: AwsError) -> DisputeError {
        DisputeError::Store(StoreError::Aws(e))
    }
}

impl From<DisputeError> for ApiError {
    fn from(e: DisputeError) -> ApiError {
        match e {
            DisputeError::Refused(reason) => ApiError::conflict(reason),
            DisputeError::NotFound(id) => ApiError::not_found(format!("dispute {id} not found")),
            DisputeError::Busy(id) => {
                ApiError::unavailable(format!("dispute {id} is being changed by others; try again"))
            }
            DisputeError::Store(s) => s.into(),
            DisputeError::BadEvent(m) => ApiError::bad_request(m),
        }
    }
}
