//! Maker-checker's routes (issue 15 §2): the queue, approving (which applies the parked request
//! exactly once, in the same transaction that marks it applied) and rejecting (recorded, never
//! deleted); and the rules, which change only through maker-checker itself.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_audit::rules::{standing, ApprovalStatus, Rule, Standing, ACTIONS, RULE_CHANGE};
use settlepaisa_audit::Outcome;
use settlepaisa_auth::Permission;
use settlepaisa_http::input::{identifier, Body, OptionalBody, Query};
use settlepaisa_http::maker_checker::{park_if_gated, Gate};
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_store::approvals::{self, Approval, Person};
use settlepaisa_store::Context;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApprovalQuery {
    pub status: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub limit: Option<u32>,
    /// The `nextBefore` of the page before: approvals older than that one.
    pub before: Option<String>,
}

/// `GET /api/approvals`: newest first; `status` (`PENDING_APPROVAL` for the queue), `targetType`
/// and `targetId` narrow it.
pub async fn list_approvals(
    State(state): State<AppState>,
    Query(q): Query<ApprovalQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            ApprovalStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("status `{s}` is not PENDING_APPROVAL, APPLIED, REJECTED or FAILED"))
            })
        })
        .transpose()?;
    let limit = settlepaisa_http::input::page_limit(q.limit)? as usize;
    for (name, v, max) in [("targetType", &q.target_type, 64), ("targetId", &q.target_id, 200)] {
        if v.as_ref().is_some_and(|v| v.is_empty() || v.chars().count() > max) {
            return Err(ApiError::bad_request(format!("{name} must be 1 to {max} characters")));
        }
    }
    if let Some(b) = &q.before {
        identifier("before", b)?;
    }
    let ctx = state.ctx;
    let (page, next) =
        approvals::list(&ctx.clients.dynamodb, &ctx.resources.approvals_table, status, q.before.as_deref(), limit)
            .await
            .map_err(ApiError::store)?;
    let items: Vec<Value> = page
        .iter()
        .filter(|a| q.target_type.as_ref().is_none_or(|t| *t == a.target_type))
        .filter(|a| q.target_id.as_ref().is_none_or(|t| *t == a.target_id))
        .map(Approval::view)
        .collect();
    Ok(Json(json!({ "items": items, "nextBefore": next })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub note: Option<String>,
}

/// The approval `id`, still pending, and the caller's standing to decide it.
async fn decidable(ctx: &Context, acting: &Acting, id: &str) -> Result<Approval, ApiError> {
    identifier("approval id", id)?;
    let a = approvals::get(&ctx.clients.dynamodb, &ctx.resources.approvals_table, id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("approval {id} does not exist")))?;
    if a.status.is_decided() {
        return Err(ApiError::conflict(format!("approval {id} is {} already", a.status.as_str()))
            .meta("status", a.status.as_str()));
    }
    let permission: Option<Permission> = serde_json::from_value(Value::String(a.permission.clone())).ok();
    let allowed = permission.is_some_and(|p| acting.caller.role.allows(p));
    match standing(&a.maker.user_id, &acting.caller.user_id, allowed) {
        Standing::May => Ok(a),
        Standing::OwnRequest => Err(ApiError::forbidden(
            "you made this request: another person with the same permission must approve or reject it",
        )),
        Standing::LacksPermission => Err(ApiError::forbidden(format!(
            "deciding this request needs {}, which role {} does not have",
            a.permission,
            acting.caller.role.as_str()
        ))
        .meta("requiredPermission", a.permission.clone())),
    }
}

fn note_of(d: &Option<Decision>) -> Result<Option<String>, ApiError> {
    match d.as_ref().and_then(|d| d.note.as_deref()).map(str::trim) {
        Some(n) if n.chars().count() > 1000 => Err(ApiError::bad_request("note must be at most 1000 characters")),
        Some(n) if !n.is_empty() => Ok(Some(n.to_string())),
        _ => Ok(None),
    }
}

