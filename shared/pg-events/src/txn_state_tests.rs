//! The transaction state's promises: any arrival order and any redelivery give the same state
//! and the same deductions; refunds wait for their payment and never pass its amount.

use crate::event::{Data, Event, Kind, Payment, Refund};
use crate::file_check::FileRow;
use crate::instant::Instant;
use crate::kpi;
use crate::txn_state::{apply, note_file, Applied, RefundStatus, TxnState};
use proptest::prelude::*;
use settlepaisa_recon::pg_file::Method;
use std::collections::BTreeMap;

const BASE: i64 = 1_790_000_000;

fn at(secs: i64, millis: u32) -> String {
    let s = settlepaisa_recon::date::format_utc(secs);
    format!("{}.{millis:03}Z", s.trim_end_matches('Z'))
}

fn payment_event(id: &str, secs: i64, millis: u32, status: &str, amount: i64) -> Event {
    let created_at = at(secs, millis);
    Event {
        id: id.into(),
        kind: if status == "captured" { Kind::PaymentCaptured } else { Kind::PaymentFailed },
        created: Instant::parse(&created_at).unwrap(),
        created_at,
        data: Data::Payment(Payment {
            txn_id: "T1".into(),
            merchant_id: "MERCH001".into(),
            merchant_ref: "ORD-1".into(),
            method: Method::Card,
            amount_paise: amount,
            status: status.into(),
            utr: None,
            captured_at: settlepaisa_recon::date::format_utc(BASE),
        }),
    }
}

fn refund_event(id: &str, refund: &str, secs: i64, processed: bool, amount: i64) -> Event {
    let created_at = at(secs, 0);
    Event {
        id: id.into(),
        kind: if processed { Kind::RefundProcessed } else { Kind::RefundFailed },
        created: Instant::parse(&created_at).unwrap(),
        created_at: created_at.clone(),
        data: Data::Refund(Refund {
            refund_id: refund.into(),
            txn_id: "T1".into(),
            amount_paise: amount,
            refunded_at: created_at,
        }),
    }
}

/// Applies events in order, collecting every deduction made on the way.
fn run(events: &[Event]) -> (TxnState, Vec<(String, i64)>) {
    let mut state = TxnState::new("T1");
    let mut deductions = Vec::new();
    for e in events {
        let Applied { state: next, deductions: d, .. } = apply(&state, e).unwrap();
        deductions.extend(d.into_iter().map(|d| (d.refund_id, d.amount.0)));
        state = next;
    }
    deductions.sort();
    (state, deductions)
}

#[test]
fn the_latest_payment_event_wins_whatever_arrives_first() {
    let failed = payment_event("evt_a", BASE, 100, "failed", 50_000);
    let captured = payment_event("evt_b", BASE, 900, "captured", 50_000);
    let (one, _) = run(&[failed.clone(), captured.clone()]);
    let (two, _) = run(&[captured.clone(), failed.clone(), captured.clone()]);
    assert_eq!(one, two);
    assert_eq!(one.captured().map(|p| p.amount_paise), Some(50_000));
    // Same instant: the larger id is the later.
    let tie_a = payment_event("evt_1", BASE, 0, "captured", 1);
    let tie_b = payment_event("evt_2", BASE, 0, "failed", 1);
    assert_eq!(run(&[tie_b.clone(), tie_a.clone()]).0.payment.unwrap().event_id, "evt_2");
    assert_eq!(run(&[tie_a, tie_b]).0.payment.unwrap().event_id, "evt_2");
}

#[test]
fn a_refund_before_its_payment_waits_then_is_deducted_once() {
    let refund = refund_event("evt_r", "R1", BASE + 60, true, 10_000);
    let payment = payment_event("evt_p", BASE, 0, "captured", 50_000);
    let first = apply(&TxnState::new("T1"), &refund).unwrap();
    assert_eq!(first.state.refunds["R1"].status, RefundStatus::AwaitingPayment);
    assert!(first.deductions.is_empty(), "never before its payment");
    let second = apply(&first.state, &payment).unwrap();
    assert_eq!(second.deductions.len(), 1);
    assert_eq!(second.state.refunds["R1"].status, RefundStatus::Deducted);
    let again = apply(&second.state, &refund).unwrap();
    assert!(!again.changed && again.deductions.is_empty(), "a redelivery changes nothing");
    let again = apply(&again.state, &payment).unwrap();
    assert!(!again.changed && again.deductions.is_empty());
}

