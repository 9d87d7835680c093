//! `POST /api/disputes/{id}/representment`: the package the acquirer files with the network for
//! a contested stage — `summary.json` (the dispute, its transaction, the merchant's response)
//! and a copy of each document the response submitted — written once under
//! `outgoing/representments/{network}/{dispute}-{stage}/` (artifacts bucket). Asking again
//! answers with the package already written.

use crate::change::{change, now};
use crate::{access, views, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use settlepaisa_aws::s3;
use settlepaisa_dispute::lifecycle::{apply, Action, Context as Rules};
use settlepaisa_dispute::model::{Answer, Dispute, Status};
use settlepaisa_http::{Acting, ApiError};

fn folder(d: &Dispute) -> String {
    format!("outgoing/representments/{}/{}-{}/", d.network.as_str(), d.dispute_id, d.stage.as_str())
}

/// `POST /api/disputes/{id}/representment`
pub async fn create_representment(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = &acting.caller;
    let ctx = state.ctx;
    let d = access::load(ctx, caller, &id).await?;
    let response = match d.response_at(d.stage) {
        Some(r) if r.answer == Answer::Contest && d.status == Status::UnderReview => r.clone(),
        _ => {
            return Err(ApiError::conflict(format!(
                "dispute {id} is {} at {}: a representment is for a stage the merchant contested and the network has not decided",
                d.status.as_str(),
                d.stage.as_str()
            )))
        }
    };
    let (client, bucket) = (&ctx.clients.s3, &ctx.resources.artifacts_bucket);
    let base = folder(&d);
    let mut documents = Vec::new();
    for e in d.evidence.iter().filter(|e| response.evidence_ids.contains(&e.evidence_id)) {
        let to = format!("{base}{}-{}", e.evidence_id, e.file_name);
        let bytes = s3::get_bytes(client, bucket, &e.key).await.map_err(ApiError::store)?;
        s3::put(client, bucket, &to, bytes).await.map_err(ApiError::store)?;
        documents.push(json!({ "evidenceId": e.evidence_id, "key": to, "contentType": e.content_type }));
    }
    let summary = json!({
        "dispute": views::detail(&d, Value::Null, None),
        "response": { "note": response.note, "by": response.by, "documents": documents },
        "preparedBy": caller.user_id,
    });
    let key = format!("{base}summary.json");
    let body = serde_json::to_vec_pretty(&summary).map_err(ApiError::internal)?;
    let written = s3::put_new(client, bucket, &key, body).await.map_err(ApiError::store)?;
    if !written {
        return Ok((StatusCode::OK, Json(json!({ "disputeId": id, "package": key, "documents": documents.len() }))));
    }
    let at = now();
    let detail = format!("{key} ({} documents)", documents.len());
    change(ctx, &id, acting.draft("dispute.representment", ("dispute", &id)), |current| {
        let Some(current) = current else { return Err(format!("dispute {id} not found")) };
        let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now: at, by: &caller.user_id };
        apply(current, &Action::Record { kind: "representment".into(), detail: detail.clone() }, &cx)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "disputeId": id, "package": key, "documents": documents.len() }))))
}
