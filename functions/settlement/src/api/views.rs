//! How settlements and merchants look in the API (camelCase; money in integer paise; accounts
//! masked: the payout file is the one place the full number goes).

use serde_json::{json, Value};
use settlepaisa_payout::merchant::Merchant;
use settlepaisa_store::settlements::BatchRecord;

/// A batch with every amount of the formula:
/// net = gross − fees − GST − refunds + adjustments − reserve withheld + reserve released.
pub fn batch(b: &BatchRecord) -> Value {
    let t = &b.totals;
    json!({
        "settlementId": b.settlement_id,
        "merchantId": b.merchant_id,
        "cycleDate": b.cycle_date,
        "status": b.status.as_str(),
        "onDemand": b.on_demand,
        "txns": t.txns,
        "grossPaise": t.gross.0,
        "feePaise": t.fees.0,
        "gstPaise": t.gst.0,
        "refundPaise": t.refunds.0,
        "adjustmentPaise": t.adjustments.0,
        "reserveWithheldPaise": t.reserve_withheld.0,
        "reserveReleasedPaise": t.reserve_released.0,
        "netPaise": t.net.0,
        "utr": b.utr,
        "failureReason": b.failure_reason,
        "payoutBank": b.payout_bank,
        "createdAt": b.created_at,
        "updatedAt": b.updated_at,
    })
}

/// A batch line (`settlement_lines.csv`'s columns).
pub fn line(fields: &[&str]) -> Value {
    let n = |i: usize| fields.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    json!({
        "kind": fields.get(1).copied().unwrap_or(""),
        "ref": fields.get(2).copied().unwrap_or(""),
        "amountPaise": n(3),
        "feePaise": n(4),
        "gstPaise": n(5),
    })
}

pub fn merchant(m: &Merchant) -> Value {
    json!({
        "merchantId": m.merchant_id,
        "name": m.name,
        "status": m.status.as_str(),
        "settlementDays": m.settlement_days,
        "minPayoutPaise": m.min_payout.0,
        "reserveBps": m.reserve_bps,
        "reserveHoldDays": m.reserve_hold_days,
        "mdrBps": { "UPI": m.mdr_bps[0], "CARD": m.mdr_bps[1], "NETBANKING": m.mdr_bps[2], "WALLET": m.mdr_bps[3] },
        "gstBps": m.gst_bps,
        "ifsc": m.ifsc,
        "accountNumber": m.masked_account(),
        "beneficiary": m.beneficiary,
    })
}
