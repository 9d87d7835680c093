//! The cycle's scenarios (issue 12 §5) and its properties: money conserved to the paisa, every
//! payment, refund and adjustment in one batch at most, input order irrelevant, a day run twice
//! making nothing twice.

use crate::calendar::Calendar;
use crate::cycle::*;
use crate::merchant::{Merchant, MerchantStatus};
use proptest::prelude::*;
use settlepaisa_recon::date::Date;
use settlepaisa_recon::money::Paise;
use settlepaisa_recon::pg_file::Method;

fn d(s: &str) -> Date {
    Date::parse_iso(s).unwrap()
}

fn merchant(id: &str, days: u32) -> Merchant {
    Merchant {
        merchant_id: id.into(),
        name: id.into(),
        status: MerchantStatus::Active,
        settlement_days: days,
        min_payout: Paise(0),
        reserve_bps: 0,
        reserve_hold_days: 0,
        mdr_bps: [0, 200, 190, 190],
        gst_bps: 1800,
        ifsc: "HDFC0001234".into(),
        account_number: "001234567890".into(),
        beneficiary: id.into(),
    }
}

fn pay(id: &str, m: &str, method: Method, amount: i64, on: &str) -> Payment {
    Payment { txn_id: id.into(), merchant_id: m.into(), method, amount: Paise(amount), captured_on: d(on) }
}

