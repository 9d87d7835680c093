//! Refunds never add up to more than their payment: the ones a merchant's batches deducted count
//! first, then the others oldest first; one that would pass the payment is not deducted, and is
//! reported for ops. Decided against the ledger, so a late file with an older refund cannot make
//! an earlier, deducted one look like the excess.

use crate::cycle::{Carried, Inputs, Ledger};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::money::Paise;
use std::collections::BTreeMap;

/// The inputs without refunds beyond their payments, and those refunds as carried entries.
pub fn within_payments(inputs: &Inputs, ledger: &Ledger, merchant_id: &str, day: Date) -> (Inputs, Vec<Carried>) {
    let paid: BTreeMap<&str, i64> = inputs.payments.iter().map(|p| (p.txn_id.as_str(), p.amount.0)).collect();
    let mut refunded: BTreeMap<&str, i64> = BTreeMap::new();
    for r in inputs.refunds.iter().filter(|r| ledger.refunds.contains_key(&r.refund_id)) {
        *refunded.entry(r.txn_id.as_str()).or_default() += r.amount.0;
    }
    let mut pending: Vec<_> = inputs.refunds.iter().filter(|r| !ledger.refunds.contains_key(&r.refund_id)).collect();
    pending.sort_by(|a, b| (a.refunded_on, &a.refund_id).cmp(&(b.refunded_on, &b.refund_id)));
    let (mut kept, mut problems) = (Vec::new(), Vec::new());
    for r in inputs.refunds.iter().filter(|r| ledger.refunds.contains_key(&r.refund_id)) {
        kept.push(r.clone());
    }
    for r in pending {
        let total = refunded.entry(r.txn_id.as_str()).or_default();
        let after = total.saturating_add(r.amount.0);
        if paid.get(r.txn_id.as_str()).is_some_and(|p| after > *p) {
            problems.push(Carried {
                merchant_id: merchant_id.to_string(),
                cycle_date: day,
                reason: format!(
                    "refund {} of {}: refunds would add up to {after} paise, more than the payment; not deducted",
                    r.refund_id, r.txn_id
                ),
                net: Paise(-r.amount.0),
            });
            continue;
        }
        *total = after;
        kept.push(r.clone());
    }
    (Inputs { refunds: kept, ..inputs.clone() }, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle::{Payment, Refund};
    use settlepaisa_recon::pg_file::Method;

    #[test]
    fn a_deducted_refund_counts_first_and_a_late_older_one_is_the_excess() {
        let d = |s: &str| Date::parse_iso(s).unwrap();
        let refund = |id: &str, on: &str| Refund {
            refund_id: id.into(),
            txn_id: "T1".into(),
            amount: Paise(600),
            refunded_on: d(on),
        };
        let inputs = Inputs {
            payments: vec![Payment {
                txn_id: "T1".into(),
                merchant_id: "M1".into(),
                method: Method::Upi,
                amount: Paise(1_000),
                captured_on: d("2026-10-01"),
            }],
            refunds: vec![refund("R1", "2026-10-05"), refund("R0", "2026-10-03")],
            ..Inputs::default()
        };
        let mut ledger = Ledger::default();
        // Before any batch: the older one first.
        let (kept, problems) = within_payments(&inputs, &ledger, "M1", d("2026-10-06"));
        assert_eq!(kept.refunds.iter().map(|r| r.refund_id.as_str()).collect::<Vec<_>>(), ["R0"]);
        assert!(problems[0].reason.contains("R1"));
        // R1 was deducted by a batch already: R0, arriving late, is the excess.
        ledger.refunds.insert("R1".into(), "STL-M1-20261006".into());
        let (kept, problems) = within_payments(&inputs, &ledger, "M1", d("2026-10-08"));
        assert_eq!(kept.refunds.iter().map(|r| r.refund_id.as_str()).collect::<Vec<_>>(), ["R1"]);
        assert!(problems[0].reason.contains("R0"), "{problems:?}");
    }
}
