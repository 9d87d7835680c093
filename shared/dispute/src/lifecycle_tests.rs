//! The lifecycle's moves, valid and invalid, and the money each makes exactly once.

use crate::file::{FileRow, Step};
use crate::lifecycle::{apply, apply_row, open, Action, Applied, Context, Opening, Verdict};
use crate::model::{Answer, Dispute, Evidence, Money, Network, NetworkRow, Outcome, Stage, Status, Txn};
use crate::rules::Rules;
use proptest::prelude::*;
use settlepaisa_payout::calendar::Calendar;
use settlepaisa_recon::date::{parse_rfc3339, Date};

fn day(s: &str) -> Date {
    Date::parse_iso(s).unwrap()
}

fn txn(method: &str) -> Txn {
    Txn {
        txn_id: "T1".into(),
        merchant_id: "M1".into(),
        merchant_ref: "ORD-1".into(),
        method: method.into(),
        amount_paise: 10_000,
        rrn: Some("412345678901".into()),
        captured_at: parse_rfc3339("2026-10-01T10:00:00+05:30").unwrap(),
        capture_day: day("2026-10-01"),
    }
}

fn cx<'a>(rules: &'a Rules, cal: &'a Calendar, now: &str) -> Context<'a> {
    Context { rules, calendar: cal, now: parse_rfc3339(now).unwrap(), by: "test" }
}

fn opening(network: Network, stage: Stage) -> Opening {
    Opening {
        dispute_id: "D1".into(),
        network,
        source: "HDFC".into(),
        txn: txn(if network == Network::Upi { "UPI" } else { "CARD" }),
        amount_paise: 4_000,
        reason_code: "10.4".into(),
        reason: "fraud".into(),
        row: NetworkRow { step: Step::Stage(stage), raised_on: day("2026-10-05"), respond_by: None },
    }
}

/// A stage raised, as a file row says it.
fn raise(stage: Stage, on: &str) -> Action {
    Action::Network(NetworkRow { step: Step::Stage(stage), raised_on: day(on), respond_by: None })
}

const NOW: &str = "2026-10-05T12:00:00+05:30";

fn opened(stage: Stage) -> Applied {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    open(opening(Network::Visa, stage), &cx(&rules, &cal, NOW)).unwrap()
}

fn changed(v: Result<Verdict, String>) -> Applied {
    match v {
        Ok(Verdict::Changed(a)) => a,
        other => panic!("expected a change, got {other:?}"),
    }
}

fn with_evidence(mut d: Dispute) -> Dispute {
    d.evidence.push(Evidence {
        evidence_id: "E1".into(),
        file_name: "invoice.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: 10,
        key: "k".into(),
        stage: d.stage,
        submitted: false,
        created_at: 0,
    });
    d
}

fn respond(answer: Answer, key: &str) -> Action {
    Action::Respond { answer, evidence_ids: vec!["E1".into()], note: "see invoice".into(), idempotency_key: key.into() }
}

#[test]
fn a_chargeback_opens_needing_a_response_and_debits_at_onset() {
    let a = opened(Stage::Chargeback);
    assert_eq!((a.dispute.stage, a.dispute.status), (Stage::Chargeback, Status::NeedsResponse));
    assert_eq!(a.money, [Money::Debit { adjustment_id: "D1-debit".into(), amount_paise: 4_000 }]);
    assert!(a.dispute.is_debited());
    // 2026-10-05 (Mon) + 3 business days = Thu 2026-10-08, end of day IST.
    assert_eq!(a.dispute.respond_by, parse_rfc3339("2026-10-08T23:59:59+05:30").unwrap());
}

#[test]
fn a_retrieval_moves_no_money_until_it_becomes_a_chargeback() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let a = opened(Stage::Retrieval);
    assert!(a.money.is_empty());
    let up = raise(Stage::Chargeback, "2026-10-05");
    let b = changed(apply(&a.dispute, &up, &cx(&rules, &cal, NOW)));
    assert_eq!(b.money.len(), 1);
    assert_eq!((b.dispute.stage, b.dispute.status, b.dispute.version), (Stage::Chargeback, Status::NeedsResponse, 1));
}

