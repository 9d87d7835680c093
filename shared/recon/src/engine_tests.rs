//! Engine behaviour: one test per category and rule, and properties over random inputs.

use super::*;
use crate::money::Paise;
use crate::outcome::Category::*;
use crate::utr::find_utr;
use proptest::prelude::*;
use std::collections::BTreeSet;

use crate::test_records::{credit, day, pg, shuffle};

/// (category, txn_ids, bank refs) of every exception.
fn exceptions(r: &Reconciliation<'_>) -> Vec<(Category, Vec<String>, Vec<String>)> {
    r.exceptions
        .iter()
        .map(|e| {
            (
                e.category,
                e.pg.iter().map(|&p| r.pg[p as usize].txn_id.to_string()).collect(),
                e.bank.iter().map(|&b| r.bank[b as usize].bank_ref()).collect(),
            )
        })
        .collect()
}

fn matches(r: &Reconciliation<'_>) -> Vec<(String, String)> {
    r.matches.iter().map(|m| (r.pg[m.pg as usize].txn_id.to_string(), r.bank[m.bank as usize].bank_ref())).collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn utr_amount_and_next_day_credit_is_an_auto_match_with_its_explanation() {
    let cfg = MatchConfig::default();
    let r =
        reconcile(vec![pg("T1", 85_000, "629412345678", 1)], vec![credit(5, 85_000, "UPI/629412345678/X", 2)], &cfg);
    assert_eq!(matches(&r), [("T1".to_string(), "hdfc.csv:5".to_string())]);
    assert!(r.exceptions.is_empty());
    assert_eq!(r.matches[0].score.confidence(), 7_742);
    assert_eq!(r.matches[0].score.explain(&cfg), "utr:1 amount:0.8 date:0.6 = 2.4/3.1");
}

#[test]
fn a_utr_twice_on_the_bank_side_is_one_duplicate_group_and_nothing_auto_matches() {
    let r = reconcile(
        vec![pg("T1", 85_000, "629412345678", 1)],
        vec![credit(5, 85_000, "UPI/629412345678/X", 2), credit(9, 85_000, "UPI/629412345678/X", 2)],
        &MatchConfig::default(),
    );
    assert!(r.matches.is_empty());
    assert_eq!(exceptions(&r), [(DuplicateUtr, s(&["T1"]), s(&["hdfc.csv:5", "hdfc.csv:9"]))]);
    assert_eq!(r.exceptions[0].amount_delta, 85_000);
    assert!(r.reason(&r.exceptions[0]).contains("629412345678 appears on 1 PG transaction(s) and 2 bank credit(s)"));
}

#[test]
fn a_utr_twice_on_the_pg_side_is_a_duplicate_group_too() {
    let r = reconcile(
        vec![pg("T1", 500, "629412345678", 1), pg("T2", 500, "629412345678", 1)],
        vec![],
        &MatchConfig::default(),
    );
    assert_eq!(exceptions(&r), [(DuplicateUtr, s(&["T1", "T2"]), vec![])]);
}

#[test]
fn same_utr_different_amount_is_an_amount_mismatch_with_the_delta() {
    let r = reconcile(
        vec![pg("T1", 85_000, "629412345678", 1)],
        vec![credit(5, 84_900, "UPI/629412345678/X", 2)],
        &MatchConfig::default(),
    );
    assert_eq!(exceptions(&r), [(AmountMismatch, s(&["T1"]), s(&["hdfc.csv:5"]))]);
    assert_eq!(r.exceptions[0].amount_delta, -100);
    assert_eq!(r.reason(&r.exceptions[0]), "UTR 629412345678: bank credited 100 paise less than the PG amount");
}

#[test]
fn a_credit_without_utr_gets_the_pg_transaction_as_a_suggestion_under_utr_missing() {
    let r = reconcile(
        vec![pg("T1", 85_000, "629412345678", 1), pg("T2", 99_999, "629412345679", 1)],
        vec![credit(5, 85_000, "NEFT CREDIT ACME", 2)],
        &MatchConfig::default(),
    );
    assert_eq!(exceptions(&r), [(UtrMissing, s(&["T1"]), s(&["hdfc.csv:5"])), (UnmatchedPg, s(&["T2"]), vec![])]);
    let e = &r.exceptions[0];
    assert_eq!(e.suggestion.unwrap().score.confidence(), 4_516);
    assert!(r.reason(e).starts_with("bank credit has no UTR; suggested pair T1 ↔ hdfc.csv:5 at confidence 0.4516"));
}

#[test]
fn records_without_any_counterpart_are_unmatched_or_utr_missing() {
    let r = reconcile(
        vec![pg("T1", 1_000, "629412345678", 1), pg("T2", 2_000, "", 1)],
        vec![credit(5, 3_000, "UPI/629412345670/X", 2), credit(6, 4_000, "CASH DEPOSIT", 2)],
        &MatchConfig::default(),
    );
    assert_eq!(
        exceptions(&r),
        [
            (UtrMissing, s(&["T2"]), vec![]),
            (UtrMissing, vec![], s(&["hdfc.csv:6"])),
            (UnmatchedPg, s(&["T1"]), vec![]),
            (UnmatchedBank, vec![], s(&["hdfc.csv:5"])),
        ]
    );
    let deltas: i64 = r.exceptions.iter().map(|e| e.amount_delta).sum();
    assert_eq!(deltas, 3_000 + 4_000 - 1_000 - 2_000);
}

#[test]
fn two_different_utrs_are_never_paired_by_amount() {
    let r = reconcile(
        vec![pg("T1", 1_000, "629412345678", 1)],
        vec![credit(5, 1_000, "UPI/629412345670/X", 2)],
        &MatchConfig::default(),
    );
    assert_eq!(r.exceptions.iter().map(|e| e.category).collect::<Vec<_>>(), [UnmatchedPg, UnmatchedBank]);
}

#[test]
fn fallback_is_one_to_one_and_prefers_the_closer_date() {
    let r = reconcile(
        vec![pg("T1", 1_000, "", 1), pg("T2", 1_000, "", 2)],
        vec![credit(5, 1_000, "CREDIT", 3)],
        &MatchConfig::default(),
    );
    assert_eq!(exceptions(&r), [(UtrMissing, s(&["T1"]), vec![]), (UtrMissing, s(&["T2"]), s(&["hdfc.csv:5"]))]);
}

#[test]
fn candidates_beyond_the_date_window_or_amount_tolerance_are_not_suggested() {
    let r = reconcile(
        vec![pg("T1", 1_000, "", 1), pg("T2", 5_000, "", 10)],
        vec![credit(5, 1_000, "CREDIT", 4), credit(6, 5_100, "CREDIT", 10)],
        &MatchConfig::default(),
    );
    assert!(r.exceptions.iter().all(|e| e.suggestion.is_none()));
    assert_eq!(r.exceptions.len(), 4);
}

#[test]
fn merchant_ref_in_the_narration_lifts_a_late_same_utr_pair_over_the_threshold() {
    let with_ref = pg("T1", 85_000, "629412345678", 1).with_ref("ORD-77");
    let late = credit(5, 85_000, "UPI/629412345678/ord-77", 4);
    let r = reconcile(vec![with_ref], vec![late], &MatchConfig::default());
    assert_eq!(r.matches.len(), 1);
    assert_eq!(r.matches[0].score.explain(&r.config), "utr:1 amount:0.8 merchant_ref:0.7 = 2.5/3.1");
    // Without the reference the same pair is 1.8/3.1, under 0.75: a suggestion, not a match.
    let r = reconcile(vec![pg("T1", 85_000, "629412345678", 1)], vec![late], &MatchConfig::default());
    assert_eq!(exceptions(&r), [(UnmatchedPg, s(&["T1"]), s(&["hdfc.csv:5"]))]);
    assert!(r.reason(&r.exceptions[0]).starts_with("same UTR but confidence below the 0.75 threshold"));
}

#[test]
fn with_auto_resolve_off_confident_pairs_wait_for_review() {
    let cfg = MatchConfig { auto_resolve: false, ..MatchConfig::default() };
    let r =
        reconcile(vec![pg("T1", 85_000, "629412345678", 1)], vec![credit(5, 85_000, "UPI/629412345678/X", 2)], &cfg);
    assert!(r.matches.is_empty());
    assert_eq!(r.exceptions[0].suggestion.unwrap().score.confidence(), 7_742);
    assert!(r.reason(&r.exceptions[0]).starts_with("auto-resolve is off"));
}

#[test]
fn a_lower_threshold_lets_amount_and_date_alone_auto_match() {
    let cfg = MatchConfig { threshold: 4_000, ..MatchConfig::default() };
    let r = reconcile(vec![pg("T1", 1_000, "", 1)], vec![credit(5, 1_000, "CREDIT", 2)], &cfg);
    assert_eq!(matches(&r), [("T1".to_string(), "hdfc.csv:5".to_string())]);
}

#[test]
fn exception_ids_are_stable_and_distinct() {
    let run = || {
        let r = reconcile(
            vec![pg("T1", 1_000, "629412345678", 1), pg("T2", 2_000, "", 1)],
            vec![credit(5, 3_000, "UPI/629412345670/X", 2)],
            &MatchConfig::default(),
        );
        r.exceptions.iter().map(|e| r.exception_id(e)).collect::<Vec<_>>()
    };
    let ids = run();
    assert_eq!(ids, run());
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len());
    assert!(ids.iter().all(|id| id.starts_with("EXC-") && id.len() == 20));
}

