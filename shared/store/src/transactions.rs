//! The transactions table: one item per counted PG transaction, spread over day buckets.

use settlepaisa_aws::dynamo::{nv, sv, Item};
use settlepaisa_recon::pg_file::PgTxn;

/// Transactions are spread over 16 buckets per day in the by-day index, so a busy day's writes do
/// not all land on one partition key.
pub const DAY_BUCKETS: u32 = 16;

pub fn transaction_item(t: &PgTxn<'_>) -> Item {
    let bucket = t.txn_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % DAY_BUCKETS;
    let mut item = Item::new();
    item.insert("txn_id".into(), sv(t.txn_id));
    item.insert("merchant_id".into(), sv(t.merchant_id));
    if !t.merchant_ref.is_empty() {
        item.insert("merchant_ref".into(), sv(t.merchant_ref));
    }
    item.insert("method".into(), sv(t.method.as_str()));
    item.insert("amount_paise".into(), nv(t.amount.0));
    item.insert("status".into(), sv(t.status));
    if let Some(u) = t.utr {
        item.insert("utr".into(), sv(u.to_string()));
    }
    item.insert("captured_at".into(), nv(t.captured_at));
    item.insert("capture_date".into(), sv(t.date.to_string()));
    item.insert("day_bucket".into(), sv(format!("{}#{bucket:02}", t.date)));
    item
}