#[test]
fn without_deduct_at_onset_the_debit_waits_for_the_loss() {
    let rules = Rules::with_deduct_at_onset(Some("VISA")).unwrap();
    let cal = Calendar::new([]);
    let a = open(opening(Network::Upi, Stage::Chargeback), &cx(&rules, &cal, NOW)).unwrap();
    assert!(a.money.is_empty());
    let lost = changed(apply(&a.dispute, &Action::Decide(Outcome::Lost), &cx(&rules, &cal, NOW)));
    assert_eq!(lost.money.len(), 1);
    let won = changed(apply(&a.dispute, &Action::Decide(Outcome::Won), &cx(&rules, &cal, NOW)));
    assert!(won.money.is_empty(), "nothing taken, nothing given back");
}

#[test]
fn contest_then_win_reverses_the_debit_once() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let d = with_evidence(opened(Stage::Chargeback).dispute);
    let c = changed(apply(&d, &respond(Answer::Contest, "k-1"), &cx(&rules, &cal, NOW)));
    assert_eq!(c.dispute.status, Status::UnderReview);
    assert!(c.dispute.evidence[0].submitted);
    assert!(c.money.is_empty());
    let w = changed(apply(&c.dispute, &Action::Decide(Outcome::Won), &cx(&rules, &cal, NOW)));
    assert_eq!(w.money, [Money::Reversal { adjustment_id: "D1-reversal".into(), amount_paise: 4_000 }]);
    let again = apply(&w.dispute, &Action::Decide(Outcome::Won), &cx(&rules, &cal, NOW)).unwrap();
    assert!(matches!(again, Verdict::Unchanged(_)));
}

#[test]
fn every_invalid_move_is_refused_with_its_reason() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, NOW);
    let d = with_evidence(opened(Stage::Chargeback).dispute);
    let lost = changed(apply(&d, &Action::Decide(Outcome::Lost), &c)).dispute;
    assert!(apply(&lost, &Action::Decide(Outcome::Won), &c).unwrap_err().contains("lost"));
    assert!(apply(&lost, &respond(Answer::Accept, "k-1"), &c).unwrap_err().contains("needs_response"));
    let accepted = changed(apply(&d, &respond(Answer::Accept, "k-1"), &c)).dispute;
    assert_eq!(accepted.status, Status::Accepted);
    assert!(apply(&accepted, &Action::Decide(Outcome::Won), &c).is_err());
    assert!(apply(&accepted, &respond(Answer::Contest, "k-2"), &c).unwrap_err().contains("recorded already"));
    let none = Action::Respond {
        answer: Answer::Contest,
        evidence_ids: vec![],
        note: String::new(),
        idempotency_key: "k-3".into(),
    };
    assert!(apply(&d, &none, &c).unwrap_err().contains("evidence"));
    let foreign = Action::Respond {
        answer: Answer::Contest,
        evidence_ids: vec!["E9".into()],
        note: String::new(),
        idempotency_key: "k".into(),
    };
    assert!(apply(&d, &foreign, &c).unwrap_err().contains("E9"));
    // An earlier stage is recorded and moves nothing; a lost dispute is not reopened; a row
    // recorded already is a replay.
    let back = raise(Stage::Retrieval, "2026-10-05");
    let b = changed(apply(&d, &back, &c));
    assert_eq!((b.dispute.stage, b.dispute.status, b.money.len()), (Stage::Chargeback, Status::NeedsResponse, 0));
    assert!(matches!(apply(&b.dispute, &back, &c).unwrap(), Verdict::Unchanged(_)));
    let up = raise(Stage::Arbitration, "2026-10-09");
    let l = changed(apply(&lost, &up, &c));
    assert_eq!((l.dispute.stage, l.dispute.status, l.money.len()), (Stage::Chargeback, Status::Lost, 0));
    let contradiction = Action::Network(NetworkRow {
        step: Step::Outcome(Outcome::Won),
        raised_on: day("2026-10-05"),
        respond_by: None,
    });
    assert!(apply(&lost, &contradiction, &c).unwrap_err().contains("contradicts"));
    assert!(matches!(apply(&d, &Action::Expire, &c).unwrap(), Verdict::Unchanged(_)), "not yet due");
}

