//! `POST /api/disputes/{id}/outcome`: ops record the network's decision (`won`, `lost`) when it
//! comes by another way than a file; the money follows as for a file's.

use crate::change::{change, now};
use crate::{access, views, AppState};
use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;
use settlepaisa_dispute::lifecycle::{apply, Action, Context as Rules};
use settlepaisa_dispute::model::Outcome;
use settlepaisa_http::input::Body;
use settlepaisa_http::{Acting, ApiError};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OutcomeBody {
    pub outcome: String,
}

/// `POST /api/disputes/{id}/outcome`
pub async fn record_dispute_outcome(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    Body(body): Body<OutcomeBody>,
) -> Result<Json<Value>, ApiError> {
    let caller = &acting.caller;
    let outcome = Outcome::parse(&body.outcome).ok_or_else(|| ApiError::bad_request("outcome must be won or lost"))?;
    let ctx = state.ctx;
    access::load(ctx, caller, &id).await?;
    let at = now();
    let changed = change(ctx, &id, acting.draft("dispute.outcome", ("dispute", &id)), |current| {
        let Some(d) = current else { return Err(format!("dispute {id} not found")) };
        let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now: at, by: &caller.user_id };
        apply(d, &Action::Decide(outcome), &cx)
    })
    .await?;
    let d = changed.dispute().ok_or_else(|| ApiError::not_found(format!("dispute {id} not found")))?;
    Ok(Json(views::detail(d, Value::Null, None)))
}