#[test]
fn t_plus_1_over_a_weekend_and_a_second_saturday_pays_on_the_next_business_day_with_fees_and_gst() {
    let cal = Calendar::default();
    let ms = [merchant("M1", 1)];
    // Friday 9 Oct 2026; Saturday 10 is the 2nd Saturday, Sunday 11: due Monday 12.
    let inputs = Inputs {
        payments: vec![
            pay("T1", "M1", Method::Card, 100_000, "2026-10-09"),
            pay("T2", "M1", Method::Upi, 5_000, "2026-10-09"),
        ],
        ..Inputs::default()
    };
    let mut ledger = Ledger::default();
    let out = run_days(d("2026-10-09"), d("2026-10-11"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert!(out.batches.is_empty() && out.carried.is_empty(), "not due before Monday: {out:?}");
    let out = run_day(d("2026-10-12"), &cal, &ms, &inputs, &mut ledger).unwrap();
    let b = &out.batches[0];
    assert_eq!(b.settlement_id, "STL-M1-20261012");
    // Card 2 %: fee 2,000, GST 18 % of it 360; UPI 0 %.
    let t = b.totals;
    assert_eq!((t.txns, t.gross, t.fees, t.gst, t.net), (2, Paise(105_000), Paise(2_000), Paise(360), Paise(102_640)));
    // A second run of the day makes nothing more.
    let again = run_day(d("2026-10-12"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(again, DayOutcome::default());
}

#[test]
fn a_holiday_moves_the_due_date_and_is_not_a_cycle_day() {
    let cal = Calendar::parse("2026-10-12\n").unwrap();
    let ms = [merchant("M1", 1)];
    let inputs = Inputs { payments: vec![pay("T1", "M1", Method::Upi, 5_000, "2026-10-09")], ..Inputs::default() };
    let mut ledger = Ledger::default();
    assert_eq!(
        run_day(d("2026-10-12"), &cal, &ms, &inputs, &mut ledger),
        Err(CycleError::NotABusinessDay(d("2026-10-12")))
    );
    let out = run_days(d("2026-10-09"), d("2026-10-13"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(out.batches.len(), 1);
    assert_eq!(out.batches[0].cycle_date, d("2026-10-13"));
}

#[test]
fn a_merchant_on_hold_carries_forward_and_is_paid_once_released() {
    let cal = Calendar::default();
    let mut ms = [merchant("M1", 1)];
    ms[0].status = MerchantStatus::OnHold;
    let inputs = Inputs { payments: vec![pay("T1", "M1", Method::Upi, 5_000, "2026-10-05")], ..Inputs::default() };
    let mut ledger = Ledger::default();
    let out = run_day(d("2026-10-06"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert!(out.batches.is_empty());
    assert_eq!(out.carried[0].reason, "merchant is ON_HOLD");
    ms[0].status = MerchantStatus::Active;
    let out = run_day(d("2026-10-07"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(out.batches[0].totals.net, Paise(5_000));
}

#[test]
fn a_refund_larger_than_the_days_gross_carries_forward_until_payments_cover_it() {
    let cal = Calendar::default();
    let ms = [merchant("M1", 1)];
    let inputs = Inputs {
        payments: vec![
            pay("T1", "M1", Method::Upi, 10_000, "2026-10-01"),
            pay("T2", "M1", Method::Upi, 3_000, "2026-10-05"),
            pay("T3", "M1", Method::Upi, 20_000, "2026-10-06"),
        ],
        refunds: vec![Refund {
            refund_id: "R1".into(),
            txn_id: "T1".into(),
            amount: Paise(10_000),
            refunded_on: d("2026-10-05"),
        }],
        ..Inputs::default()
    };
    let mut ledger = Ledger::default();
    // T1 paid on Friday 2 Oct; its refund on Monday 5 is larger than Tuesday's gross (T2).
    let out = run_days(d("2026-10-02"), d("2026-10-06"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(out.batches.len(), 1);
    let carried: Vec<(Date, Paise)> = out.carried.iter().map(|c| (c.cycle_date, c.net)).collect();
    assert_eq!(carried, [(d("2026-10-05"), Paise(-10_000)), (d("2026-10-06"), Paise(-7_000))]);
    let out = run_day(d("2026-10-07"), &cal, &ms, &inputs, &mut ledger).unwrap();
    let t = out.batches[0].totals;
    assert_eq!((t.txns, t.gross, t.refunds, t.net), (2, Paise(23_000), Paise(10_000), Paise(13_000)));
}

#[test]
fn reserve_is_withheld_and_released_after_its_hold_and_a_minimum_payout_waits() {
    let cal = Calendar::default();
    let mut ms = [merchant("M1", 0)];
    ms[0].reserve_bps = 1_000;
    ms[0].reserve_hold_days = 7;
    ms[0].min_payout = Paise(5_000);
    let inputs = Inputs {
        payments: vec![
            pay("T1", "M1", Method::Upi, 100_005, "2026-10-05"),
            pay("T2", "M1", Method::Upi, 1_000, "2026-10-06"),
        ],
        ..Inputs::default()
    };
    let mut ledger = Ledger::default();
    let out = run_day(d("2026-10-05"), &cal, &ms, &inputs, &mut ledger).unwrap();
    // 10 % of 100,005 = 10,000.5: rounds half up to 10,001.
    assert_eq!(out.batches[0].totals.reserve_withheld, Paise(10_001));
    assert_eq!(out.batches[0].totals.net, Paise(90_004));
    let out = run_day(d("2026-10-06"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(out.carried[0].reason, "net is below the minimum payout of 5000 paise");
    // Released on 12 Oct (5 + 7), with T2 still waiting.
    let out = run_days(d("2026-10-07"), d("2026-10-12"), &cal, &ms, &inputs, &mut ledger).unwrap();
    let last = out.batches.last().unwrap();
    assert_eq!(last.cycle_date, d("2026-10-12"));
    assert_eq!(
        (last.totals.reserve_released, last.totals.reserve_withheld, last.totals.net),
        (Paise(10_001), Paise(100), Paise(10_901))
    );
}

#[test]
fn adjustments_apply_once_on_or_after_their_date() {
    let cal = Calendar::default();
    let ms = [merchant("M1", 1)];
    let adj = |id: &str, kind, amount, on: &str| Adjustment {
        adjustment_id: id.into(),
        merchant_id: "M1".into(),
        kind,
        amount: Paise(amount),
        effective_on: d(on),
        reference: "DSP-1".into(),
    };
    let inputs = Inputs {
        payments: vec![pay("T1", "M1", Method::Upi, 50_000, "2026-10-05")],
        adjustments: vec![
            adj("A1", AdjustmentKind::ChargebackDebit, -20_000, "2026-10-05"),
            adj("A2", AdjustmentKind::ChargebackReversal, 20_000, "2026-10-08"),
        ],
        ..Inputs::default()
    };
    let mut ledger = Ledger::default();
    let out = run_days(d("2026-10-06"), d("2026-10-08"), &cal, &ms, &inputs, &mut ledger).unwrap();
    let nets: Vec<i64> = out.batches.iter().map(|b| b.totals.net.0).collect();
    assert_eq!(nets, [30_000, 20_000]);
}

// ---------- properties ----------

#[derive(Clone, Debug)]
struct World {
    merchants: Vec<Merchant>,
    inputs: Inputs,
}

fn world() -> impl Strategy<Value = World> {
    let merchants = prop::collection::vec((0u32..3, 0i64..20_000, 0u32..2_000, 0u32..10, any::<bool>()), 1..4);
    let payments = prop::collection::vec((0usize..4, 0usize..4, 1i64..500_000, 0i32..20), 0..40);
    let refunds = prop::collection::vec((0usize..40, 1i64..200_000, 0i32..25), 0..10);
    let adjustments = prop::collection::vec((0usize..4, -100_000i64..100_000, 0i32..25), 0..8);
    (merchants, payments, refunds, adjustments).prop_map(|(ms, ps, rs, adjs)| {
        let base = d("2026-10-01");
        let merchants: Vec<Merchant> = ms
            .iter()
            .enumerate()
            .map(|(i, (days, min, reserve, hold, active))| {
                let mut m = merchant(&format!("M{i}"), *days);
                m.min_payout = Paise(*min);
                m.reserve_bps = *reserve;
                m.reserve_hold_days = *hold;
                if !active {
                    m.status = MerchantStatus::OnHold;
                }
                m
            })
            .collect();
        let n = merchants.len();
        let payments: Vec<Payment> = ps
            .iter()
            .enumerate()
            .map(|(i, (m, method, amount, day))| Payment {
                txn_id: format!("T{i:03}"),
                merchant_id: format!("M{}", m % n),
                method: Method::ALL[*method],
                amount: Paise(*amount),
                captured_on: base.add_days(*day),
            })
            .collect();
        let refunds = rs
            .iter()
            .enumerate()
            .filter(|(_, (t, _, _))| *t < payments.len())
            .map(|(i, (t, amount, day))| Refund {
                refund_id: format!("R{i:03}"),
                txn_id: payments[*t].txn_id.clone(),
                amount: Paise(*amount),
                refunded_on: base.add_days(*day),
            })
            .collect();
        let adjustments = adjs
            .iter()
            .enumerate()
            .map(|(i, (m, amount, day))| Adjustment {
                adjustment_id: format!("A{i:03}"),
                merchant_id: format!("M{}", m % n),
                kind: AdjustmentKind::Manual,
                amount: Paise(*amount),
                effective_on: base.add_days(*day),
                reference: String::new(),
            })
            .collect();
        World { merchants, inputs: Inputs { payments, refunds, adjustments, owners: Default::default() } }
    })
}

fn run(w: &World) -> (DayOutcome, Ledger) {
    let mut ledger = Ledger::default();
    let out =
        run_days(d("2026-10-01"), d("2026-11-15"), &Calendar::default(), &w.merchants, &w.inputs, &mut ledger).unwrap();
    (out, ledger)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn money_is_conserved_and_nothing_is_settled_twice(w in world()) {
        let (out, ledger) = run(&w);
        // Every line of every batch once: a reference in two batches fails here.
        let mut seen = std::collections::BTreeSet::new();
        for b in &out.batches {
            for l in &b.lines {
                if matches!(l.kind, LineKind::Payment | LineKind::Refund | LineKind::Adjustment) {
                    prop_assert!(seen.insert((l.kind, l.reference.clone())), "{} twice", l.reference);
                }
            }
            // The formula, line by line.
            let t = b.totals;
            let lines: i64 = b.lines.iter().map(|l| l.amount.0 - l.fee.0 - l.gst.0).sum();
            prop_assert_eq!(lines, t.net.0);
            prop_assert_eq!(t.net.0, t.gross.0 - t.fees.0 - t.gst.0 - t.refunds.0 + t.adjustments.0 - t.reserve_withheld.0 + t.reserve_released.0);
            prop_assert!(t.net.0 > 0);
        }
        // Σ nets + reserve still held = Σ (gross − fees − GST − refunds + adjustments) of what
        // batches took: nothing created or lost to the paisa.
        let taken: i64 = out.batches.iter().map(|b| { let t = b.totals; t.gross.0 - t.fees.0 - t.gst.0 - t.refunds.0 + t.adjustments.0 }).sum();
        let nets: i64 = out.batches.iter().map(|b| b.totals.net.0).sum();
        let held: i64 = ledger.reserves.iter().filter(|r| r.released_by.is_none()).map(|r| r.amount.0).sum();
        prop_assert_eq!(nets + held, taken);
        // The ledger took exactly the batches' references.
        prop_assert_eq!(ledger.payments.len() + ledger.refunds.len() + ledger.adjustments.len(), seen.len());
        // Nothing lost: what no batch took and was eligible by the last day is exactly what that
        // day carried forward, each merchant's net computed here from the inputs alone.
        let cal = Calendar::default();
        let last = cal.business_days(d("2026-10-01"), d("2026-11-15")).last().unwrap();
        for m in &w.merchants {
            let id = m.merchant_id.as_str();
            let owner = |txn: &str| w.inputs.payments.iter().find(|p| p.txn_id == txn).map(|p| p.merchant_id.as_str());
            let pays: Vec<&Payment> = w.inputs.payments.iter()
                .filter(|p| p.merchant_id == id && !ledger.payments.contains_key(&p.txn_id) && cal.add_business_days(p.captured_on, m.settlement_days) <= last)
                .collect();
            let refs: i64 = w.inputs.refunds.iter()
                .filter(|r| owner(&r.txn_id) == Some(id) && r.refunded_on <= last && !ledger.refunds.contains_key(&r.refund_id))
                .map(|r| r.amount.0).sum();
            let adjs: Vec<i64> = w.inputs.adjustments.iter()
                .filter(|a| a.merchant_id == id && a.effective_on <= last && !ledger.adjustments.contains_key(&a.adjustment_id))
                .map(|a| a.amount.0).collect();
            let released: Vec<i64> = ledger.reserves.iter()
                .filter(|r| r.merchant_id == id && r.released_by.is_none() && r.release_on <= last && r.withheld_on < last)
                .map(|r| r.amount.0).collect();
            let has_refunds = w.inputs.refunds.iter().any(|r| owner(&r.txn_id) == Some(id) && r.refunded_on <= last && !ledger.refunds.contains_key(&r.refund_id));
            let carried = out.carried.iter().find(|c| c.merchant_id == id && c.cycle_date == last);
            if pays.is_empty() && !has_refunds && adjs.is_empty() && released.is_empty() {
                prop_assert!(carried.is_none(), "{id}: carried with nothing eligible");
                continue;
            }
            let share = settlepaisa_recon::settlement::fees::share;
            let gross: i64 = pays.iter().map(|p| p.amount.0).sum();
            let fees: i64 = pays.iter().map(|p| { let fee = share(p.amount, m.mdr_for(p.method)); fee.0 + share(fee, m.gst_bps).0 }).sum();
            let net = gross - fees - refs + adjs.iter().sum::<i64>() - share(Paise(gross), m.reserve_bps).0 + released.iter().sum::<i64>();
            let carried = carried.map(|c| c.net.0);
            prop_assert_eq!(carried, Some(net), "{}: what is left by the last day is what it carried", id);
        }
    }

    #[test]
    fn input_order_changes_nothing_and_a_second_run_makes_nothing(w in world(), seed in any::<u64>()) {
        let (out, ledger) = run(&w);
        let mut shuffled = w.clone();
        let mut state = seed | 1;
        let mut next = move || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
        for v in [&mut shuffled.inputs.payments] { for i in (1..v.len()).rev() { v.swap(i, (next() % (i as u64 + 1)) as usize); } }
        for i in (1..shuffled.inputs.refunds.len()).rev() { shuffled.inputs.refunds.swap(i, (next() % (i as u64 + 1)) as usize); }
        for i in (1..shuffled.inputs.adjustments.len()).rev() { shuffled.inputs.adjustments.swap(i, (next() % (i as u64 + 1)) as usize); }
        for i in (1..shuffled.merchants.len()).rev() { shuffled.merchants.swap(i, (next() % (i as u64 + 1)) as usize); }
        let (again, ledger_again) = run(&shuffled);
        prop_assert_eq!(&out, &again);
        prop_assert_eq!(&ledger, &ledger_again);
        // Each day run twice in a row: the second run of a day makes nothing.
        let cal = Calendar::default();
        let mut ledger2 = Ledger::default();
        for day in cal.business_days(d("2026-10-01"), d("2026-11-15")) {
            run_day(day, &cal, &w.merchants, &w.inputs, &mut ledger2).unwrap();
            let before = ledger2.clone();
            let twice = run_day(day, &cal, &w.merchants, &w.inputs, &mut ledger2).unwrap();
            prop_assert!(twice.batches.is_empty(), "{:?}", twice.batches);
            prop_assert_eq!(&ledger2, &before);
        }
        prop_assert_eq!(&ledger2, &ledger);
    }
}

#[test]
fn a_pruned_ledger_never_pays_what_it_forgot_even_for_an_earlier_day() {
    let cal = Calendar::default();
    let ms = [merchant("M1", 1)];
    let inputs = Inputs {
        payments: vec![
            pay("T1", "M1", Method::Upi, 5_000, "2026-10-01"),
            pay("T2", "M1", Method::Upi, 7_000, "2026-10-20"),
        ],
        ..Inputs::default()
    };
    let mut ledger = Ledger::default();
    let out = run_day(d("2026-10-02"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(out.batches.len(), 1, "T1 paid");
    let out = run_day(d("2026-10-21"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(out.batches[0].totals.txns, 1, "T2 paid");
    // A later run forgot October's first batch; ops then run an earlier day again.
    ledger.prune(d("2026-10-15"));
    assert!(!ledger.payments.contains_key("T1"));
    let again = run_day(d("2026-10-05"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(again, DayOutcome::default(), "T1 is before the horizon: not paid twice");
}

#[test]
fn a_failed_payouts_payments_are_paid_again_even_once_the_horizon_has_passed_them() {
    let cal = Calendar::default();
    let ms = [merchant("M1", 1)];
    let inputs = Inputs { payments: vec![pay("T1", "M1", Method::Upi, 5_000, "2026-10-01")], ..Inputs::default() };
    let mut ledger = Ledger::default();
    let first = run_day(d("2026-10-02"), &cal, &ms, &inputs, &mut ledger).unwrap();
    let batch = first.batches[0].settlement_id.clone();
    // A later run moved the horizon past T1's day; then the bank returns the payout.
    ledger.horizon = Some(d("2026-10-05"));
    ledger.undo(&batch);
    let again = run_day(d("2026-10-06"), &cal, &ms, &inputs, &mut ledger).unwrap();
    assert_eq!(again.batches.len(), 1, "T1 paid again: {again:?}");
    assert_eq!(again.batches[0].totals.txns, 1);
    assert!(ledger.reopened.is_empty(), "taken again: no longer reopened");
    assert_eq!(run_day(d("2026-10-07"), &cal, &ms, &inputs, &mut ledger).unwrap(), DayOutcome::default());
}