#[test]
fn a_response_one_second_late_is_refused_and_expiry_then_takes_it() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let d = with_evidence(opened(Stage::Chargeback).dispute);
    let on_time = cx(&rules, &cal, "2026-10-08T23:59:59+05:30");
    assert!(matches!(apply(&d, &respond(Answer::Contest, "k-1"), &on_time), Ok(Verdict::Changed(_))));
    let late = cx(&rules, &cal, "2026-10-09T00:00:00+05:30");
    assert!(apply(&d, &respond(Answer::Contest, "k-1"), &late)
        .unwrap_err()
        .contains("due by 2026-10-08T23:59:59+05:30"));
    let expired = changed(apply(&d, &Action::Expire, &late));
    assert_eq!(expired.dispute.status, Status::Expired);
    assert!(expired.money.is_empty(), "debited at onset already");
    // The network's word is final: an expired dispute can still be won.
    let won = changed(apply(&expired.dispute, &Action::Decide(Outcome::Won), &late));
    assert_eq!(won.money.len(), 1);
}

#[test]
fn the_same_response_again_is_a_replay_and_a_new_stage_takes_a_new_one() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, NOW);
    let d = with_evidence(opened(Stage::Chargeback).dispute);
    let r = changed(apply(&d, &respond(Answer::Contest, "k-1"), &c)).dispute;
    assert!(matches!(apply(&r, &respond(Answer::Contest, "k-1"), &c).unwrap(), Verdict::Unchanged(_)));
    let up = raise(Stage::PreArbitration, "2026-10-05");
    let p = changed(apply(&r, &up, &c)).dispute;
    assert_eq!(p.status, Status::NeedsResponse);
    let r2 = changed(apply(&p, &respond(Answer::Contest, "k-2"), &c)).dispute;
    assert_eq!(r2.responses.len(), 2);
}

#[test]
fn reminders_are_recorded_once_a_stage() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, NOW);
    let d = opened(Stage::Chargeback).dispute;
    let r = changed(apply(&d, &Action::Remind, &c)).dispute;
    assert_eq!(r.reminded, Some(Stage::Chargeback));
    assert!(matches!(apply(&r, &Action::Remind, &c).unwrap(), Verdict::Unchanged(_)));
}

#[test]
fn openings_outside_the_rules_are_refused() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, NOW);
    let mut o = opening(Network::Upi, Stage::Chargeback);
    o.row.raised_on = day("2026-11-16");
    assert!(open(o, &cx(&rules, &cal, "2026-11-20T10:00:00+05:30")).unwrap_err().contains("allows 45"));
    let mut o = opening(Network::Upi, Stage::Chargeback);
    o.row.raised_on = day("2026-10-06");
    assert!(open(o, &c).unwrap_err().contains("after today"), "raised tomorrow");
    let mut o = opening(Network::Visa, Stage::Chargeback);
    o.amount_paise = 10_001;
    assert!(open(o, &c).unwrap_err().contains("within the transaction"));
    let mut o = opening(Network::Visa, Stage::Chargeback);
    o.txn.method = "UPI".into();
    assert!(open(o, &c).unwrap_err().contains("VISA dispute"));
}

fn row(line: usize, step: Step) -> FileRow {
    dated(line, step, "2026-10-05")
}

fn dated(line: usize, step: Step, raised_on: &str) -> FileRow {
    FileRow {
        line,
        dispute_ref: "D1".into(),
        network: Network::Visa,
        txn_id: Some("T1".into()),
        rrn: None,
        amount_paise: 4_000,
        reason_code: "10.4".into(),
        reason: "fraud".into(),
        step,
        raised_on: day(raised_on),
        respond_by: None,
    }
}

/// Rows applied one after another as files would be; the adjustments made.
fn replay(rows: &[FileRow]) -> (Option<Dispute>, Vec<Money>) {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, "2026-10-20T12:00:00+05:30");
    let (mut d, mut money): (Option<Dispute>, Vec<Money>) = (None, Vec::new());
    for r in rows {
        if let Ok(Verdict::Changed(a)) = apply_row(d.as_ref(), r, Some(txn("CARD")), "HDFC", &c) {
            money.extend(a.money);
            d = Some(a.dispute);
        }
    }
    (d, money)
}

