//! The settlement window: a run reads inputs dated within the last N days, and a merchant's
//! ledger forgets batches older than that. What left the window without being settled is not
//! paid silently late or lost silently: it is reported, as it leaves, for ops to settle by a
//! manual adjustment.

use crate::cycle::{Carried, Inputs, Ledger};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::money::Paise;

/// Days before the window a run still reads to report what left it unsettled: the days between
/// two runs (weekends, holidays) all get their report.
pub const AGED_LOOKBACK_DAYS: i32 = 7;

/// What is dated before `window_start` and no batch the ledger remembers took: left unsettled.
/// Read before the ledger is pruned to `window_start`.
pub fn aged_out(ledger: &Ledger, inputs: &Inputs, merchant_id: &str, day: Date, window_start: Date) -> Vec<Carried> {
    let old = |d: Date| d < window_start && ledger.horizon.is_none_or(|h| d >= h);
    let carried = |what: String, on: Date, amount: i64| Carried {
        merchant_id: merchant_id.to_string(),
        cycle_date: day,
        reason: format!("{what} of {on} left the settlement window unsettled: settle it by a manual adjustment"),
        net: Paise(amount),
    };
    let mut out = Vec::new();
    for p in inputs.payments.iter().filter(|p| old(p.captured_on) && !ledger.payments.contains_key(&p.txn_id)) {
        out.push(carried(format!("payment {}", p.txn_id), p.captured_on, p.amount.0));
    }
    for r in inputs.refunds.iter().filter(|r| old(r.refunded_on) && !ledger.refunds.contains_key(&r.refund_id)) {
        out.push(carried(format!("refund {}", r.refund_id), r.refunded_on, -r.amount.0));
    }
    for a in
        inputs.adjustments.iter().filter(|a| old(a.effective_on) && !ledger.adjustments.contains_key(&a.adjustment_id))
    {
        out.push(carried(format!("adjustment {}", a.adjustment_id), a.effective_on, a.amount.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cycle::{Payment, Refund};
    use settlepaisa_recon::pg_file::Method;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    fn inputs() -> Inputs {
        let pay = |id: &str, on: &str| Payment {
            txn_id: id.into(),
            merchant_id: "M1".into(),
            method: Method::Upi,
            amount: Paise(1_000),
            captured_on: d(on),
        };
        Inputs {
            payments: vec![pay("OLD-PAID", "2026-10-10"), pay("OLD-UNPAID", "2026-10-11"), pay("NEW", "2026-10-20")],
            refunds: vec![Refund {
                refund_id: "RF1".into(),
                txn_id: "NEW".into(),
                amount: Paise(100),
                refunded_on: d("2026-10-12"),
            }],
            ..Inputs::default()
        }
    }

    #[test]
    fn what_left_the_window_unpaid_is_reported_and_never_settled() {
        let mut ledger = Ledger::default();
        ledger.payments.insert("OLD-PAID".into(), "STL-M1-20261012".into());
        let aged = aged_out(&ledger, &inputs(), "M1", d("2026-11-30"), d("2026-10-15"));
        let named: Vec<&str> = aged.iter().map(|c| c.reason.split(' ').nth(1).unwrap()).collect();
        assert_eq!(named, ["OLD-UNPAID", "RF1"]);
        assert_eq!(aged[1].net, Paise(-100));
        // Before the horizon: reported when it left, not again.
        ledger.horizon = Some(d("2026-10-12"));
        let aged = aged_out(&ledger, &inputs(), "M1", d("2026-12-01"), d("2026-10-16"));
        assert_eq!(aged.len(), 1, "only the refund of the 12th: {aged:?}");
    }
}