// ---- properties ----

#[derive(Clone, Debug)]
struct RawPg {
    amount: i64,
    utr: Option<u8>,
    day: u32,
    has_ref: bool,
}

#[derive(Clone, Debug)]
struct RawBank {
    file: u8,
    amount: i64,
    utr: Option<u8>,
    day: u32,
    ref_of: Option<u8>,
}

fn raw_pg() -> impl Strategy<Value = RawPg> {
    // Few distinct amounts, UTRs and days, so that collisions and duplicates are common.
    (
        prop::sample::select(vec![1_000i64, 1_050, 1_099, 1_100, 2_000, 2_150]),
        prop::option::of(0u8..12),
        1u32..6,
        any::<bool>(),
    )
        .prop_map(|(amount, utr, day, has_ref)| RawPg { amount, utr, day, has_ref })
}

fn raw_bank() -> impl Strategy<Value = RawBank> {
    (
        0u8..3,
        prop::sample::select(vec![1_000i64, 1_050, 1_099, 1_100, 2_000, 2_150]),
        prop::option::of(0u8..12),
        1u32..6,
        prop::option::of(0u8..20),
    )
        .prop_map(|(file, amount, utr, day, ref_of)| RawBank { file, amount, utr, day, ref_of })
}

struct Owned {
    ids: Vec<String>,
    refs: Vec<String>,
    narrations: Vec<String>,
}