/// What the adjustments took from the merchant, and whether any id came twice.
fn net(money: &[Money]) -> (i64, bool) {
    let mut ids = std::collections::BTreeSet::new();
    let mut twice = false;
    let mut taken = 0;
    for m in money {
        let (id, p) = match m {
            Money::Debit { adjustment_id, amount_paise } => (adjustment_id, *amount_paise),
            Money::Reversal { adjustment_id, amount_paise } => (adjustment_id, -amount_paise),
        };
        twice |= !ids.insert(id.clone());
        taken += p;
    }
    (taken, twice)
}

#[test]
fn a_row_naming_another_transaction_or_amount_is_refused() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, NOW);
    let (d, _) = replay(&[row(2, Step::Stage(Stage::Chargeback))]);
    let mut other = row(3, Step::Outcome(Outcome::Won));
    other.txn_id = Some("T2".into());
    assert!(apply_row(d.as_ref(), &other, None, "HDFC", &c).unwrap_err().contains("for transaction T1"));
    let mut more = row(3, Step::Outcome(Outcome::Won));
    more.amount_paise = 4_001;
    assert!(apply_row(d.as_ref(), &more, None, "HDFC", &c).unwrap_err().contains("4000 paise"));
    assert!(apply_row(None, &row(2, Step::Stage(Stage::Chargeback)), None, "HDFC", &c).is_err());
}

/// A chargeback won on representment, disputed again at pre-arbitration and lost there: each
/// outcome row carries the raise date of the stage it decides.
fn lost_after_a_win() -> Vec<FileRow> {
    vec![
        dated(2, Step::Stage(Stage::Retrieval), "2026-10-05"),
        dated(3, Step::Stage(Stage::Chargeback), "2026-10-06"),
        dated(4, Step::Outcome(Outcome::Won), "2026-10-06"),
        dated(5, Step::Stage(Stage::PreArbitration), "2026-10-10"),
        dated(6, Step::Outcome(Outcome::Lost), "2026-10-10"),
    ]
}

#[test]
fn in_order_a_won_chargeback_is_reversed_and_debited_again_when_disputed_again() {
    let (d, money) = replay(&lost_after_a_win());
    let ids: Vec<String> = money
        .iter()
        .map(|m| match m {
            Money::Debit { adjustment_id, .. } | Money::Reversal { adjustment_id, .. } => adjustment_id.clone(),
        })
        .collect();
    assert_eq!(ids, ["D1-debit", "D1-reversal", "D1-debit-2"]);
    let d = d.unwrap();
    assert_eq!((d.stage, d.status), (Stage::PreArbitration, Status::Lost));
}

proptest! {
    /// Whatever order a dispute's files arrive in, and however often, the merchant ends owing
    /// the same, and no adjustment is made twice.
    #[test]
    fn money_is_the_same_in_any_order_and_on_any_redelivery(
        order in Just(lost_after_a_win()).prop_shuffle(),
        repeat in 0usize..5,
        at in 0usize..6,
    ) {
        let mut rows = order.clone();
        rows.insert(at, order[repeat].clone());
        let (d, money) = replay(&rows);
        let d = d.unwrap();
        prop_assert_eq!(d.status, Status::Lost);
        prop_assert_eq!(net(&money), (4_000, false));
        prop_assert!(d.is_debited());
    }

    /// Won at the chargeback, disputed again and won at pre-arbitration, in any order and with
    /// a row again anywhere: nothing taken in the end.
    #[test]
    fn won_twice_ends_owing_nothing(
        order in Just(vec![
            dated(2, Step::Stage(Stage::Chargeback), "2026-10-06"),
            dated(3, Step::Outcome(Outcome::Won), "2026-10-06"),
            dated(4, Step::Stage(Stage::PreArbitration), "2026-10-10"),
            dated(5, Step::Outcome(Outcome::Won), "2026-10-10"),
        ]).prop_shuffle(),
        repeat in 0usize..4,
        at in 0usize..5,
    ) {
        let mut rows = order.clone();
        rows.insert(at, order[repeat].clone());
        let (d, money) = replay(&rows);
        let d = d.unwrap();
        prop_assert_eq!((d.stage, d.status), (Stage::PreArbitration, Status::Won));
        prop_assert_eq!(net(&money), (0, false));
    }

    /// A dispute won at its chargeback, in any order: nothing taken in the end.
    #[test]
    fn a_won_dispute_ends_owing_nothing(order in Just(vec![
        dated(2, Step::Stage(Stage::Retrieval), "2026-10-05"),
        dated(3, Step::Stage(Stage::Chargeback), "2026-10-06"),
        dated(4, Step::Outcome(Outcome::Won), "2026-10-06"),
    ]).prop_shuffle()) {
        let (d, money) = replay(&order);
        prop_assert_eq!(d.unwrap().status, Status::Won);
        prop_assert_eq!(net(&money), (0, false));
    }
}

