//! The settlement step through the engine: statuses, tie rules, line checks, and the records'
//! one place each.

use super::*;
use crate::bank_file::BankRow;
use crate::engine::reconcile_with_settlements;
use crate::outcome::{Category, Reconciliation};
use crate::pg_file::{Method, PgTxn};
use crate::test_records::{credit, day, pg, shuffle};
use crate::utr::find_utr;
use crate::{MatchConfig, Paise};
use proptest::prelude::*;

const UTR_A: &str = "HDFCN52026100512";
const UTR_B: &str = "ICICN52026100777";

fn card(id: &'static str, amount: i64, d: u32) -> PgTxn<'static> {
    PgTxn { method: Method::Card, utr: None, ..pg(id, amount, "", d) }
}

#[allow(clippy::too_many_arguments)]
fn row(
    line: u32,
    id: &'static str,
    utr: &str,
    d: u32,
    kind: RowKind,
    txn: &'static str,
    amount: i64,
    fee: i64,
    tax: i64,
) -> SettlementRow<'static> {
    SettlementRow {
        file: "acq.csv",
        line,
        settlement_id: id,
        settlement_utr: find_utr(utr).expect("a settlement UTR"),
        settled_on: day(d),
        kind,
        entity_id: "e",
        txn_id: txn,
        amount: Paise(amount),
        fee: Paise(fee),
        tax: Paise(tax),
        raw: "",
    }
}

/// A card payment of ₹1,000 at the default 2 % MDR and 18 % GST: net 97,640 paise.
fn paid(line: u32, id: &'static str, utr: &str, txn: &'static str) -> SettlementRow<'static> {
    row(line, id, utr, 5, RowKind::Payment, txn, 100_000, 2_000, 360)
}

fn run<'a>(
    pgs: Vec<PgTxn<'a>>,
    banks: Vec<BankRow<'a>>,
    rows: Vec<SettlementRow<'a>>,
) -> (Reconciliation<'a>, SettlementRecon<'a>) {
    reconcile_with_settlements(pgs, banks, rows, &FeeSchedule::default(), &MatchConfig::default())
}

fn statuses<'a>(s: &SettlementRecon<'a>) -> Vec<(&'a str, SettlementStatus, i64)> {
    s.settlements.iter().map(|s| (s.settlement_id, s.status, s.delta.0)).collect()
}

fn settled_txns<'a>(r: &Reconciliation<'a>) -> Vec<(&'a str, String)> {
    r.settled.iter().map(|m| (r.pg[m.pg as usize].txn_id, r.bank[m.bank as usize].bank_ref())).collect()
}

fn categories(r: &Reconciliation<'_>) -> Vec<Category> {
    r.exceptions.iter().map(|e| e.category).collect()
}

fn line_checks<'a>(s: &SettlementRecon<'a>) -> Vec<(&'a str, LineCategory, Option<i64>, i64)> {
    s.exceptions.iter().map(|e| (e.txn_id, e.category, e.expected.map(|p| p.0), e.actual.0)).collect()
}

#[test]
fn a_credit_equal_to_the_rows_to_the_paisa_is_settled_and_pays_its_transactions() {
    let narration = "NEFT CR HDFCN52026100512 RAZORPAY SETTLEMENT";
    let (rec, s) = run(
        vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4)],
        vec![credit(10, 195_280, narration, 5)],
        vec![paid(2, "setl_1", UTR_A, "TXN1"), paid(3, "setl_1", UTR_A, "TXN2")],
    );
    assert_eq!(statuses(&s), [("setl_1", SettlementStatus::Settled, 0)]);
    let settlement = &s.settlements[0];
    assert_eq!((settlement.gross.0, settlement.fee.0, settlement.tax.0, settlement.debit.0), (200_000, 4_000, 720, 0));
    assert_eq!(settlement.credit.map(|(_, rule)| rule), Some(TieRule::Utr));
    assert_eq!(settled_txns(&rec), [("TXN1", "hdfc.csv:10".to_string()), ("TXN2", "hdfc.csv:10".to_string())]);
    assert!(rec.exceptions.is_empty(), "the bulk credit is not UNMATCHED_BANK: {:?}", categories(&rec));
    assert!(s.exceptions.is_empty());
    assert_eq!(s.fee_overcharge, Some(Paise::ZERO));
}

