//! Every move a dispute can make, validated, and the money each one takes or gives back.
//!
//! - The network's facts (a dispute file's rows; ops passing one on) are recorded once each, and
//!   the dispute's stage and status derived from all of them ([`crate::network`]): a re-delivered
//!   row changes nothing, and rows that come out of order give the dispute they give in order.
//! - The merchant responds once a stage, while `needs_response`, by `respond_by`: `accept`
//!   (lost by choice) or `contest` with evidence (`under_review`). The same `Idempotency-Key`
//!   again is a replay.
//! - Ops record the network's outcome (`won`, `lost`) for the current stage; one that contradicts
//!   a recorded outcome is refused.
//! - `expire` closes a `needs_response` stage past its deadline: treated as lost; the network's
//!   outcome still counts over it.
//!
//! Money ([`settle_money`]): the merchant owes the amount while a money stage is open on a
//! deduct-at-onset network, and once the dispute is lost; not while it is won. Each move makes the
//! one adjustment that brings what was taken to what is owed — a debit or a reversal, each under
//! its own id, made once with the change that calls for it. Whatever order a dispute's files come
//! in, the merchant ends owing the same.

use crate::file::FileRow;
use crate::model::{
    debit_id, reversal_id, Answer, Dispute, Event, Evidence, Money, Network, NetworkRow, Outcome, Response, Stage,
    Status, Step, Txn,
};
use crate::rules::Rules;
use settlepaisa_payout::calendar::Calendar;
use settlepaisa_recon::date::{format_ist, ist_date, Date};

/// What a move is judged against.
pub struct Context<'a> {
    pub rules: &'a Rules,
    pub calendar: &'a Calendar,
    /// Unix seconds.
    pub now: i64,
    /// Who moves it: a user id, a file and line, a function.
    pub by: &'a str,
}

/// A move that changed the dispute, and the adjustments it makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub dispute: Dispute,
    pub money: Vec<Money>,
}

// One verdict lives for one decision and is moved, not stored: boxing the dispute buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Changed(Applied),
    /// The dispute is already so (a re-delivery, a replay, a file older than what it knows).
    Unchanged(String),
}

/// A move the dispute's state does not allow, and why (a 409 for the API, a reject in a file).
pub type Refusal = String;

pub enum Action {
    /// A fact from the network: a stage raised, or an outcome (a dispute file's row).
    Network(NetworkRow),
    Respond {
        answer: Answer,
        evidence_ids: Vec<String>,
        note: String,
        idempotency_key: String,
    },
    Decide(Outcome),
    Expire,
    Remind,
    /// A document for this stage's response, a draft until the response names it.
    AddEvidence(Evidence),
    /// Something done about the dispute that does not move it (a representment sent).
    Record {
        kind: String,
        detail: String,
    },
}

/// Documents a stage's response may carry.
pub const MAX_EVIDENCE_PER_STAGE: usize = 10;

/// What opening a dispute needs: the transaction found, and the network's first row for it.
pub struct Opening {
    pub dispute_id: String,
    pub network: Network,
    pub source: String,
    pub txn: Txn,
    pub amount_paise: i64,
    pub reason_code: String,
    pub reason: String,
    pub row: NetworkRow,
}

/// How much later than the raise window a dispute may first be heard of from a row of a later
/// stage or an outcome (its chargeback's row not come yet): pre-arbitration and arbitration run
/// within about 120 days of the chargeback.
pub const LATER_STAGE_DAYS: i32 = 120;

fn network_fits(network: Network, method: &str) -> bool {
    match network {
        Network::Upi => method.eq_ignore_ascii_case("UPI"),
        _ => method.eq_ignore_ascii_case("CARD"),
    }
}

/// The days after capture a dispute first heard of through `step` may have been raised.
pub fn opening_window(rules: &Rules, network: Network, step: Step) -> i32 {
    let window = rules.of(network).raise_window_days;
    match step {
        Step::Stage(Stage::Retrieval | Stage::Chargeback) => window,
        _ => window + LATER_STAGE_DAYS,
    }
}

