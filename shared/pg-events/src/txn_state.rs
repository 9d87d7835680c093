//! What one transaction's webhook events add up to, the same whatever order they arrive in and
//! however often each is delivered:
//! - its payment is the latest payment event by `created_at`, ties by event id;
//! - each refund is its own record, its outcome the latest of its events, and it is deducted from
//!   the merchant once — only when its payment is captured and the refunds deducted stay within
//!   the payment's amount. A refund that comes first waits for its payment;
//! - once a PG file export holds the transaction, the two are compared and every difference is
//!   kept for ops ([`crate::file_check`]); neither side overwrites the other.

use crate::event::{Data, Event, Kind, Payment, Refund};
use crate::file_check::{differences, Difference, FileRow};
use crate::instant::Instant;
use serde::{Deserialize, Serialize};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::money::Paise;
use std::collections::BTreeMap;

/// Refund records a transaction may hold: partial refunds are a handful; more is a PG bug, and
/// the state must stay one small item.
pub const MAX_REFUNDS: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentFact {
    pub event_id: String,
    pub created: Instant,
    pub created_at: String,
    pub data: Payment,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Processed, but its payment is not (yet) known captured: nothing deducted.
    AwaitingPayment,
    /// Deducted from the merchant's next settlement.
    Deducted,
    /// The PG says it failed; nothing deducted.
    Failed,
    /// Processed, but with the refunds already deducted it would pass the payment's amount.
    Refused,
    /// Deducted, then the PG said it failed: given back to the merchant (a `refund_reversal`
    /// adjustment), once. Final: a later `processed` does not deduct it again.
    Reversed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRecord {
    pub event_id: String,
    pub created: Instant,
    pub processed: bool,
    pub data: Refund,
    pub status: RefundStatus,
    /// What was deducted and the IST date it counts on, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deducted_paise: Option<i64>,
    /// The deduction given back (the refund failed after it), once.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reversed: bool,
}

/// The PG export's row of this transaction, once a file holds its id, and how it differs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileNote {
    pub row: FileRow,
    pub differences: Vec<Difference>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnState {
    pub txn_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentFact>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refunds: BTreeMap<String, RefundRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileNote>,
}

/// A refund to take from the merchant's settlement (the settlement engine's `Refund`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deduction {
    pub refund_id: String,
    pub txn_id: String,
    pub merchant_id: String,
    pub amount: Paise,
    pub refunded_on: Date,
}

/// A deduction given back: the PG reported the refund failed after it was deducted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reversal {
    pub refund_id: String,
    pub txn_id: String,
    pub merchant_id: String,
    pub amount: Paise,
    /// The IST date of the failure's event.
    pub on: Date,
}

/// What an event or a file note did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub state: TxnState,
    pub changed: bool,
    /// Refunds that became deductions with this change (each refund id once, ever).
    pub deductions: Vec<Deduction>,
    /// Deductions given back with this change (each refund id once, ever).
    pub reversals: Vec<Reversal>,
}

/// Why an event cannot apply to this state (the event is dropped, and said why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    OtherTransaction,
    TooManyRefunds,
}

impl TxnState {
    pub fn new(txn_id: &str) -> TxnState {
        TxnState { txn_id: txn_id.to_string(), ..TxnState::default() }
    }

    /// The payment, when its latest event says captured.
    pub fn captured(&self) -> Option<&Payment> {
        self.payment.as_ref().map(|p| &p.data).filter(|p| p.is_captured())
    }

    /// The refunds deducted and not given back, in paise (each ≤ the payment, at most
    /// [`MAX_REFUNDS`]: no overflow).
    pub fn refunded(&self) -> i64 {
        self.refunds.values().filter(|r| !r.reversed).filter_map(|r| r.deducted_paise).sum()
    }
}

