//! The webhook counters a transaction contributes to its days' KPI items (`dimension` =
//! `WEBHOOKS#{shard}`): payments by status and amount on the capture day, refunds deducted and waiting
//! on the refund day, file conflicts on the capture day. A change moves each counter by the
//! difference between the state before and after, so redelivery moves nothing.

use crate::txn_state::{RefundStatus, TxnState};
use std::collections::BTreeMap;

pub const DIMENSION: &str = "WEBHOOKS";

/// A day's counters are spread over this many items (`WEBHOOKS#0` … `WEBHOOKS#7`, by the
/// transaction's id): each change updates its item inside its transaction, and transactions on
/// one item conflict — one item a day would make every webhook of the day wait its turn.
pub const SHARDS: u32 = 8;

/// The KPI dimension of a transaction's counters.
pub fn dimension_of(txn_id: &str) -> String {
    let h = txn_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("{DIMENSION}#{}", h % SHARDS)
}

/// Every shard's dimension, for readers.
pub fn dimensions() -> Vec<String> {
    (0..SHARDS).map(|s| format!("{DIMENSION}#{s}")).collect()
}

/// Every counter's name, as the overview reads them.
pub const COUNTERS: [&str; 9] = [
    "captured_n",
    "captured_paise",
    "failed_n",
    "refunds_n",
    "refunds_paise",
    "refunds_waiting_n",
    "refunds_refused_n",
    "refunds_reversed_n",
    "conflicts_n",
];

/// (IST day, counter) → value for one state.
pub fn contribution(state: &TxnState) -> BTreeMap<(String, &'static str), i64> {
    let mut out = BTreeMap::new();
    let mut add = |day: String, counter: &'static str, v: i64| *out.entry((day, counter)).or_insert(0) += v;
    if let Some(p) = &state.payment {
        let day = p.data.capture_day().to_string();
        if p.data.is_captured() {
            add(day.clone(), "captured_n", 1);
            add(day.clone(), "captured_paise", p.data.amount_paise);
        } else {
            add(day.clone(), "failed_n", 1);
        }
        if state.file.as_ref().is_some_and(|f| !f.differences.is_empty()) {
            add(day, "conflicts_n", 1);
        }
    }
    for r in state.refunds.values() {
        let day = r.data.refunded_on().to_string();
        match (r.deducted_paise, r.status) {
            (Some(_), RefundStatus::Reversed) => add(day, "refunds_reversed_n", 1),
            (Some(d), _) => {
                add(day.clone(), "refunds_n", 1);
                add(day, "refunds_paise", d);
            }
            (None, RefundStatus::AwaitingPayment) => add(day, "refunds_waiting_n", 1),
            // Ops' to look at: the PG refunded past the payment.
            (None, RefundStatus::Refused) => add(day, "refunds_refused_n", 1),
            (None, _) => {}
        }
    }
    out
}

/// What to add to each counter to go from `before` to `after` (zero moves left out).
pub fn delta(before: &TxnState, after: &TxnState) -> BTreeMap<(String, &'static str), i64> {
    let mut out = contribution(after);
    for (k, v) in contribution(before) {
        *out.entry(k).or_insert(0) -= v;
    }
    out.retain(|_, v| *v != 0);
    out
}

/// The overview's figures from the days' `WEBHOOKS#…` items, every shard (counter → sum).
pub fn figures(days: &[BTreeMap<String, i64>]) -> serde_json::Value {
    let mut sum: BTreeMap<&str, i64> = COUNTERS.iter().map(|c| (*c, 0)).collect();
    for d in days {
        for c in COUNTERS {
            if let Some(v) = d.get(c) {
                let s = sum.get_mut(c).expect("every counter is in the map");
                *s = s.saturating_add(*v);
            }
        }
    }
    serde_json::json!({
        "capturedCount": sum["captured_n"],
        "capturedAmountPaise": sum["captured_paise"],
        "failedCount": sum["failed_n"],
        "refundsDeductedCount": sum["refunds_n"],
        "refundsDeductedPaise": sum["refunds_paise"],
        "refundsAwaitingPaymentCount": sum["refunds_waiting_n"],
        "refundsRefusedCount": sum["refunds_refused_n"],
        "refundsReversedCount": sum["refunds_reversed_n"],
        "fileConflictCount": sum["conflicts_n"],
    })
}
