//! A dispute's stage and status from everything known about it, whatever order it came in.
//!
//! The network's rows are replayed in their own order — by raise date, a stage before the
//! outcomes of the same date, earlier stages first, `won` before `lost` — then the merchant's
//! part is laid over the current stage: its response (accepted, or contested and under review),
//! or our expiry of it. So two arrival orders of the same rows give the same dispute, and the
//! money ([`crate::lifecycle::settle_money`]) follows the state, not the path.
//!
//! The replay's rules:
//! - a stage row later than the current stage moves the dispute there, unless it was lost
//!   (a lost dispute is not disputed again); after a `won`, only a stage raised after the stage
//!   it won reopens it (the issuer disputing the representment: pre-arbitration);
//! - an outcome decides the current stage; an outcome raised after a stage the dispute won is a
//!   later stage's whose row has not come yet: the dispute moves to the next stage and takes it;
//!   after a `lost`, nothing moves it;
//! - an outcome before any stage, or at retrieval, decides a chargeback (networks decide
//!   chargebacks, not retrieval requests).

use crate::model::{Answer, Dispute, NetworkRow, Outcome, Stage, Status, Step};
use crate::rules::Rules;
use settlepaisa_payout::calendar::Calendar;

/// The replay's order of rows of one date.
fn rank(step: Step) -> u8 {
    match step {
        Step::Stage(s) => s as u8,
        Step::Outcome(Outcome::Won) => 10,
        Step::Outcome(Outcome::Lost) => 11,
    }
}

/// Sets the dispute's stage, raise date, deadline and status from its rows, responses and
/// expiries. A dispute with no rows (never stored so) is left as it is.
pub fn derive(d: &mut Dispute, rules: &Rules, calendar: &Calendar) {
    let mut rows: Vec<&NetworkRow> = d.rows.iter().collect();
    // A total order: of rows that differ only in their deadline, one that gives a deadline comes
    // first (a file's own `respond_by` wins over the rules table), then the earliest.
    rows.sort_by_key(|r| (r.raised_on, rank(r.step), r.respond_by.is_none(), r.respond_by));
    let mut current: Option<(Stage, NetworkRow)> = None;
    let mut decided: Option<Outcome> = None;
    let deadline = |stage: Stage, r: &NetworkRow| {
        r.respond_by.unwrap_or_else(|| rules.respond_by(d.network, stage, r.raised_on, calendar))
    };
    for r in rows {
        match r.step {
            Step::Stage(s) => {
                let reopens = match (&current, decided) {
                    (None, _) => true,
                    (Some((cur, _)), None) => s > *cur,
                    (Some((cur, at)), Some(Outcome::Won)) => s > *cur && r.raised_on > at.raised_on,
                    (Some(_), Some(Outcome::Lost)) => false,
                };
                if reopens {
                    current = Some((s, r.clone()));
                    decided = None;
                }
            }
            // A lost dispute stays lost: a later `won` does not pay it back.
            Step::Outcome(_) if decided == Some(Outcome::Lost) => {}
            Step::Outcome(o) => {
                let stage = match (&current, decided) {
                    (None, _) => Stage::Chargeback,
                    (Some((cur, at)), Some(Outcome::Won)) if r.raised_on > at.raised_on => {
                        Stage::ALL.into_iter().find(|s| s > cur).unwrap_or(*cur)
                    }
                    (Some((cur, _)), _) => (*cur).max(Stage::Chargeback),
                };
                let moved = current.as_ref().is_none_or(|(cur, _)| *cur != stage);
                if moved {
                    current = Some((stage, NetworkRow { step: Step::Stage(stage), ..r.clone() }));
                }
                decided = Some(o);
            }
        }
    }
    let Some((stage, row)) = current else { return };
    d.stage = stage;
    d.raised_on = row.raised_on;
    d.respond_by = deadline(stage, &row);
    d.status = match (decided, d.response_at(stage).map(|r| &r.answer)) {
        (Some(o), _) => o.status(),
        (None, Some(Answer::Accept)) => Status::Accepted,
        (None, Some(Answer::Contest)) => Status::UnderReview,
        (None, None) if d.expired.contains(&stage) => Status::Expired,
        (None, None) => Status::NeedsResponse,
    };
}