/// The state after `event`.
pub fn apply(state: &TxnState, event: &Event) -> Result<Applied, Refused> {
    if event.txn_id() != state.txn_id {
        return Err(Refused::OtherTransaction);
    }
    let mut next = state.clone();
    match &event.data {
        Data::Payment(p) => {
            let newer = next.payment.as_ref().is_none_or(|cur| (cur.created, cur.event_id.as_str()) < event.order());
            if newer {
                next.payment = Some(PaymentFact {
                    event_id: event.id.clone(),
                    created: event.created,
                    created_at: event.created_at.clone(),
                    data: p.clone(),
                });
            }
        }
        Data::Refund(r) => match next.refunds.get_mut(&r.refund_id) {
            Some(cur) => {
                if (cur.created, cur.event_id.as_str()) < event.order() {
                    cur.event_id = event.id.clone();
                    cur.created = event.created;
                    cur.processed = event.kind == Kind::RefundProcessed;
                    cur.data = r.clone();
                }
            }
            None => {
                if next.refunds.len() >= MAX_REFUNDS {
                    return Err(Refused::TooManyRefunds);
                }
                next.refunds.insert(
                    r.refund_id.clone(),
                    RefundRecord {
                        event_id: event.id.clone(),
                        created: event.created,
                        processed: event.kind == Kind::RefundProcessed,
                        data: r.clone(),
                        status: RefundStatus::AwaitingPayment,
                        deducted_paise: None,
                        reversed: false,
                    },
                );
            }
        },
    }
    Ok(settle(state, next))
}

/// The state once a PG file export holds the transaction with `row` (again: the same note).
pub fn note_file(state: &TxnState, row: &FileRow) -> Applied {
    let mut next = state.clone();
    next.file = Some(FileNote { row: row.clone(), differences: Vec::new() });
    settle(state, next)
}

/// Decides every refund not yet deducted, in refund time order, and compares with the file.
fn settle(before: &TxnState, mut next: TxnState) -> Applied {
    let captured = next.captured().cloned();
    let mut room = captured.as_ref().map_or(0, |p| p.amount_paise - next.refunded());
    let mut order: Vec<(i64, String)> = next
        .refunds
        .values()
        .map(|r| (settlepaisa_recon::date::parse_rfc3339(&r.data.refunded_at).unwrap_or(0), r.data.refund_id.clone()))
        .collect();
    order.sort();
    let mut deductions = Vec::new();
    let mut reversals = Vec::new();
    let merchant = next.payment.as_ref().map(|p| p.data.merchant_id.clone()).unwrap_or_default();
    for (_, id) in order {
        let Some(r) = next.refunds.get_mut(&id) else { continue };
        r.status = match (r.processed, r.deducted_paise, r.reversed) {
            (_, Some(_), true) => RefundStatus::Reversed,
            (false, Some(amount), false) => {
                r.reversed = true;
                reversals.push(Reversal {
                    refund_id: id.clone(),
                    txn_id: next.txn_id.clone(),
                    merchant_id: merchant.clone(),
                    amount: Paise(amount),
                    on: settlepaisa_recon::date::ist_date(r.created.secs),
                });
                RefundStatus::Reversed
            }
            (false, None, _) => RefundStatus::Failed,
            (true, Some(_), false) => RefundStatus::Deducted,
            (true, None, _) => match &captured {
                None => RefundStatus::AwaitingPayment,
                Some(_) if r.data.amount_paise > room => RefundStatus::Refused,
                Some(p) => {
                    room -= r.data.amount_paise;
                    r.deducted_paise = Some(r.data.amount_paise);
                    deductions.push(Deduction {
                        refund_id: id.clone(),
                        txn_id: next.txn_id.clone(),
                        merchant_id: p.merchant_id.clone(),
                        amount: Paise(r.data.amount_paise),
                        refunded_on: r.data.refunded_on(),
                    });
                    RefundStatus::Deducted
                }
            },
        };
    }
    if let Some(note) = &mut next.file {
        note.differences = match &next.payment {
            Some(p) => differences(&p.data, &note.row),
            None => Vec::new(),
        };
    }
    let changed = next != *before;
    Applied { state: next, changed, deductions, reversals }
}