#[test]
fn one_paisa_short_or_over_is_not_settled_and_says_by_how_much() {
    for (credited, status, delta) in
        [(97_639, SettlementStatus::ShortCredit, -1), (97_641, SettlementStatus::ExcessCredit, 1)]
    {
        let (rec, s) = run(
            vec![card("TXN1", 100_000, 4)],
            vec![credit(10, credited, "NEFT CR HDFCN52026100512", 5)],
            vec![paid(2, "setl_1", UTR_A, "TXN1")],
        );
        assert_eq!(statuses(&s), [("setl_1", status, delta)]);
        // The credit was found: its transactions are still paid through it.
        assert_eq!(settled_txns(&rec).len(), 1);
    }
}

#[test]
fn refunds_chargebacks_and_adjustments_come_off_the_credit() {
    let rows = vec![
        paid(2, "setl_1", UTR_A, "TXN1"),
        row(3, "setl_1", UTR_A, 5, RowKind::Refund, "TXN2", 5_000, 0, 0),
        row(4, "setl_1", UTR_A, 5, RowKind::Chargeback, "TXN3", 7_000, 0, 0),
        row(5, "setl_1", UTR_A, 5, RowKind::Adjustment, "", -640, 0, 0),
        row(6, "setl_1", UTR_A, 5, RowKind::Adjustment, "", 1_000, 0, 0),
    ];
    let pgs = vec![card("TXN1", 100_000, 4), card("TXN2", 5_000, 3), card("TXN3", 7_000, 2)];
    let (_, s) = run(pgs, vec![credit(10, 86_000, "NEFT HDFCN52026100512", 5)], rows);
    let x = &s.settlements[0];
    assert_eq!((x.gross.0, x.debit.0, x.expected_net.0), (101_000, 12_640, 86_000));
    assert_eq!(x.status, SettlementStatus::Settled);
}

#[test]
fn without_its_utr_a_credit_is_tied_by_a_narration_naming_the_settlement_then_by_a_unique_amount() {
    let (_, s) = run(
        vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4)],
        vec![credit(10, 97_640, "RAZORPAY SETTL/setl_1/OCT", 5), credit(11, 97_640, "BULK CREDIT", 6)],
        vec![paid(2, "setl_1", UTR_A, "TXN1"), paid(3, "setl_2", UTR_B, "TXN2")],
    );
    let rules: Vec<_> = s.settlements.iter().map(|x| x.credit).collect();
    assert_eq!(rules, [Some((0, TieRule::Narration)), Some((1, TieRule::Amount))]);
}

#[test]
fn a_narration_names_a_settlement_in_any_case_between_any_separators() {
    for narration in
        ["NEFT CR-ICICN52026109999-RAZORPAY SOFTWARE-setl_Abc1", "RAZORPAY SETTLEMENT SETL_ABC1", "SETTL/setl_abc1/OCT"]
    {
        let (_, s) = run(
            vec![card("TXN1", 100_000, 4)],
            vec![credit(10, 97_000, narration, 6)],
            vec![paid(2, "setl_Abc1", UTR_A, "TXN1")],
        );
        assert_eq!(s.settlements[0].credit, Some((0, TieRule::Narration)), "{narration}");
    }
    // Part of a longer word is not the id.
    let (_, s) = run(
        vec![card("TXN1", 100_000, 4)],
        vec![credit(10, 97_000, "SETTL setl_Abc12", 6)],
        vec![paid(2, "setl_Abc1", UTR_A, "TXN1")],
    );
    assert_eq!(s.settlements[0].credit, None);
}

#[test]
fn a_credit_naming_two_settlements_or_one_of_two_credits_naming_it_ties_nothing_by_narration() {
    let rows = vec![paid(2, "setl_A", UTR_A, "TXN1"), paid(3, "setl_B", UTR_B, "TXN2")];
    let pgs = || vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4)];
    // A credit naming both settlements ties neither; the one naming setl_B alone ties it.
    let (_, s) =
        run(pgs(), vec![credit(10, 1, "SETL setl_B setl_A", 5), credit(11, 2, "SETL setl_B", 5)], rows.clone());
    let credits: Vec<_> = s.settlements.iter().map(|x| x.credit).collect();
    assert_eq!(credits, [None, Some((1, TieRule::Narration))]);
    // Two credits naming setl_B alone: neither is provably its.
    let (_, s) = run(pgs(), vec![credit(10, 1, "SETL setl_B", 5), credit(11, 2, "SETL setl_B", 5)], rows);
    let credits: Vec<_> = s.settlements.iter().map(|x| x.credit).collect();
    assert_eq!(credits, [None, None]);
}