/// A new dispute from its first row (a stage, or an outcome whose stage's row has not come).
pub fn open(o: Opening, cx: &Context<'_>) -> Result<Applied, Refusal> {
    if !crate::model::valid_id(&o.dispute_id) {
        return Err(format!("dispute id `{}` is not 1–48 letters, digits or -_.:", o.dispute_id));
    }
    let raised_on = o.row.raised_on;
    if raised_on > ist_date(cx.now) {
        return Err(format!("raised on {raised_on}, after today"));
    }
    if o.amount_paise <= 0 || o.amount_paise > o.txn.amount_paise {
        return Err(format!(
            "the dispute's {} paise is not within the transaction's {} paise",
            o.amount_paise, o.txn.amount_paise
        ));
    }
    if !network_fits(o.network, &o.txn.method) {
        return Err(format!("a {} dispute cannot be for a {} transaction", o.network.as_str(), o.txn.method));
    }
    let window = opening_window(cx.rules, o.network, o.row.step);
    let age = o.txn.capture_day.days_until(raised_on);
    if age < 0 {
        return Err(format!("raised on {raised_on} before the transaction's capture on {}", o.txn.capture_day));
    }
    if age > window {
        return Err(format!(
            "raised {age} days after the transaction's capture on {}; {} allows {window}",
            o.txn.capture_day,
            o.network.as_str()
        ));
    }
    let mut d = Dispute {
        dispute_id: o.dispute_id,
        network: o.network,
        source: o.source,
        merchant_id: o.txn.merchant_id.clone(),
        txn: o.txn,
        amount_paise: o.amount_paise,
        reason_code: o.reason_code,
        reason: o.reason,
        stage: Stage::Retrieval,
        status: Status::NeedsResponse,
        raised_on,
        respond_by: 0,
        debits: 0,
        reversals: 0,
        version: 0,
        evidence: Vec::new(),
        responses: Vec::new(),
        reminded: None,
        rows: vec![o.row],
        expired: Vec::new(),
        adjustments: Vec::new(),
        history: Vec::new(),
        created_at: cx.now,
        updated_at: cx.now,
    };
    crate::network::derive(&mut d, cx.rules, cx.calendar);
    let detail = format!("{} paise, respond by {}", d.amount_paise, format_ist(d.respond_by));
    event(&mut d, cx, "opened", detail);
    let money = settle_money(&mut d, cx.rules);
    Ok(Applied { dispute: d, money })
}

fn event(d: &mut Dispute, cx: &Context<'_>, kind: &str, detail: String) {
    d.history.push(Event { at: cx.now, kind: kind.into(), stage: d.stage, status: d.status, by: cx.by.into(), detail });
}

/// Whether the merchant owes the amount in the dispute's state.
pub fn owes(d: &Dispute, rules: &Rules) -> bool {
    d.status.is_lost() || (d.status != Status::Won && rules.of(d.network).deduct_at_onset && d.stage.moves_money())
}

/// The adjustment that brings what was taken to what the state owes, if any (at most one a move).
pub fn settle_money(d: &mut Dispute, rules: &Rules) -> Vec<Money> {
    match (owes(d, rules), d.is_debited()) {
        (true, false) => {
            d.debits += 1;
            vec![Money::Debit { adjustment_id: debit_id(&d.dispute_id, d.debits), amount_paise: d.amount_paise }]
        }
        (false, true) => {
            d.reversals += 1;
            vec![Money::Reversal {
                adjustment_id: reversal_id(&d.dispute_id, d.reversals),
                amount_paise: d.amount_paise,
            }]
        }
        _ => Vec::new(),
    }
}

