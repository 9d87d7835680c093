//! Maker-checker at a gated route (issue 15 §2): when the rules say the action needs a second
//! person, the request is parked — `202 PENDING_APPROVAL` with its approval id — instead of
//! applied; `POST /api/approvals/{id}/approve` by another person holding the same permission
//! applies it (the governance service).

use crate::acting::Acting;
use crate::error::ApiError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use settlepaisa_audit::rules::{needs_approval, ApprovalStatus};
use settlepaisa_audit::Outcome;
use settlepaisa_auth::Permission;
use settlepaisa_store::approvals::{self, Approval, Person};

/// A gated request, as its handler describes it.
pub struct Gate<'a> {
    pub action: &'a str,
    /// What the rule weighs (paise): the write-off, the mismatch; 0 where no amount applies.
    pub amount_paise: i64,
    pub target: (&'a str, &'a str),
    /// The permission the route needs: a checker must hold it too.
    pub permission: Permission,
    /// What approval applies (the request as made, and what it expects of the target).
    pub request: Value,
    /// What the change would do, for the checker.
    pub preview: Value,
    pub reason: Option<String>,
}

/// `Some(202)` when the rules park the request (written with its audit entry); `None`: apply it.
pub async fn park_if_gated(
    ctx: &settlepaisa_store::Context,
    acting: &Acting,
    gate: Gate<'_>,
) -> Result<Option<Response>, ApiError> {
    let (db, table) = (&ctx.clients.dynamodb, ctx.resources.approvals_table.as_str());
    let rules = approvals::rules(db, table).await.map_err(ApiError::store)?;
    if !needs_approval(&rules, gate.action, gate.amount_paise) {
        return Ok(None);
    }
    // One pending change per target: a second would be decided against a target the first may
    // change (and a checker could approve both). The marker's conditional put settles a race.
    let pending = approvals::pending_on(db, table, gate.target.0, gate.target.1).await.map_err(ApiError::store)?;
    if let Some(p) = pending.first() {
        return Err(busy(gate.target, p["approvalId"].as_str().unwrap_or_default()));
    }
    let a = Approval {
        approval_id: approvals::new_id(),
        action: gate.action.to_string(),
        target_type: gate.target.0.to_string(),
        target_id: gate.target.1.to_string(),
        permission: gate.permission.as_str().to_string(),
        maker: Person { user_id: acting.caller.user_id.clone(), role: acting.caller.role.as_str().to_string() },
        requested_at: acting.at.clone(),
        request_id: acting.request_id.clone(),
        reason: gate.reason.clone(),
        amount_paise: gate.amount_paise,
        request: gate.request,
        preview: gate.preview.clone(),
        status: ApprovalStatus::PendingApproval,
        decided_by: None,
        decided_at: None,
        decision_note: None,
        version: 1,
    };
    let mut draft = acting
        .draft(gate.action, gate.target)
        .outcome(Outcome::PendingApproval)
        .change(Value::Null, json!({ "approvalId": a.approval_id, "preview": gate.preview }));
    if let Some(r) = gate.reason {
        draft = draft.reason(r);
    }
    let audit = (ctx.resources.audit_table.as_str(), draft);
    if approvals::park(db, table, &a, audit).await.map_err(ApiError::store)? == approvals::Parked::TargetBusy {
        let pending = approvals::pending_on(db, table, gate.target.0, gate.target.1).await.map_err(ApiError::store)?;
        return Err(match pending.first().and_then(|p| p["approvalId"].as_str()) {
            Some(id) => busy(gate.target, id),
            // Parked and decided in the moment between: the target is free again.
            None => ApiError::conflict(format!(
                "another change to {} {} was being parked at the same moment; send the request again",
                gate.target.0, gate.target.1
            )),
        });
    }
    tracing::info!(approval = a.approval_id, action = a.action, maker = a.maker.user_id, "request parked for approval");
    let body = json!({
        "status": ApprovalStatus::PendingApproval.as_str(),
        "approvalId": a.approval_id,
        "action": a.action,
        "target": { "type": a.target_type, "id": a.target_id },
        "message": "this change needs a second person: another user with the same permission approves it with POST /api/approvals/{id}/approve",
    });
    Ok(Some((StatusCode::ACCEPTED, axum::Json(body)).into_response()))
}

/// A target with a change already waiting: 409, naming the waiting request.
fn busy(target: (&str, &str), approval_id: &str) -> ApiError {
    ApiError::conflict(format!(
        "a change to {} {} is already waiting for approval ({approval_id}): have it approved or rejected first",
        target.0, target.1
    ))
    .meta("approvalId", approval_id.to_string())
}