#[test]
fn a_refund_of_a_failed_payment_is_never_deducted() {
    let (state, deductions) =
        run(&[payment_event("evt_p", BASE, 0, "failed", 50_000), refund_event("evt_r", "R1", BASE + 5, true, 100)]);
    assert!(deductions.is_empty());
    assert_eq!(state.refunds["R1"].status, RefundStatus::AwaitingPayment);
}

#[test]
fn refunds_past_the_payment_are_refused_and_failures_after_a_deduction_given_back_once() {
    let (state, deductions) = run(&[
        payment_event("evt_p", BASE, 0, "captured", 10_000),
        refund_event("evt_1", "R1", BASE + 10, true, 6_000),
        refund_event("evt_2", "R2", BASE + 20, true, 6_000),
        refund_event("evt_3", "R3", BASE + 30, true, 4_000),
        refund_event("evt_4", "R1", BASE + 40, false, 6_000),
    ]);
    assert_eq!(deductions, vec![("R1".into(), 6_000), ("R3".into(), 4_000)]);
    assert_eq!(state.refunds["R2"].status, RefundStatus::Refused);
    assert_eq!(state.refunds["R1"].status, RefundStatus::Reversed);
    assert_eq!(state.refunded(), 4_000, "R1 given back");
    let counters = kpi::contribution(&state);
    assert_eq!(counters.values().filter(|v| **v != 0).count(), counters.len());
    assert!(
        counters.keys().any(|(_, c)| *c == "refunds_refused_n")
            && counters.keys().any(|(_, c)| *c == "refunds_reversed_n")
    );
    assert!(counters.keys().all(|(_, c)| kpi::COUNTERS.contains(c)), "every counter is one the overview reads");
    // The reversal is made once, and a later `processed` does not deduct it again; the room it
    // gave back lets the refused R2 through on the next change.
    let again = apply(&state, &refund_event("evt_5", "R1", BASE + 50, true, 6_000)).unwrap();
    assert!(again.reversals.is_empty());
    assert_eq!(again.deductions.iter().map(|d| d.refund_id.as_str()).collect::<Vec<_>>(), ["R2"]);
    assert_eq!(again.state.refunds["R1"].status, RefundStatus::Reversed);
    assert_eq!(again.state.refunded(), 10_000);
    let mut reversals = Vec::new();
    let mut s = TxnState::new("T1");
    for e in [
        payment_event("evt_p", BASE, 0, "captured", 10_000),
        refund_event("evt_1", "R1", BASE + 10, true, 6_000),
        refund_event("evt_4", "R1", BASE + 40, false, 6_000),
        refund_event("evt_4", "R1", BASE + 40, false, 6_000),
    ] {
        let a = apply(&s, &e).unwrap();
        reversals.extend(a.reversals);
        s = a.state;
    }
    assert_eq!(reversals.len(), 1);
    assert_eq!((reversals[0].refund_id.as_str(), reversals[0].amount.0), ("R1", 6_000));
    // A failure known before the deduction: nothing is deducted for it.
    let (state, deductions) = run(&[
        refund_event("evt_4", "R1", BASE + 40, false, 6_000),
        refund_event("evt_1", "R1", BASE + 10, true, 6_000),
        payment_event("evt_p", BASE, 0, "captured", 10_000),
    ]);
    assert!(deductions.is_empty());
    assert_eq!(state.refunds["R1"].status, RefundStatus::Failed);
}