/// The outcome recorded for the stage raised on `raised_on`, if any.
fn outcome_of(d: &Dispute, raised_on: Date) -> Option<Outcome> {
    d.rows.iter().rev().find_map(|r| match r.step {
        Step::Outcome(o) if r.raised_on == raised_on => Some(o),
        _ => None,
    })
}

/// One move of an existing dispute.
pub fn apply(current: &Dispute, action: &Action, cx: &Context<'_>) -> Result<Verdict, Refusal> {
    let mut d = current.clone();
    let status = d.status.as_str();
    match action {
        Action::Network(row) => {
            if d.rows.contains(row) {
                return Ok(Verdict::Unchanged("this row was recorded already".into()));
            }
            if let Step::Outcome(o) = row.step {
                if let Some(other) = outcome_of(&d, row.raised_on).filter(|other| *other != o) {
                    return Err(format!(
                        "`{}` contradicts the `{}` recorded for the stage raised on {}",
                        o.as_str(),
                        other.as_str(),
                        row.raised_on
                    ));
                }
            }
            d.rows.push(row.clone());
            crate::network::derive(&mut d, cx.rules, cx.calendar);
            let kind = match row.step {
                Step::Stage(s) => format!("{} raised", s.as_str()),
                Step::Outcome(o) => o.as_str().to_string(),
            };
            let detail = format!("raised on {}; now {} {}", row.raised_on, d.stage.as_str(), d.status.as_str());
            event(&mut d, cx, &kind, detail);
        }
        Action::Respond { answer, evidence_ids, note, idempotency_key } => {
            if d.responses.iter().any(|r| r.idempotency_key == *idempotency_key) {
                return Ok(Verdict::Unchanged("this response was recorded already".into()));
            }
            if d.response_at(d.stage).is_some() {
                return Err(format!("a response to the {} stage was recorded already", d.stage.as_str()));
            }
            if d.status != Status::NeedsResponse {
                return Err(format!("the dispute is {status}: only a needs_response dispute takes a response"));
            }
            if cx.now > d.respond_by {
                return Err(format!("the response was due by {}", format_ist(d.respond_by)));
            }
            if *answer == Answer::Contest {
                if evidence_ids.is_empty() {
                    return Err("a contest needs at least one evidence id".into());
                }
                for id in evidence_ids {
                    let Some(e) = d.evidence.iter_mut().find(|e| e.evidence_id == *id) else {
                        return Err(format!("evidence {id} is not this dispute's"));
                    };
                    e.submitted = true;
                }
            }
            d.responses.push(Response {
                stage: d.stage,
                answer: answer.clone(),
                evidence_ids: evidence_ids.clone(),
                note: note.clone(),
                idempotency_key: idempotency_key.clone(),
                by: cx.by.into(),
                at: cx.now,
            });
            crate::network::derive(&mut d, cx.rules, cx.calendar);
            let kind = if *answer == Answer::Accept { "accepted" } else { "contested" };
            event(&mut d, cx, kind, note.clone());
        }
        Action::Decide(outcome) => {
            match d.status {
                Status::Won | Status::Lost if d.status == outcome.status() => {
                    return Ok(Verdict::Unchanged(format!("already {status}")))
                }
                Status::Won | Status::Lost => {
                    return Err(format!("the dispute is {status}; `{}` contradicts it", outcome.as_str()))
                }
                _ => {}
            }
            if *outcome == Outcome::Won && d.status == Status::Accepted {
                return Err("the merchant accepted the dispute; `won` contradicts it".into());
            }
            let row = NetworkRow { step: Step::Outcome(*outcome), raised_on: d.raised_on, respond_by: None };
            d.rows.push(row);
            crate::network::derive(&mut d, cx.rules, cx.calendar);
            event(&mut d, cx, outcome.as_str(), String::new());
        }
        Action::Expire => {
            if d.status != Status::NeedsResponse || cx.now <= d.respond_by {
                return Ok(Verdict::Unchanged("not past its deadline without a response".into()));
            }
            d.expired.push(d.stage);
            crate::network::derive(&mut d, cx.rules, cx.calendar);
            let detail = format!("no response by {}", format_ist(d.respond_by));
            event(&mut d, cx, "expired", detail);
        }
        Action::Remind => {
            if d.status != Status::NeedsResponse || d.reminded == Some(d.stage) {
                return Ok(Verdict::Unchanged("no reminder due".into()));
            }
            d.reminded = Some(d.stage);
            let detail = format!("respond by {}", format_ist(d.respond_by));
            event(&mut d, cx, "reminded", detail);
        }
        Action::AddEvidence(e) => {
            if d.evidence.iter().any(|x| x.evidence_id == e.evidence_id) {
                return Ok(Verdict::Unchanged("this evidence was recorded already".into()));
            }
            if d.status != Status::NeedsResponse || d.response_at(d.stage).is_some() {
                return Err(format!("the dispute is {status}: evidence is added while it needs a response"));
            }
            if cx.now > d.respond_by {
                return Err(format!("the response was due by {}", format_ist(d.respond_by)));
            }
            if d.evidence.iter().filter(|x| x.stage == d.stage).count() >= MAX_EVIDENCE_PER_STAGE {
                return Err(format!("a response carries at most {MAX_EVIDENCE_PER_STAGE} documents"));
            }
            let mut e = e.clone();
            e.stage = d.stage;
            e.submitted = false;
            let detail = format!("{} ({}, {} bytes)", e.file_name, e.content_type, e.size_bytes);
            d.evidence.push(e);
            event(&mut d, cx, "evidence", detail);
        }
        Action::Record { kind, detail } => event(&mut d, cx, kind, detail.clone()),
    }
    d.version += 1;
    d.updated_at = cx.now;
    let money = settle_money(&mut d, cx.rules);
    Ok(Verdict::Changed(Applied { dispute: d, money }))
}

