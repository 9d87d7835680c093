//! Where one captured transaction stands on its way to its merchant (issue 15 §5: each unsettled
//! captured transaction carries its age, deadline and exposure), decided from the merchant's
//! ledger (which batch took its payment) and that batch's status. Plain data, no AWS types.
//!
//! - `unsettled`: no batch has taken it (or the batch that did failed);
//! - `in_settlement`, `sent_to_bank`: a batch took it and the money has not reached the merchant;
//! - `credited`: the bank confirmed the batch's payout;
//! - `unknown`: captured before the ledger's horizon and not in it — what batches before the
//!   horizon took is forgotten (`Ledger::prune`), so the ledger cannot say.
//!
//! Until credited, the transaction ages as a merchant payment (T+5).

use crate::aging::{age, Aging, Tat};
use crate::calendar::Calendar;
use crate::cycle::Ledger;
use crate::payout_response::BatchStatus;
use serde::Serialize;
use settlepaisa_recon::date::Date;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Unsettled,
    InSettlement,
    SentToBank,
    Credited,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TxnSettlement {
    pub stage: Stage,
    /// The batch that took the payment.
    pub settlement_id: Option<String>,
    /// Until credited (and when the stage is known): the RBI turnaround aging.
    pub aging: Option<Aging>,
}

/// The stage on `today` of captured transaction `txn_id` of day `captured_on`, given its
/// merchant's ledger (none before the merchant's first batch) and the statuses of batches
/// (`None`: not read yet — the ledger and its batch are committed together, so the batch is
/// only not visible yet, and counts as made).
pub fn stage(
    txn_id: &str,
    captured_on: Date,
    ledger: Option<&Ledger>,
    batch_status: impl Fn(&str) -> Option<BatchStatus>,
    today: Date,
    calendar: &Calendar,
) -> TxnSettlement {
    let batch = ledger.and_then(|l| l.payments.get(txn_id));
    let stage = match batch.map(|b| batch_status(b)) {
        Some(Some(BatchStatus::PendingPayout) | None) => Stage::InSettlement,
        Some(Some(BatchStatus::SentToBank)) => Stage::SentToBank,
        Some(Some(BatchStatus::Credited)) => Stage::Credited,
        Some(Some(BatchStatus::Failed)) => Stage::Unsettled,
        None => {
            let forgotten = ledger.and_then(|l| l.horizon).is_some_and(|h| captured_on < h);
            let reopened = ledger.is_some_and(|l| l.reopened.contains(&format!("P:{txn_id}")));
            if forgotten && !reopened {
                Stage::Unknown
            } else {
                Stage::Unsettled
            }
        }
    };
    let settlement_id = batch.filter(|_| stage != Stage::Unsettled).cloned();
    let aging = match stage {
        Stage::Credited | Stage::Unknown => None,
        _ => Some(age(captured_on, Tat::MerchantPayment, today, calendar, 1)),
    };
    TxnSettlement { stage, settlement_id, aging }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    fn ledger() -> Ledger {
        let mut l = Ledger::default();
        for (txn, batch) in [("T1", "STL-M1-20261105"), ("T2", "STL-M1-20261106"), ("T3", "STL-M1-20261109")] {
            l.payments.insert(txn.into(), batch.into());
        }
        l.horizon = Some(d("2026-10-01"));
        l.reopened.insert("P:T9".into());
        l
    }

    fn status(batch: &str) -> Option<BatchStatus> {
        match batch {
            "STL-M1-20261105" => Some(BatchStatus::Credited),
            "STL-M1-20261106" => Some(BatchStatus::SentToBank),
            _ => None,
        }
    }

    #[test]
    fn each_stage_from_the_ledger_and_its_batch() {
        let (cal, today, t) = (Calendar::new([]), d("2026-11-16"), d("2026-11-04"));
        let l = ledger();
        let of = |txn: &str, on: Date| stage(txn, on, Some(&l), status, today, &cal);
        let credited = of("T1", t);
        assert_eq!((credited.stage, credited.aging), (Stage::Credited, None), "paid: nothing owed");
        assert_eq!(credited.settlement_id.as_deref(), Some("STL-M1-20261105"));
        let sent = of("T2", t);
        assert_eq!(sent.stage, Stage::SentToBank);
        // T+5 from the 4th: due the 9th, seven days late on the 16th.
        let a = sent.aging.unwrap();
        assert_eq!((a.deadline, a.overdue_days, a.exposure_paise), (d("2026-11-09"), 7, 70_000));
        assert_eq!(of("T3", t).stage, Stage::InSettlement, "batch not visible yet: made with the ledger");
        let none = of("T4", t);
        assert_eq!((none.stage, none.settlement_id.as_deref()), (Stage::Unsettled, None));
        assert_eq!(none.aging.unwrap().exposure_paise, 70_000);
        // Before the horizon the ledger forgot; a payment a failed batch gave back is known.
        assert_eq!(of("T5", d("2026-09-30")).stage, Stage::Unknown);
        assert_eq!(of("T5", d("2026-09-30")).aging, None);
        assert_eq!(of("T9", d("2026-09-30")).stage, Stage::Unsettled);
        // No ledger yet: nothing was ever paid to the merchant.
        assert_eq!(stage("T1", t, None, status, today, &cal).stage, Stage::Unsettled);
        // A failed batch's payment is unsettled again.
        let failed = stage("T1", t, Some(&l), |_| Some(BatchStatus::Failed), today, &cal);
        assert_eq!((failed.stage, failed.settlement_id), (Stage::Unsettled, None));
    }
}
