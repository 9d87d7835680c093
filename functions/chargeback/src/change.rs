//! One change of a dispute, safe under concurrency: read it (consistently), let the lifecycle
//! decide, write the answer conditioned on the version read; when someone else wrote first,
//! read again and decide again (a second response to the same stage is then refused).

use crate::error::DisputeError;
use settlepaisa_dispute::lifecycle::{Refusal, Verdict};
use settlepaisa_dispute::model::{AdjustmentMade, Dispute, Money};
use settlepaisa_recon::date::ist_date;
use settlepaisa_store::disputes::{self, Tables};
use settlepaisa_store::Context;

const ATTEMPTS: u32 = 5;

/// What a change came to.
#[derive(Debug)]
pub enum Changed {
    /// Written: the dispute as it now is.
    Written(Dispute),
    /// Already so: the dispute as it is, and why nothing was written.
    Unchanged(Option<Dispute>, String),
}

impl Changed {
    pub fn dispute(&self) -> Option<&Dispute> {
        match self {
            Changed::Written(d) => Some(d),
            Changed::Unchanged(d, _) => d.as_ref(),
        }
    }
}

pub fn tables(ctx: &Context) -> Tables<'_> {
    let r = &ctx.resources;
    Tables { disputes: &r.disputes_table, settlements: &r.settlements_table, kpi: &r.kpi_table }
}

/// Decides on the dispute `id` as stored (`None`: not yet) and writes the decision, with its
/// audit entry (`audit`: who and what; the dispute before and after are filled in here) in the
/// same transaction.
pub async fn change(
    ctx: &Context,
    id: &str,
    audit: settlepaisa_audit::Draft,
    mut decide: impl FnMut(Option<&Dispute>) -> Result<Verdict, Refusal>,
) -> Result<Changed, DisputeError> {
    let db = &ctx.clients.dynamodb;
    for _ in 0..ATTEMPTS {
        let current = disputes::get(db, &ctx.resources.disputes_table, id).await?;
        match decide(current.as_ref()).map_err(DisputeError::Refused)? {
            Verdict::Unchanged(why) => return Ok(Changed::Unchanged(current, why)),
            Verdict::Changed(mut applied) => {
                // Effective the day it is recorded, whatever moment `now` judged by: always
                // within the next settlement run's window.
                let effective_on = ist_date(now());
                for m in &applied.money {
                    let (adjustment_id, amount_paise) = match m {
                        Money::Debit { adjustment_id, amount_paise } => (adjustment_id.clone(), -amount_paise),
                        Money::Reversal { adjustment_id, amount_paise } => (adjustment_id.clone(), *amount_paise),
                    };
                    applied.dispute.adjustments.push(AdjustmentMade { adjustment_id, amount_paise, effective_on });
                }
                let json = |d: Option<&Dispute>| {
                    d.map_or(serde_json::Value::Null, |d| serde_json::to_value(d).unwrap_or_default())
                };
                let draft = audit.clone().change(json(current.as_ref()), json(Some(&applied.dispute)));
                let entry = (ctx.resources.audit_table.as_str(), draft);
                let written = disputes::save(
                    db,
                    &tables(ctx),
                    current.as_ref(),
                    &applied.dispute,
                    &applied.money,
                    effective_on,
                    entry,
                )
                .await?;
                if written {
                    for m in &applied.money {
                        tracing::info!(dispute = id, adjustment = ?m, "dispute adjustment recorded");
                    }
                    return Ok(Changed::Written(applied.dispute));
                }
            }
        }
    }
    Err(DisputeError::Busy(id.to_string()))
}

/// Now, as Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