/// Whether a `needs_response` dispute is due by the end of the next business day after `today`.
pub fn due_soon(d: &Dispute, today: Date, calendar: &Calendar) -> bool {
    d.status == Status::NeedsResponse && ist_date(d.respond_by) <= calendar.add_business_days(today, 1)
}

/// A dispute file's row against what is known: a new dispute (`txn` found for it), or a fact
/// about a known one. A row naming another network, transaction or amount than its dispute's is
/// refused.
pub fn apply_row(
    current: Option<&Dispute>,
    row: &FileRow,
    txn: Option<Txn>,
    source: &str,
    cx: &Context<'_>,
) -> Result<Verdict, Refusal> {
    let fact = NetworkRow { step: row.step, raised_on: row.raised_on, respond_by: row.respond_by };
    let Some(d) = current else {
        let txn = txn.ok_or("no captured transaction has this txn_id or rrn")?;
        let opening = Opening {
            dispute_id: row.dispute_ref.clone(),
            network: row.network,
            source: source.into(),
            txn,
            amount_paise: row.amount_paise,
            reason_code: row.reason_code.clone(),
            reason: row.reason.clone(),
            row: fact,
        };
        return open(opening, cx).map(Verdict::Changed);
    };
    if row.network != d.network {
        return Err(format!(
            "dispute {} is a {} dispute, not {}",
            d.dispute_id,
            d.network.as_str(),
            row.network.as_str()
        ));
    }
    let other_txn = row.txn_id.as_deref().is_some_and(|t| t != d.txn.txn_id)
        || row.rrn.as_deref().is_some_and(|r| Some(r) != d.txn.rrn.as_deref());
    if other_txn {
        return Err(format!("dispute {} is for transaction {}", d.dispute_id, d.txn.txn_id));
    }
    if row.amount_paise != d.amount_paise {
        return Err(format!("dispute {} is for {} paise, not {}", d.dispute_id, d.amount_paise, row.amount_paise));
    }
    apply(d, &Action::Network(fact), cx)
}