#[test]
fn an_amount_ties_only_a_credit_without_a_utr_that_no_other_settlement_could_claim() {
    // The only credit of the amount carries another UTR: a different transfer.
    let (rec, s) = run(
        vec![card("TXN1", 100_000, 4)],
        vec![credit(10, 97_640, "UPI/629412345699/RAVI KUMAR", 5)],
        vec![paid(2, "setl_A", UTR_A, "TXN1")],
    );
    assert_eq!(s.settlements[0].status, SettlementStatus::CreditMissing);
    assert!(rec.settled.is_empty());
    // Two settlements of the same net and day, one credit: neither is provably its.
    let (_, s) = run(
        vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4)],
        vec![credit(10, 97_640, "BULK CREDIT", 5)],
        vec![paid(2, "setl_A", UTR_A, "TXN1"), paid(3, "setl_B", UTR_B, "TXN2")],
    );
    assert_eq!(statuses(&s).iter().map(|x| x.1).collect::<Vec<_>>(), [SettlementStatus::CreditMissing; 2]);
}

#[test]
fn a_transaction_paid_twice_is_double_settled_whether_or_not_the_pg_knows_it() {
    let (_, s) = run(
        vec![card("TXN1", 100_000, 4)],
        vec![],
        vec![paid(2, "setl_A", UTR_A, "TXN9"), paid(3, "setl_B", UTR_B, "TXN9")],
    );
    let got: Vec<_> = line_checks(&s).into_iter().map(|(t, c, _, _)| (t, c)).collect();
    assert_eq!(
        got,
        [("TXN9", LineCategory::UnknownTxn), ("TXN9", LineCategory::UnknownTxn), ("TXN9", LineCategory::DoubleSettled)]
    );
}

#[test]
fn a_transaction_its_own_credit_paid_for_a_different_amount_is_double_settled_too() {
    let (rec, s) = run(
        vec![card("TXN6", 100_000, 4).with_utr("629412345601")],
        vec![credit(20, 90_000, "UPI/629412345601/X", 4)],
        vec![paid(2, "setl_A", UTR_A, "TXN6")],
    );
    assert_eq!(categories(&rec), [Category::AmountMismatch]);
    assert_eq!(line_checks(&s).last().map(|x| x.1), Some(LineCategory::DoubleSettled));
}

#[test]
fn an_amount_alone_ties_only_a_unique_credit_within_a_day() {
    // Two days away: not this settlement's credit.
    let (rec, s) = run(
        vec![card("TXN1", 100_000, 4)],
        vec![credit(10, 97_640, "BULK CREDIT", 7)],
        vec![paid(2, "setl_1", UTR_A, "TXN1")],
    );
    assert_eq!(statuses(&s), [("setl_1", SettlementStatus::CreditMissing, -97_640)]);
    assert!(rec.settled.is_empty());
    // Two credits of the amount within the day: neither is provably it.
    let (_, s) = run(
        vec![card("TXN1", 100_000, 4)],
        vec![credit(10, 97_640, "BULK CREDIT", 5), credit(11, 97_640, "BULK CREDIT", 6)],
        vec![paid(2, "setl_1", UTR_A, "TXN1")],
    );
    assert_eq!(s.settlements[0].status, SettlementStatus::CreditMissing);
}

#[test]
fn a_missing_credit_leaves_its_transactions_where_they_were_with_the_settlement_named() {
    let (rec, s) = run(vec![card("TXN1", 100_000, 4)], vec![], vec![paid(2, "setl_9", UTR_A, "TXN1")]);
    assert_eq!(s.settlements[0].status, SettlementStatus::CreditMissing);
    assert_eq!(categories(&rec), [Category::UtrMissing]);
    let reason = rec.reason(&rec.exceptions[0]);
    assert!(reason.contains("listed in settlement setl_9 whose credit was not found"), "{reason}");
}

