//! Every move a dispute can make, validated, and the money each one takes or gives back.
//!
//! - A stage only moves forward, while the dispute is open (`needs_response`, `under_review`) or
//!   won (the issuer disputes the representment again: pre-arbitration); each new stage waits
//!   for a new response.
//! - The merchant responds once a stage, while `needs_response`, by `respond_by`: `accept`
//!   (lost by choice) or `contest` with evidence (`under_review`).
//! - The network's outcome (`won`, `lost`) closes it from `needs_response`, `under_review` or
//!   `expired` (the network's word is final over our deadline); never contradicts a decided one.
//!   A file's outcome row raised before the current stage was is an earlier stage's: unchanged.
//! - `expire` closes a `needs_response` past its deadline: treated as lost.
//!
//! Money ([`settle_money`]): the merchant owes the amount while a money stage is open on a
//! deduct-at-onset network, and once the dispute is lost; not while it is won. Each move makes the
//! one adjustment that brings what was taken to what is owed — a debit or a reversal, each under
//! its own id, made once with the change that calls for it. Whatever order a dispute's files come
//! in, the merchant ends owing the same.

use crate::file::{FileRow, Step};
use crate::model::{
    debit_id, reversal_id, Answer, Dispute, Event, Evidence, Money, Network, Outcome, Response, Stage, Status, Txn,
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
    Escalate {
        stage: Stage,
        raised_on: Date,
        respond_by: Option<i64>,
    },
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

/// What opening a dispute needs.
pub struct Opening {
    pub dispute_id: String,
    pub network: Network,
    pub source: String,
    pub txn: Txn,
    pub amount_paise: i64,
    pub reason_code: String,
    pub reason: String,
    pub stage: Stage,
    pub raised_on: Date,
    pub respond_by: Option<i64>,
}

fn network_fits(network: Network, method: &str) -> bool {
    match network {
        Network::Upi => method.eq_ignore_ascii_case("UPI"),
        _ => method.eq_ignore_ascii_case("CARD"),
    }
}

/// A new dispute at its first stage, `needs_response`.
pub fn open(o: Opening, cx: &Context<'_>) -> Result<Applied, Refusal> {
    if !crate::model::valid_id(&o.dispute_id) {
        return Err(format!("dispute id `{}` is not 1–48 letters, digits or -_.:", o.dispute_id));
    }
    if o.raised_on > ist_date(cx.now) {
        return Err(format!("raised on {}, after today", o.raised_on));
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
    let window = cx.rules.of(o.network).raise_window_days;
    let age = o.txn.capture_day.days_until(o.raised_on);
    if age < 0 {
        return Err(format!("raised on {} before the transaction's capture on {}", o.raised_on, o.txn.capture_day));
    }
    if age > window {
        return Err(format!(
            "raised {age} days after the transaction's capture on {}; {} allows {window}",
            o.txn.capture_day,
            o.network.as_str()
        ));
    }
    let respond_by = o.respond_by.unwrap_or_else(|| cx.rules.respond_by(o.network, o.stage, o.raised_on, cx.calendar));
    let mut d = Dispute {
        dispute_id: o.dispute_id,
        network: o.network,
        source: o.source,
        merchant_id: o.txn.merchant_id.clone(),
        txn: o.txn,
        amount_paise: o.amount_paise,
        reason_code: o.reason_code,
        reason: o.reason,
        stage: o.stage,
        status: Status::NeedsResponse,
        raised_on: o.raised_on,
        respond_by,
        debits: 0,
        reversals: 0,
        version: 0,
        evidence: Vec::new(),
        responses: Vec::new(),
        reminded: None,
        history: Vec::new(),
        created_at: cx.now,
        updated_at: cx.now,
    };
    let detail = format!("{} paise, respond by {}", d.amount_paise, format_ist(respond_by));
    event(&mut d, cx, "opened", detail);
    let money = settle_money(&mut d, cx.rules);
    Ok(Applied { dispute: d, money })
}

fn event(d: &mut Dispute, cx: &Context<'_>, kind: &str, detail: String) {
    d.history.push(crate::model::Event {
        at: cx.now,
        kind: kind.into(),
        stage: d.stage,
        status: d.status,
        by: cx.by.into(),
        detail,
    });
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

/// One move of an existing dispute.
pub fn apply(current: &Dispute, action: &Action, cx: &Context<'_>) -> Result<Verdict, Refusal> {
    let mut d = current.clone();
    let status = d.status.as_str();
    match action {
        Action::Escalate { stage, raised_on, respond_by } => {
            if *stage <= d.stage {
                return Ok(Verdict::Unchanged(format!("already at {} (asked: {})", d.stage.as_str(), stage.as_str())));
            }
            // A won dispute is disputed again by a stage raised after the one it won (whose
            // outcome row carried that stage's raise date); lost ones stay lost.
            let reopens = d.status == Status::Won && *raised_on > d.raised_on;
            if !(d.status.is_open() || reopens) {
                return Ok(Verdict::Unchanged(format!("already {status}; this stage does not reopen it")));
            }
            d.stage = *stage;
            d.status = Status::NeedsResponse;
            d.raised_on = *raised_on;
            d.respond_by =
                respond_by.unwrap_or_else(|| cx.rules.respond_by(d.network, *stage, *raised_on, cx.calendar));
            let detail = format!("respond by {}", format_ist(d.respond_by));
            event(&mut d, cx, "escalated", detail);
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
            match answer {
                Answer::Accept => d.status = Status::Accepted,
                Answer::Contest => {
                    if evidence_ids.is_empty() {
                        return Err("a contest needs at least one evidence id".into());
                    }
                    for id in evidence_ids {
                        let Some(e) = d.evidence.iter_mut().find(|e| e.evidence_id == *id) else {
                            return Err(format!("evidence {id} is not this dispute's"));
                        };
                        e.submitted = true;
                    }
                    d.status = Status::UnderReview;
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
            let kind = if *answer == Answer::Accept { "accepted" } else { "contested" };
            event(&mut d, cx, kind, note.clone());
        }
        Action::Decide(outcome) => {
            if d.status == outcome.status() || (*outcome == Outcome::Lost && d.status == Status::Accepted) {
                return Ok(Verdict::Unchanged(format!("already {status}")));
            }
            if !(d.status.is_open() || d.status == Status::Expired) {
                return Err(format!("the dispute is {status}; `{}` contradicts it", outcome.as_str()));
            }
            // Networks decide chargebacks, not retrieval requests: an outcome for a dispute
            // known only at retrieval means the chargeback's file has not come yet.
            if d.stage == Stage::Retrieval {
                d.stage = Stage::Chargeback;
            }
            d.status = outcome.status();
            event(&mut d, cx, outcome.as_str(), String::new());
        }
        Action::Expire => {
            if d.status != Status::NeedsResponse || cx.now <= d.respond_by {
                return Ok(Verdict::Unchanged("not past its deadline without a response".into()));
            }
            d.status = Status::Expired;
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

/// A dispute file's row against what is known: a new dispute (`txn` found for it), a stage, or an
/// outcome. A row naming another transaction or amount than its dispute's is refused.
pub fn apply_row(
    current: Option<&Dispute>,
    row: &FileRow,
    txn: Option<Txn>,
    source: &str,
    cx: &Context<'_>,
) -> Result<Verdict, Refusal> {
    let Some(d) = current else {
        let txn = txn.ok_or("no captured transaction has this txn_id or rrn")?;
        let stage = match row.step {
            Step::Stage(s) => s,
            // An outcome before the row that opened it: the dispute it decides was a chargeback.
            Step::Outcome(_) => Stage::Chargeback,
        };
        let opened = open(
            Opening {
                dispute_id: row.dispute_ref.clone(),
                network: row.network,
                source: source.into(),
                txn,
                amount_paise: row.amount_paise,
                reason_code: row.reason_code.clone(),
                reason: row.reason.clone(),
                stage,
                raised_on: row.raised_on,
                respond_by: row.respond_by,
            },
            cx,
        )?;
        return match row.step {
            Step::Stage(_) => Ok(Verdict::Changed(opened)),
            Step::Outcome(o) => match apply(&opened.dispute, &Action::Decide(o), cx)? {
                Verdict::Changed(mut decided) => {
                    let mut money = opened.money;
                    money.append(&mut decided.money);
                    decided.money = money;
                    decided.dispute.version = 0;
                    Ok(Verdict::Changed(decided))
                }
                Verdict::Unchanged(_) => Ok(Verdict::Changed(opened)),
            },
        };
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
    let action = match row.step {
        Step::Stage(stage) => Action::Escalate { stage, raised_on: row.raised_on, respond_by: row.respond_by },
        Step::Outcome(_) if row.raised_on < d.raised_on => {
            return Ok(Verdict::Unchanged(format!(
                "an outcome of a stage raised on {}; the dispute is at {} since {}",
                row.raised_on,
                d.stage.as_str(),
                d.raised_on
            )))
        }
        // The outcome of a stage raised after the one the dispute won: that stage's file has not
        // come yet. The dispute moves to the next stage and takes the outcome there.
        Step::Outcome(o) if d.status == Status::Won && row.raised_on > d.raised_on => {
            let Some(next) = Stage::ALL.into_iter().find(|s| *s > d.stage) else {
                return Err(format!("dispute {} is won at arbitration, the last stage", d.dispute_id));
            };
            let escalate = Action::Escalate { stage: next, raised_on: row.raised_on, respond_by: row.respond_by };
            let Verdict::Changed(moved) = apply(d, &escalate, cx)? else {
                return Ok(Verdict::Unchanged("already at a later stage".into()));
            };
            return match apply(&moved.dispute, &Action::Decide(o), cx)? {
                Verdict::Changed(mut decided) => {
                    let mut money = moved.money;
                    money.append(&mut decided.money);
                    decided.money = money;
                    decided.dispute.version = d.version + 1;
                    Ok(Verdict::Changed(decided))
                }
                Verdict::Unchanged(_) => Ok(Verdict::Changed(moved)),
            };
        }
        Step::Outcome(o) => Action::Decide(o),
    };
    apply(d, &action, cx)
}

/// The history's last event (for logs and file reports).
pub fn last_event(d: &Dispute) -> Option<&Event> {
    d.history.last()
}
