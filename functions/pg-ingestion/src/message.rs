//! The events queue's message: a verified delivery, as received (the body's exact bytes as text:
//! an event is JSON, so UTF-8).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook_id: String,
    /// Unix seconds when `receive-pg-webhook` accepted it.
    pub received_at: i64,
    pub body: String,
}