#[test]
fn a_credit_backs_at_most_one_settlement() {
    let (rec, s) = run(
        vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4)],
        vec![credit(10, 97_640, "NEFT HDFCN52026100512", 5)],
        vec![paid(2, "setl_1", UTR_A, "TXN1"), paid(3, "setl_2", UTR_A, "TXN2")],
    );
    assert_eq!(
        statuses(&s),
        [("setl_1", SettlementStatus::Settled, 0), ("setl_2", SettlementStatus::CreditMissing, -97_640)]
    );
    assert_eq!(settled_txns(&rec), [("TXN1", "hdfc.csv:10".to_string())]);
}

#[test]
fn each_line_check_names_the_row_with_the_figures() {
    let pgs = vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4), pg("TXN3", 50_000, "629412345678", 4)];
    let banks = vec![credit(20, 50_000, "UPI/629412345678/X", 4), credit(21, 1, "NEFT HDFCN52026100512", 5)];
    let rows = vec![
        // 2.5 % instead of the contracted 2 %: FEE_MISMATCH, and GST on the fee charged is right.
        row(2, "setl_1", UTR_A, 5, RowKind::Payment, "TXN1", 100_000, 2_500, 450),
        // The right fee, GST at 12 %: GST_MISMATCH.
        row(3, "setl_1", UTR_A, 5, RowKind::Payment, "TXN2", 100_000, 2_000, 240),
        // Not in the PG export.
        row(4, "setl_1", UTR_A, 5, RowKind::Refund, "TXN9", 1_000, 0, 0),
        // Already matched to its own UPI credit.
        row(5, "setl_1", UTR_A, 5, RowKind::Payment, "TXN3", 50_000, 0, 0),
        // Paid again, in a later settlement, for a different amount.
        row(2, "setl_2", UTR_B, 6, RowKind::Payment, "TXN1", 90_000, 1_800, 324),
    ];
    let (rec, s) = run(pgs, banks, rows);
    assert_eq!(
        line_checks(&s),
        [
            ("TXN1", LineCategory::FeeMismatch, Some(2_000), 2_500),
            ("TXN2", LineCategory::GstMismatch, Some(360), 240),
            ("TXN9", LineCategory::UnknownTxn, None, 1_000),
            ("TXN3", LineCategory::DoubleSettled, None, 50_000),
            // The contract's fee is on the PG amount, not on what the row paid.
            ("TXN1", LineCategory::FeeMismatch, Some(2_000), 1_800),
            ("TXN1", LineCategory::AmountDiffers, Some(100_000), 90_000),
            ("TXN1", LineCategory::DoubleSettled, None, 90_000),
        ]
    );
    assert!(s.exceptions[3].reason.contains("hdfc.csv:20"), "{}", s.exceptions[3].reason);
    assert!(s.exceptions[6].reason.contains("setl_1"), "{}", s.exceptions[6].reason);
    // TXN3 keeps its own match; TXN1 is paid once, through setl_1.
    assert_eq!(rec.matches.len(), 1);
    assert_eq!(settled_txns(&rec), [("TXN1", "hdfc.csv:21".to_string()), ("TXN2", "hdfc.csv:21".to_string())]);
    // Overcharge: TXN1 paid 2,950 where 2,360 was owed (590); setl_2's TXN1 row 2,124 where
    // 2,360 was owed on the PG amount (under, not counted).
    assert_eq!(s.fee_overcharge, Some(Paise(590)));
}

#[test]
fn a_row_disagreeing_with_its_settlements_utr_or_date_is_a_reject() {
    let mut other_date = paid(3, "setl_1", UTR_A, "TXN2");
    other_date.settled_on = day(9);
    let (_, s) = run(
        vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4)],
        vec![],
        vec![paid(2, "setl_1", UTR_A, "TXN1"), other_date, paid(4, "setl_1", UTR_B, "TXN2")],
    );
    assert_eq!(s.settlements[0].rows, 1);
    let lines: Vec<u32> = s.rejects.iter().map(|(_, r)| r.line).collect();
    assert_eq!(lines, [3, 4]);
    assert!(s.rejects[0].1.reason.contains("settled on 2026-10-05"), "{}", s.rejects[0].1.reason);
}

