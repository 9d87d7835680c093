//! `POST /merchant/disputes/{id}/respond`: `accept`, or `contest` with evidence ids and a note —
//! once a stage, by `respond_by`, under an `Idempotency-Key` (the same key again answers with
//! the dispute as that response left it). A contest's documents must have arrived, within the
//! size declared, and be the type declared. Two responses at once: one is recorded, the other
//! is refused (409) when it reads the dispute again.

use crate::change::{change, now};
use crate::portal::evidence::{looks_like, MAX_BYTES};
use crate::{access, views, AppState};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::Value;
use settlepaisa_dispute::lifecycle::{apply, Action, Context as Rules};
use settlepaisa_dispute::model::Answer;
use settlepaisa_http::input::{idempotency_key, Body};
use settlepaisa_http::{Acting, ApiError};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RespondBody {
    /// `accept` or `contest`.
    pub action: String,
    #[serde(default)]
    pub evidence_ids: Vec<String>,
    #[serde(default)]
    pub note: String,
}

/// `POST /merchant/disputes/{id}/respond`
pub async fn respond_to_dispute(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body<RespondBody>,
) -> Result<Json<Value>, ApiError> {
    let caller = &acting.caller;
    let key = idempotency_key(&headers)?;
    let answer = match body.action.as_str() {
        "accept" => Answer::Accept,
        "contest" => Answer::Contest,
        _ => return Err(ApiError::bad_request("action must be accept or contest")),
    };
    if body.note.chars().count() > 2000 {
        return Err(ApiError::bad_request("note is at most 2000 characters"));
    }
    if body.evidence_ids.len() > settlepaisa_dispute::lifecycle::MAX_EVIDENCE_PER_STAGE {
        return Err(ApiError::bad_request("at most 10 evidence ids"));
    }
    let ctx = state.ctx;
    let d = access::load(ctx, caller, &id).await?;
    let replay = d.response_at(d.stage).is_some_and(|r| r.idempotency_key == key);
    if answer == Answer::Contest && !replay {
        for eid in &body.evidence_ids {
            let Some(e) = d.evidence.iter().find(|e| &e.evidence_id == eid) else { continue };
            let (s3c, bucket) = (&ctx.clients.s3, &ctx.resources.artifacts_bucket);
            let size = settlepaisa_aws::s3::size_of(s3c, bucket, &e.key).await.map_err(ApiError::store)?;
            match size {
                None => return Err(ApiError::conflict(format!("evidence {eid} was not uploaded"))),
                Some(n) if n > MAX_BYTES || n != e.size_bytes => {
                    return Err(ApiError::conflict(format!(
                        "evidence {eid} is {n} bytes, not the {} declared (at most 5 MiB)",
                        e.size_bytes
                    )))
                }
                Some(_) => {}
            }
            let head = settlepaisa_aws::s3::first_bytes(s3c, bucket, &e.key, 8).await.map_err(ApiError::store)?;
            if !looks_like(&e.content_type, &head) {
                return Err(ApiError::conflict(format!("evidence {eid} is not a {} file", e.content_type)));
            }
        }
    }
    let at = now();
    let action = Action::Respond { answer, evidence_ids: body.evidence_ids, note: body.note, idempotency_key: key };
    let changed = change(ctx, &id, acting.draft("dispute.respond", ("dispute", &id)), |current| {
        let Some(d) = current else { return Err(format!("dispute {id} not found")) };
        let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now: at, by: &caller.user_id };
        apply(d, &action, &cx)
    })
    .await?;
    let d = changed.dispute().ok_or_else(|| ApiError::not_found(format!("dispute {id} not found")))?;
    Ok(Json(views::detail(d, Value::Null, views::viewer(caller))))
}