#[test]
fn kpi_counters_follow_a_dispute_through_its_life() {
    use crate::kpi::{delta, figures};
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, NOW);
    let opened = opened(Stage::Chargeback).dispute;
    let mut totals: std::collections::BTreeMap<String, i64> = delta(None, &opened);
    let now = parse_rfc3339("2026-10-08T10:00:00+05:30").unwrap();
    let f = figures(&totals, now);
    assert_eq!((f.open, f.amount_at_risk_paise, f.due_within_24h), (1, 4_000, 1));
    assert_eq!(figures(&totals, parse_rfc3339("2026-10-06T10:00:00+05:30").unwrap()).due_within_24h, 0);
    let won = changed(apply(&opened, &Action::Decide(Outcome::Won), &c)).dispute;
    for (k, v) in delta(Some(&opened), &won) {
        *totals.entry(k).or_insert(0) += v;
    }
    let f = figures(&totals, now);
    assert_eq!((f.open, f.amount_at_risk_paise, f.due_within_24h, f.won, f.win_rate_bps), (0, 0, 0, 1, Some(10_000)));
}

#[test]
fn a_lost_dispute_stays_lost_and_an_outcome_is_judged_by_the_status() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, "2026-10-20T12:00:00+05:30");
    let cb = opened(Stage::Chargeback).dispute;
    // Ops record the loss; a later-dated `won` row neither flips it nor pays it back.
    let lost = changed(apply(&cb, &Action::Decide(Outcome::Lost), &c)).dispute;
    let won_later = Action::Network(NetworkRow {
        step: Step::Outcome(Outcome::Won),
        raised_on: day("2026-10-09"),
        respond_by: None,
    });
    let after = changed(apply(&lost, &won_later, &c));
    assert_eq!((after.dispute.status, after.money.len()), (Status::Lost, 0));
    assert!(apply(&after.dispute, &Action::Decide(Outcome::Won), &c).unwrap_err().contains("contradicts"));
    // Won by a later-dated row: ops' `lost` contradicts it, their `won` is a replay.
    let won = changed(apply(&cb, &won_later, &c)).dispute;
    assert_eq!(won.status, Status::Won);
    assert!(apply(&won, &Action::Decide(Outcome::Lost), &c).unwrap_err().contains("contradicts"));
    assert!(matches!(apply(&won, &Action::Decide(Outcome::Won), &c).unwrap(), Verdict::Unchanged(_)));
}

#[test]
fn a_files_own_deadline_wins_over_the_rules_table_whatever_came_first() {
    let (rules, cal) = (Rules::default(), Calendar::new([]));
    let c = cx(&rules, &cal, NOW);
    let given = parse_rfc3339("2026-10-20T18:00:00+05:30").unwrap();
    let with = Action::Network(NetworkRow {
        step: Step::Stage(Stage::Chargeback),
        raised_on: day("2026-10-05"),
        respond_by: Some(given),
    });
    let a = changed(apply(&opened(Stage::Chargeback).dispute, &with, &c)).dispute;
    assert_eq!(a.respond_by, given);
    let mut o = opening(Network::Visa, Stage::Chargeback);
    o.row.respond_by = Some(given);
    let first = open(o, &c).unwrap().dispute;
    let without = raise(Stage::Chargeback, "2026-10-05");
    assert_eq!(changed(apply(&first, &without, &c)).dispute.respond_by, given);
}