// Properties: over random small days, shuffling changes nothing, and everything is in one place.

#[derive(Clone, Debug)]
struct Day {
    pgs: Vec<(u8, i64, bool)>,
    credits: Vec<(u8, i64, u8)>,
    rows: Vec<(u8, u8, u8, i64, i64)>,
}

fn day_strategy() -> impl Strategy<Value = Day> {
    (
        prop::collection::vec((0u8..12, 1i64..5, any::<bool>()), 0..10),
        prop::collection::vec((0u8..4, 0i64..6, 0u8..3), 0..6),
        prop::collection::vec((0u8..4, 0u8..4, 0u8..14, 1i64..5, 0i64..3), 0..14),
    )
        .prop_map(|(pgs, credits, rows)| Day { pgs, credits, rows })
}

const IDS: [&str; 14] = ["T0", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12", "T13"];
const SETTLEMENTS: [(&str, &str); 4] = [
    ("setl_0", "HDFCN52026100510"),
    ("setl_1", "HDFCN52026100511"),
    ("setl_2", "HDFCN52026100512"),
    ("setl_3", "HDFCN52026100513"),
];
const NARRATIONS: [&str; 4] = ["NEFT HDFCN52026100510", "NEFT HDFCN52026100511", "SETTL setl_2", "BULK CREDIT"];

fn build(d: &Day) -> (Vec<PgTxn<'static>>, Vec<BankRow<'static>>, Vec<SettlementRow<'static>>) {
    let mut seen = std::collections::BTreeSet::new();
    let pgs = d
        .pgs
        .iter()
        .filter(|(i, _, _)| seen.insert(*i))
        .map(|&(i, amount, upi)| {
            let t = card(IDS[i as usize], amount * 1_000, 4);
            if upi {
                PgTxn { method: Method::Upi, ..t }
            } else {
                t
            }
        })
        .collect();
    let banks = d
        .credits
        .iter()
        .enumerate()
        .map(|(line, &(n, amount, dd))| {
            credit(line as u32 + 10, amount * 980 + 1, NARRATIONS[n as usize], 4 + u32::from(dd))
        })
        .collect();
    let rows = d
        .rows
        .iter()
        .enumerate()
        .map(|(line, &(s, kind, txn, amount, fee))| {
            let (id, utr) = SETTLEMENTS[s as usize];
            let kind = [RowKind::Payment, RowKind::Payment, RowKind::Refund, RowKind::Chargeback][kind as usize];
            row(line as u32 + 2, id, utr, 5, kind, IDS[txn as usize], amount * 1_000, fee * 10, fee * 2)
        })
        .collect();
    (pgs, banks, rows)
}

fn shuffled<T: Clone>(v: &[T], seed: u64) -> Vec<T> {
    let mut v = v.to_vec();
    shuffle(&mut v, seed);
    v
}

type Outcome = (Vec<String>, Vec<String>, Vec<String>);

/// Everything a user reads, as sorted text: matches, exceptions, settlements and line checks.
fn outcome(r: &Reconciliation<'_>, s: &SettlementRecon<'_>) -> Outcome {
    let mut records: Vec<String> = r
        .matches
        .iter()
        .map(|m| format!("own {} {}", r.pg[m.pg as usize].txn_id, r.bank[m.bank as usize].bank_ref()))
        .chain(settled_txns(r).into_iter().map(|(t, b)| format!("settled {t} {b}")))
        .chain(r.exceptions.iter().map(|e| format!("{} {}", r.exception_id(e), r.reason(e))))
        .collect();
    records.sort();
    let settlements = s
        .settlements
        .iter()
        .map(|x| {
            let credit = x.credit.map(|(b, _)| r.bank[b as usize].bank_ref());
            format!("{} {:?} {:?} {} {}", x.settlement_id, credit, x.status, x.expected_net.0, x.rows)
        })
        .collect();
    let mut lines: Vec<String> = s
        .exceptions
        .iter()
        .map(|e| format!("{} {} {:?} {}", e.settlement_id, e.txn_id, e.category, e.reason))
        .collect();
    lines.sort();
    (records, settlements, lines)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_record_and_every_settlement_row_is_in_exactly_one_place(d in day_strategy()) {
        let (pgs, banks, rows) = build(&d);
        let (n_pg, n_bank, n_rows) = (pgs.len(), banks.len(), rows.len());
        let (r, s) = run(pgs, banks, rows);
        let mut pg_places = vec![0; n_pg];
        let mut bank_places = vec![0; n_bank];
        for m in &r.matches {
            pg_places[m.pg as usize] += 1;
            bank_places[m.bank as usize] += 1;
        }
        for m in &r.settled {
            pg_places[m.pg as usize] += 1;
        }
        for e in &r.exceptions {
            e.pg.iter().for_each(|&p| pg_places[p as usize] += 1);
            e.bank.iter().for_each(|&b| bank_places[b as usize] += 1);
        }
        for x in &s.settlements {
            if let Some((b, _)) = x.credit {
                bank_places[b as usize] += 1;
            }
        }
        prop_assert!(pg_places.iter().all(|&n| n == 1), "PG places {:?}", pg_places);
        prop_assert!(bank_places.iter().all(|&n| n == 1), "bank places {:?}", bank_places);
        let counted: u32 = s.settlements.iter().map(|x| x.rows).sum();
        prop_assert_eq!(counted as usize + s.rejects.len(), n_rows);
        // A settled transaction's credit is its settlement's.
        for m in &r.settled {
            prop_assert_eq!(s.settlements[m.settlement as usize].credit.map(|(b, _)| b), Some(m.bank));
        }
    }

    #[test]
    fn shuffling_rows_records_and_reports_changes_nothing(d in day_strategy(), seed in any::<u64>()) {
        let (pgs, banks, rows) = build(&d);
        let (r, s) = run(pgs.clone(), banks.clone(), rows.clone());
        let expected = outcome(&r, &s);
        let (r1, s1) = run(shuffled(&pgs, seed ^ 3), shuffled(&banks, seed ^ 5), shuffled(&rows, seed));
        prop_assert_eq!(outcome(&r1, &s1), expected.clone());
        // The same rows split over two reports in another order, records shuffled.
        let mut rows2 = shuffled(&rows, seed);
        for (i, row) in rows2.iter_mut().enumerate() {
            if i % 2 == 1 {
                row.file = "acq-part2.csv";
            }
        }
        let (r2, s2) = run(shuffled(&pgs, seed ^ 7), shuffled(&banks, seed ^ 11), rows2);
        // Reports named differently keep their own lines: compare what does not name the report.
        prop_assert_eq!(outcome(&r2, &s2).0, expected.0);
        prop_assert_eq!(outcome(&r2, &s2).1, expected.1);
    }
}

// The sharded pipeline's split (UTR shards, then the residual shard with the settlement step):
// exactly the single run, with UPI transactions paid by their own credits, duplicates and
// mismatches among them, and settlement rows naming them again.

const OWN_UTRS: [&str; 6] = [
    "UPI/629412345670",
    "UPI/629412345671",
    "UPI/629412345672",
    "UPI/629412345673",
    "UPI/629412345674",
    "UPI/629412345675",
];

/// `d` with, for each `own` entry, a transaction carrying UTR `u` and a credit carrying it too
/// (its amount off by `off` rupees), or a second transaction with the same UTR (`dup`).
fn build_with_own(
    d: &Day,
    own: &[(u8, u8, i64, bool)],
) -> (Vec<PgTxn<'static>>, Vec<BankRow<'static>>, Vec<SettlementRow<'static>>) {
    let (mut pgs, mut banks, rows) = build(d);
    let taken: std::collections::BTreeSet<&str> = pgs.iter().map(|p| p.txn_id).collect();
    let mut used = std::collections::BTreeSet::new();
    for (k, &(txn, u, off, dup)) in own.iter().enumerate() {
        let id = IDS[txn as usize];
        if taken.contains(id) || !used.insert(id) {
            continue;
        }
        let utr = OWN_UTRS[u as usize];
        pgs.push(pg(id, 5_000 + i64::from(txn) * 100, utr, 4));
        if dup {
            let twin = IDS[(txn as usize + 7) % IDS.len()];
            if !taken.contains(twin) && used.insert(twin) {
                pgs.push(pg(twin, 5_000, utr, 4));
            }
        }
        banks.push(credit(100 + k as u32, 5_000 + i64::from(txn) * 100 + off * 100, utr, 4));
    }
    (pgs, banks, rows)
}

/// The outcome of the split run, as [`outcome`] reads the single one.
fn sharded_outcome<'a>(pgs: &[PgTxn<'a>], banks: &[BankRow<'a>], rows: Vec<SettlementRow<'a>>, shards: u32) -> Outcome {
    use crate::engine::{reconcile_residual, reconcile_utr_shard, ClosedRecords};
    use crate::shard::Partition;
    let cfg = MatchConfig::default();
    let named: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.txn_id).collect();
    let mut records = Vec::new();
    let mut residual_pg: Vec<PgTxn<'a>> = pgs.iter().filter(|t| t.utr.is_none()).copied().collect();
    let mut residual_bank: Vec<BankRow<'a>> = banks.iter().filter(|r| r.utr.is_none()).copied().collect();
    let mut closed = ClosedRecords::default();
    for s in 0..shards {
        let in_shard = |u: Option<crate::utr::Utr>| Partition::of(u).shard(shards) == Some(s);
        let out = reconcile_utr_shard(
            pgs.iter().filter(|t| in_shard(t.utr)).copied().collect(),
            banks.iter().filter(|r| in_shard(r.utr)).copied().collect(),
            &cfg,
        );
        let (r, empty) = (&out.settled, SettlementRecon::default());
        records.extend(outcome(r, &empty).0);
        residual_pg.extend(out.open_pg.iter().map(|&i| r.pg[i as usize]));
        residual_bank.extend(out.open_bank.iter().map(|&i| r.bank[i as usize]));
        let mut credits = std::collections::BTreeSet::new();
        for (p, credit) in out.closed_named(&|t| named.contains(t)) {
            let t = r.pg[p as usize];
            residual_pg.push(t);
            let credit = credit.map(|b| r.bank[b as usize]);
            if let Some(b) = credit {
                if credits.insert((b.file, b.line)) {
                    residual_bank.push(b);
                }
            }
            closed.pg.insert(t.txn_id, credit.map(|b| (b.file, b.line)));
        }
    }
    let (r, s) = reconcile_residual(residual_pg, residual_bank, &closed, rows, &FeeSchedule::default(), &cfg);
    let (rest, settlements, lines) = outcome(&r, &s);
    records.extend(rest);
    records.sort();
    (records, settlements, lines)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_sharded_split_gives_exactly_the_single_run(
        d in day_strategy(),
        own in prop::collection::vec((0u8..14, 0u8..6, -1i64..2, any::<bool>()), 0..8),
        shards in prop::sample::select(vec![1u32, 2, 3, 16]),
    ) {
        let (pgs, banks, rows) = build_with_own(&d, &own);
        let (r, s) = run(pgs.clone(), banks.clone(), rows.clone());
        let single = outcome(&r, &s);
        prop_assert_eq!(sharded_outcome(&pgs, &banks, rows, shards), single);
    }
}

