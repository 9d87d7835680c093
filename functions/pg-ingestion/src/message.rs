//! The events queue's messages: a verified delivery, as received (the body's exact bytes as
//! text: an event is JSON, so UTF-8), or a PG export's rows that webhooks also reported, for
//! noting (sent by the file's claim step: `settlepaisa_store::pg_event_notes`).

use serde::{Deserialize, Serialize};
use settlepaisa_pg_events::file_check::FileRow;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook_id: String,
    /// Unix seconds when `receive-pg-webhook` accepted it.
    pub received_at: i64,
    pub body: String,
}

/// Rows of one export whose ids webhook rows also hold
/// (`settlepaisa_store::pg_event_notes::note_messages` writes them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRows {
    pub file_rows: Vec<(String, FileRow)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Message {
    Delivery(Delivery),
    FileRows(FileRows),
}
