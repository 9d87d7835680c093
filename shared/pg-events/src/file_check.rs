//! A PG file export's row against the webhooks' view of the same transaction. Every field that
//! differs is a conflict for ops; neither side is overwritten (the file stays what reconciliation
//! and settlement use, the webhooks' state stays what the PG said live).

use crate::event::Payment;
use serde::{Deserialize, Serialize};
use settlepaisa_recon::utr::find_utr;

/// The file's row, as the transaction pages hold it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRow {
    pub file_id: String,
    pub merchant_id: String,
    pub merchant_ref: String,
    pub method: String,
    pub amount_paise: i64,
    pub status: String,
    pub utr: Option<String>,
    pub captured_secs: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub field: String,
    pub file: String,
    pub webhook: String,
}

/// The fields on which `file` and the webhooks' `payment` disagree, in a fixed order.
pub fn differences(payment: &Payment, file: &FileRow) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut check = |field: &str, file: String, webhook: String| {
        if file != webhook {
            out.push(Difference { field: field.to_string(), file, webhook });
        }
    };
    check("status", file.status.clone(), payment.status.clone());
    check("amount_paise", file.amount_paise.to_string(), payment.amount_paise.to_string());
    check("merchant_id", file.merchant_id.clone(), payment.merchant_id.clone());
    check("method", file.method.clone(), payment.method.as_str().to_string());
    // UTRs by what they are (a zero-padded RRN is the RRN), not by their spelling.
    let utr = |u: Option<&str>| u.and_then(find_utr).map(|u| u.to_string()).unwrap_or_default();
    check("utr", utr(file.utr.as_deref()), utr(payment.utr.as_deref()));
    check(
        "captured_at",
        settlepaisa_recon::date::format_utc(file.captured_secs),
        settlepaisa_recon::date::format_utc(payment.captured_secs()),
    );
    check("merchant_ref", file.merchant_ref.clone(), payment.merchant_ref.clone());
    out
}