#[test]
fn a_file_row_that_differs_is_kept_beside_the_webhooks_view() {
    let (state, _) = run(&[payment_event("evt_p", BASE, 0, "captured", 50_000)]);
    let row = FileRow {
        file_id: "F1".into(),
        merchant_id: "MERCH001".into(),
        merchant_ref: "ORD-1".into(),
        method: "CARD".into(),
        amount_paise: 50_000,
        status: "failed".into(),
        utr: None,
        captured_secs: BASE,
    };
    let noted = note_file(&state, &row);
    assert!(noted.changed);
    let diffs = &noted.state.file.as_ref().unwrap().differences;
    assert_eq!(diffs.len(), 1);
    assert_eq!(
        (diffs[0].field.as_str(), diffs[0].file.as_str(), diffs[0].webhook.as_str()),
        ("status", "failed", "captured")
    );
    assert_eq!(noted.state.captured().unwrap().status, "captured", "the webhooks' view is not overwritten");
    assert!(!note_file(&noted.state, &row).changed, "noting the same row again changes nothing");
    let day = noted.state.payment.as_ref().unwrap().data.capture_day().to_string();
    assert_eq!(kpi::contribution(&noted.state)[&(day, "conflicts_n")], 1);
    let same = FileRow { status: "captured".into(), ..row };
    assert!(note_file(&state, &same).state.file.unwrap().differences.is_empty());
}

fn scenario() -> impl Strategy<Value = Vec<Event>> {
    // Failed attempts, then (maybe) the capture, latest; refunds within the amount, each
    // processed or failed with one event.
    (
        1i64..1_000_000,
        proptest::collection::vec(0u32..1000, 0..4),
        any::<bool>(),
        proptest::collection::vec((1i64..100, any::<bool>(), 0i64..86_400), 0..5),
    )
        .prop_map(|(amount, failures, captured, refunds)| {
            let mut events = Vec::new();
            for (i, ms) in failures.iter().enumerate() {
                events.push(payment_event(&format!("evt_f{i}"), BASE, *ms, "failed", amount));
            }
            if captured {
                events.push(payment_event("evt_c", BASE + 1, 0, "captured", amount));
            }
            let share = amount / 5;
            for (i, (pct, processed, later)) in refunds.iter().enumerate() {
                let value = (share * pct / 100).max(1).min(share.max(1));
                if share == 0 {
                    continue;
                }
                events.push(refund_event(&format!("evt_r{i}"), &format!("R{i}"), BASE + 2 + later, *processed, value));
            }
            events
        })
}

proptest! {
    #[test]
    fn any_order_and_any_redelivery_give_the_same_state_and_deductions(
        events in scenario(),
        order in any::<proptest::sample::Index>(),
        repeats in proptest::collection::vec(any::<proptest::sample::Index>(), 0..6),
        seed in any::<u64>(),
    ) {
        let (want, want_deductions) = run(&events);
        let mut delivered = events.clone();
        for r in &repeats {
            if !events.is_empty() {
                delivered.push(events[r.index(events.len())].clone());
            }
        }
        // A deterministic shuffle from the seed and the index.
        let mut rng = seed ^ order.index(usize::MAX) as u64;
        for i in (1..delivered.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            delivered.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let (got, got_deductions) = run(&delivered);
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(&got_deductions, &want_deductions);
        // Each refund id deducted at most once; never more than the payment.
        let mut seen = std::collections::BTreeSet::new();
        for (id, _) in &got_deductions {
            prop_assert!(seen.insert(id.clone()));
        }
        let total: i64 = got_deductions.iter().map(|(_, a)| a).sum();
        prop_assert!(total <= got.captured().map_or(0, |p| p.amount_paise));
        prop_assert_eq!(total, got.refunded());
    }

    #[test]
    fn kpi_deltas_along_any_path_sum_to_the_final_contribution(events in scenario()) {
        let mut state = TxnState::new("T1");
        let mut sums: BTreeMap<(String, &'static str), i64> = BTreeMap::new();
        for e in &events {
            let next = apply(&state, e).unwrap().state;
            for (k, v) in kpi::delta(&state, &next) {
                *sums.entry(k).or_insert(0) += v;
            }
            state = next;
        }
        sums.retain(|_, v| *v != 0);
        let contribution = kpi::contribution(&state);
        prop_assert!(contribution.keys().all(|(_, c)| kpi::COUNTERS.contains(c)), "every counter is one the overview reads");
        prop_assert_eq!(sums, contribution);
    }
}