#[test]
fn every_status_but_settled_and_every_line_check_is_one_exception_with_its_money_at_stake() {
    use super::exceptions::{settlement_exceptions, SettlementCategory};
    let pgs = vec![card("TXN1", 100_000, 4), card("TXN2", 100_000, 4), card("TXN3", 100_000, 4)];
    let rows = vec![
        // Short by 40 paise, with the fee 100 paise over the contract on TXN1 (tax on the
        // contracted fee, so GST is a mismatch too).
        row(2, "setl_1", UTR_A, 5, RowKind::Payment, "TXN1", 100_000, 2_100, 360),
        paid(3, "setl_1", UTR_A, "TXN2"),
        // No credit anywhere: TXN3's settlement, and a payment of a transaction nobody captured.
        row(4, "setl_2", UTR_B, 5, RowKind::Payment, "TXN3", 100_000, 2_000, 360),
        row(5, "setl_2", UTR_B, 5, RowKind::Payment, "GHOST", 50_000, 1_000, 180),
    ];
    let owed = 97_640 + 97_540;
    let (rec, s) = run(pgs, vec![credit(10, owed - 40, "NEFT CR HDFCN52026100512", 5)], rows);
    let found = settlement_exceptions(&s, &rec.bank);
    let seen: Vec<_> = found
        .iter()
        .map(|e| {
            let txn = e.pg.map(|p| rec.pg[p as usize].txn_id);
            (e.category.as_str(), e.settlement_id, txn, e.delta.0, e.at_stake.0, e.row.map(|r| r.1))
        })
        .collect();
    let mut expected = vec![
        ("SHORT_CREDIT", "setl_1", None, -40, 40, None),
        // Its transactions' own exceptions carry the money: not counted twice.
        ("CREDIT_MISSING", "setl_2", None, -(97_640 + 48_820), 0, None),
        ("FEE_MISMATCH", "setl_1", Some("TXN1"), 100, 100, Some(2)),
        // 18 % of the 2,100 paise charged is 378, not the 360 written.
        // (Charged less than its own fee's GST: nothing overcharged.)
        ("GST_MISMATCH", "setl_1", Some("TXN1"), -18, 0, Some(2)),
        ("UNKNOWN_TXN", "setl_2", None, 50_000, 50_000, Some(5)),
    ];
    let mut seen_sorted = seen.clone();
    seen_sorted.sort();
    expected.sort();
    assert_eq!(seen_sorted, expected, "as listed: {seen:?}");
    // Each finding has its own id, and the same finding the same id in another run.
    let ids: std::collections::BTreeSet<String> = found.iter().map(|e| e.id()).collect();
    assert_eq!(ids.len(), found.len());
    let short = &found[0];
    assert_eq!(short.bank.map(|b| rec.bank[b as usize].bank_ref()), Some("hdfc.csv:10".to_string()));
    assert!(short.reason.contains("40 paise short"), "{}", short.reason);
    assert_eq!(SettlementCategory::of_status(SettlementStatus::ShortCredit), Some(short.category));

    // The KPIs count each under its settlement's day: the merchant of a captured transaction,
    // the source of the credit; the money at stake is what the overview shows open.
    let mut kpis = crate::kpi::Kpis::default();
    kpis.add_settlement_exceptions(&found, &rec, &|_| "HDFC".to_string());
    let day = kpis.0.get(&day(5).to_string()).expect("the settlements' day");
    let all = &day["ALL"].exceptions;
    assert_eq!(all.len(), 5);
    assert_eq!((all["CREDIT_MISSING"].count, all["CREDIT_MISSING"].exposure()), (1, 0));
    assert_eq!((all["FEE_MISMATCH"].exposure(), all["GST_MISMATCH"].exposure()), (100, 0));
    assert_eq!((all["SHORT_CREDIT"].amount_delta_paise, all["SHORT_CREDIT"].exposure()), (-40, 40));
    assert_eq!(all["UNKNOWN_TXN"].pg_records, 0, "records are placed by the engine, not here");
    let merchant = &day[&format!("MERCHANT#{}", rec.pg[0].merchant_id)].exceptions;
    assert_eq!(merchant.keys().collect::<Vec<_>>(), ["FEE_MISMATCH", "GST_MISMATCH"]);
    let source = &day["SOURCE#HDFC"].exceptions;
    assert_eq!(source.keys().collect::<Vec<_>>(), ["FEE_MISMATCH", "GST_MISMATCH", "SHORT_CREDIT"]);
}

#[test]
fn a_row_naming_a_transaction_exported_on_another_capture_day_is_not_unknown() {
    // The residual shard of a job for one day: TXN2 was exported on the next day (another
    // job's), GHOST never.
    let rows =
        vec![paid(2, "setl_1", UTR_A, "TXN1"), paid(3, "setl_1", UTR_A, "TXN2"), paid(4, "setl_1", UTR_A, "GHOST")];
    let mut closed = crate::engine::ClosedRecords::default();
    closed.exported_elsewhere.insert("TXN2".to_string());
    let (_, s) = crate::engine::reconcile_residual(
        vec![card("TXN1", 100_000, 4)],
        vec![credit(10, 3 * 97_640, "NEFT CR HDFCN52026100512", 5)],
        &closed,
        rows,
        &FeeSchedule::default(),
        &MatchConfig::default(),
    );
    assert_eq!(line_checks(&s), [("GHOST", LineCategory::UnknownTxn, None, 100_000)]);
    // Its row still counts in what the credit must cover.
    assert_eq!(statuses(&s), [("setl_1", SettlementStatus::Settled, 0)]);
}