fn build<'a>(o: &'a Owned, pgs: &[RawPg], banks: &[RawBank]) -> (Vec<PgTxn<'a>>, Vec<BankRow<'a>>) {
    const FILES: [&str; 3] = ["axis.csv", "hdfc.csv", "icici.csv"];
    let utr_text = |u: u8| format!("6294123456{u:02}");
    let p = pgs
        .iter()
        .enumerate()
        .map(|(i, r)| PgTxn {
            txn_id: &o.ids[i],
            merchant_ref: if r.has_ref { &o.refs[i] } else { "" },
            amount: Paise(r.amount),
            utr: r.utr.and_then(|u| find_utr(&utr_text(u))),
            date: day(r.day),
            ..pg("", 0, "", 1)
        })
        .collect();
    let b = banks
        .iter()
        .enumerate()
        .map(|(i, r)| BankRow {
            file: FILES[r.file as usize],
            line: i as u32 + 2,
            amount: Paise(r.amount),
            utr: r.utr.and_then(|u| find_utr(&utr_text(u))),
            date: day(r.day),
            narration: &o.narrations[i],
            direction: crate::bank_file::Direction::Credit,
        })
        .collect();
    (p, b)
}

fn owned(pgs: &[RawPg], banks: &[RawBank]) -> Owned {
    Owned {
        // Short ids and long ones sharing their first 16 bytes: ordering by id must not depend on
        // which of the two the id key decides alone (`crate::id_key`).
        ids: (0..pgs.len())
            .map(|i| if i % 2 == 0 { format!("T{i:03}") } else { format!("TXN-LONG-PREFIX-{i:03}") })
            .collect(),
        refs: (0..pgs.len()).map(|i| format!("REF-{i:03}")).collect(),
        narrations: banks.iter().map(|b| b.ref_of.map(|r| format!("NEFT REF-{r:03} CR")).unwrap_or_default()).collect(),
    }
}

type Fingerprint =
    (BTreeSet<(String, String, u32)>, BTreeSet<(Category, Vec<String>, Vec<String>, Option<(String, String)>)>);