fn person(acting: &Acting) -> Person {
    Person { user_id: acting.caller.user_id.clone(), role: acting.caller.role.as_str().to_string() }
}

/// `POST /api/approvals/{id}/approve`: applies the request as it was made, against the target as
/// it was then, in the transaction that marks the approval applied. The target changed since:
/// 409, and the approval is marked `FAILED` (it can never apply).
pub async fn approve(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    OptionalBody(decision): OptionalBody<Decision>,
) -> Result<Json<Value>, ApiError> {
    let ctx = state.ctx;
    let note = note_of(&decision)?;
    let a = decidable(ctx, &acting, &id).await?;
    let by = person(&acting);
    let table = ctx.resources.approvals_table.as_str();
    let extra =
        approvals::decide_items(table, &a, ApprovalStatus::Applied, &by, note.as_deref()).map_err(ApiError::store)?;
    let reason = format!("approval {} of {}'s request", a.approval_id, a.maker.user_id);
    let draft = acting.draft(&a.action, (&a.target_type, &a.target_id)).outcome(Outcome::Approved).reason(reason);
    let applied = match a.action.as_str() {
        "merchant.update" => settlepaisa_settlement::api::merchants::apply_approved(ctx, &a, draft, extra).await,
        "connector.configure" => settlepaisa_connectors::api::apply_approved(ctx, &a, draft, extra).await,
        "exception.write_off" | "exception.accept_mismatch" | "exception.manual_match" => {
            settlepaisa_recon_api::resolve_exception::apply_approved(ctx, &a, draft, extra).await
        }
        RULE_CHANGE => apply_rule_change(ctx, &a, draft, extra).await,
        other => Err(ApiError::internal(format!("approval {id}: no way to apply `{other}`"))),
    };
    match applied {
        Ok(result) => {
            tracing::info!(approval = id, action = a.action, checker = by.user_id, "approved and applied");
            let now = approvals::get(&ctx.clients.dynamodb, table, &id).await.map_err(ApiError::store)?;
            Ok(Json(json!({ "approval": now.as_ref().map(Approval::view), "result": result })))
        }
        Err(e) if e.status == StatusCode::CONFLICT => {
            // Never to apply: recorded as failed (unless someone decided it meanwhile).
            let why = format!("not applied: {}", e.message);
            let failed =
                acting.draft(&a.action, (&a.target_type, &a.target_id)).outcome(Outcome::Failed).reason(why.clone());
            let audit = (ctx.resources.audit_table.as_str(), failed);
            let client = &ctx.clients.dynamodb;
            approvals::decide(client, table, &a, ApprovalStatus::Failed, &by, Some(&why), audit)
                .await
                .map_err(ApiError::store)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// `POST /api/approvals/{id}/reject`: recorded (status `REJECTED`, who, why), nothing applied.
pub async fn reject(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    OptionalBody(decision): OptionalBody<Decision>,
) -> Result<Json<Value>, ApiError> {
    let ctx = state.ctx;
    let note = note_of(&decision)?;
    let a = decidable(ctx, &acting, &id).await?;
    let by = person(&acting);
    let mut draft = acting
        .draft(&a.action, (&a.target_type, &a.target_id))
        .outcome(Outcome::Rejected)
        .change(json!({ "approvalId": a.approval_id, "status": a.status.as_str() }), json!({ "status": "REJECTED" }));
    if let Some(n) = &note {
        draft = draft.reason(n.clone());
    }
    let table = ctx.resources.approvals_table.as_str();
    let audit = (ctx.resources.audit_table.as_str(), draft);
    if !approvals::decide(&ctx.clients.dynamodb, table, &a, ApprovalStatus::Rejected, &by, note.as_deref(), audit)
        .await
        .map_err(ApiError::store)?
    {
        return Err(ApiError::conflict(format!("approval {id} was decided by someone else just now")));
    }
    let now = approvals::get(&ctx.clients.dynamodb, table, &id).await.map_err(ApiError::store)?;
    Ok(Json(json!({ "approval": now.as_ref().map(Approval::view) })))
}

/// `GET /api/approval-rules`: every gated action and the amount from which it needs a checker.
pub async fn list_rules(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ctx = state.ctx;
    let rules =
        approvals::rules(&ctx.clients.dynamodb, &ctx.resources.approvals_table).await.map_err(ApiError::store)?;
    let items: Vec<Value> =
        rules.iter().map(|(action, r)| json!({ "action": action, "minAmountPaise": r.min_amount_paise })).collect();
    Ok(Json(json!({ "items": items })))
}

/// `PUT /api/approval-rules/{action}`: always parked (202) — a rule changes only when a second
/// person approves it.
pub async fn put_rule(
    State(state): State<AppState>,
    acting: Acting,
    Path(action): Path<String>,
    Body(body): Body<Value>,
) -> Result<Response, ApiError> {
    if !ACTIONS.contains(&action.as_str()) {
        return Err(ApiError::not_found(format!("`{action}` is not a gated action; one of {}", ACTIONS.join(", "))));
    }
    // `approval_rule.change` may be given any rule: it always needs a second person regardless.
    let shape = || ApiError::bad_request("the body is {\"minAmountPaise\": paise from 0, or null for never}");
    let fields = body.as_object().filter(|o| o.len() == 1).ok_or_else(shape)?;
    let rule = match fields.get("minAmountPaise").ok_or_else(shape)? {
        Value::Null => Rule { min_amount_paise: None },
        v => Rule {
            min_amount_paise: Some(v.as_i64().filter(|m| (0..=1_000_000_000_000).contains(m)).ok_or_else(shape)?),
        },
    };
    let ctx = state.ctx;
    let (db, table) = (&ctx.clients.dynamodb, ctx.resources.approvals_table.as_str());
    let rules = approvals::rules(db, table).await.map_err(ApiError::store)?;
    // What approval will write over: the table's row as it is now (none: the default).
    let was = approvals::rule_row(db, table, &action).await.map_err(ApiError::store)?;
    let gate = Gate {
        action: RULE_CHANGE,
        amount_paise: 0,
        target: ("approval_rule", &action),
        permission: Permission::ReconciliationWrite,
        request: json!({ "rule": rule, "was": was }),
        preview: json!({ "before": rules.get(&action), "after": rule }),
        reason: None,
    };
    park_if_gated(ctx, &acting, gate).await?.ok_or_else(|| ApiError::internal("a rule change was not parked"))
}

/// Applies an approved rule change with its approval's decision, in one transaction.
async fn apply_rule_change(
    ctx: &Context,
    a: &Approval,
    draft: settlepaisa_audit::Draft,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Value, ApiError> {
    let rule: Rule = serde_json::from_value(a.request["rule"].clone())
        .map_err(|_| ApiError::internal(format!("approval {} holds no rule", a.approval_id)))?;
    let (db, table) = (&ctx.clients.dynamodb, ctx.resources.approvals_table.as_str());
    let before = approvals::rules(db, table).await.map_err(ApiError::store)?.get(&a.target_id).cloned();
    let was = a.request["was"].as_str();
    let mut items = vec![approvals::rule_item(table, &a.target_id, &rule, was).map_err(ApiError::store)?];
    items.extend(extra);
    let draft = draft.change(json!(before), json!(rule));
    match settlepaisa_store::audit::transact(db, &ctx.resources.audit_table, items, draft)
        .await
        .map_err(ApiError::store)?
    {
        settlepaisa_aws::transact::Transacted::Written => Ok(json!({ "action": a.target_id, "rule": rule })),
        settlepaisa_aws::transact::Transacted::ConditionFailed { failed } if failed.first() == Some(&true) => {
            Err(ApiError::conflict(format!("the rule for `{}` changed since this change was asked for", a.target_id)))
        }
        settlepaisa_aws::transact::Transacted::ConditionFailed { .. } => {
            Err(ApiError::conflict("the approval was decided by someone else just now"))
        }
    }
}