fn fingerprint(r: &Reconciliation<'_>) -> Fingerprint {
    let m = r
        .matches
        .iter()
        .map(|m| (r.pg[m.pg as usize].txn_id.to_string(), r.bank[m.bank as usize].bank_ref(), m.score.points))
        .collect();
    let e = r
        .exceptions
        .iter()
        .map(|e| {
            let (c, p, b) = (
                e.category,
                e.pg.iter().map(|&p| r.pg[p as usize].txn_id.to_string()).collect(),
                e.bank.iter().map(|&b| r.bank[b as usize].bank_ref()).collect(),
            );
            let s = e.suggestion.map(|s| (r.pg[s.pg as usize].txn_id.to_string(), r.bank[s.bank as usize].bank_ref()));
            (c, p, b, s)
        })
        .collect();
    (m, e)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_record_ends_in_exactly_one_place(pgs in prop::collection::vec(raw_pg(), 0..40), banks in prop::collection::vec(raw_bank(), 0..40)) {
        let o = owned(&pgs, &banks);
        let (p, b) = build(&o, &pgs, &banks);
        let r = reconcile(p, b, &MatchConfig::default());
        let mut seen_pg = vec![0u32; r.pg.len()];
        let mut seen_bank = vec![0u32; r.bank.len()];
        for m in &r.matches {
            seen_pg[m.pg as usize] += 1;
            seen_bank[m.bank as usize] += 1;
        }
        for e in &r.exceptions {
            prop_assert!(!e.pg.is_empty() || !e.bank.is_empty());
            for &i in &e.pg { seen_pg[i as usize] += 1; }
            for &i in &e.bank { seen_bank[i as usize] += 1; }
            if let Some(s) = e.suggestion {
                prop_assert!(e.pg.contains(&s.pg) && e.bank.contains(&s.bank), "a suggestion is covered by its exception");
            }
        }
        prop_assert!(seen_pg.iter().all(|&n| n == 1), "{seen_pg:?}");
        prop_assert!(seen_bank.iter().all(|&n| n == 1), "{seen_bank:?}");
        // Money is conserved: matched deltas plus exception deltas is bank total minus PG total.
        let matched: i64 = r.matches.iter().map(|m| m.score.amount_delta).sum();
        let excepted: i64 = r.exceptions.iter().map(|e| e.amount_delta).sum();
        let total: i64 = r.bank.iter().map(|b| b.amount.0).sum::<i64>() - r.pg.iter().map(|p| p.amount.0).sum::<i64>();
        prop_assert_eq!(matched + excepted, total);
    }

    #[test]
    fn shuffling_rows_and_files_does_not_change_the_result(
        pgs in prop::collection::vec(raw_pg(), 0..40),
        banks in prop::collection::vec(raw_bank(), 0..40),
        seed in any::<u64>(),
    ) {
        let o = owned(&pgs, &banks);
        let (p, b) = build(&o, &pgs, &banks);
        let cfg = MatchConfig::default();
        let expected = fingerprint(&reconcile(p.clone(), b.clone(), &cfg));
        let (mut p2, mut b2) = (p, b);
        shuffle(&mut p2, seed);
        shuffle(&mut b2, seed.rotate_left(17));
        prop_assert_eq!(fingerprint(&reconcile(p2, b2, &cfg)), expected);
    }
}

/// Runs the sharded pipeline in-process: UTR shards by partition, then one residual run over what
/// every shard left open plus the records without a UTR.
fn sharded_fingerprint<'a>(p: &[PgTxn<'a>], b: &[BankRow<'a>], shards: u32, cfg: &MatchConfig) -> Fingerprint {
    use crate::shard::Partition;
    let mut matches = BTreeSet::new();
    let mut exceptions = BTreeSet::new();
    let mut residual_pg: Vec<PgTxn<'a>> = p.iter().filter(|t| t.utr.is_none()).copied().collect();
    let mut residual_bank: Vec<BankRow<'a>> = b.iter().filter(|r| r.utr.is_none()).copied().collect();
    for s in 0..shards {
        let in_shard = |u: Option<crate::utr::Utr>| Partition::of(u).shard(shards) == Some(s);
        let out = reconcile_utr_shard(
            p.iter().filter(|t| in_shard(t.utr)).copied().collect(),
            b.iter().filter(|r| in_shard(r.utr)).copied().collect(),
            cfg,
        );
        let (m, e) = fingerprint(&out.settled);
        matches.extend(m);
        exceptions.extend(e);
        residual_pg.extend(out.open_pg.iter().map(|&i| out.settled.pg[i as usize]));
        residual_bank.extend(out.open_bank.iter().map(|&i| out.settled.bank[i as usize]));
    }
    let (m, e) = fingerprint(&reconcile(residual_pg, residual_bank, cfg));
    matches.extend(m);
    exceptions.extend(e);
    (matches, exceptions)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn sharded_runs_give_exactly_the_single_run_result(
        pgs in prop::collection::vec(raw_pg(), 0..40),
        banks in prop::collection::vec(raw_bank(), 0..40),
        shards in prop::sample::select(vec![1u32, 2, 3, 16, 64]),
    ) {
        let o = owned(&pgs, &banks);
        let (p, b) = build(&o, &pgs, &banks);
        let cfg = MatchConfig::default();
        let single = fingerprint(&reconcile(p.clone(), b.clone(), &cfg));
        prop_assert_eq!(sharded_fingerprint(&p, &b, shards, &cfg), single);
    }
}
