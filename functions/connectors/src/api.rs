//! The connectors API (`connectors:configure`): `GET /api/connectors`, `GET /api/connectors/{bank}`
//! (configuration, run state, breaker, recent changes), `PUT /api/connectors/{bank}` (create or
//! replace; `If-Match: <version>` to replace only what was read). A connector holds the *name* of
//! its secret; a body carrying a key, password or any field not in the schema is refused.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use settlepaisa_auth::Permission;
use settlepaisa_aws::transact::Transacted;
use settlepaisa_connector::config::{valid_bank, validate, ConnectorConfig};
use settlepaisa_http::input::Body;
use settlepaisa_http::maker_checker::{park_if_gated, Gate};
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_store::connectors::{self, RunState, Stored};

fn utc(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| json!(settlepaisa_recon::date::format_utc(t)))
}

/// A connector as the API shows it: its configuration (the secret by name), state and breaker.
pub fn view(stored: &Stored, state: &RunState, now: i64) -> Value {
    let c = &stored.config;
    json!({
        "bank": stored.bank,
        "config": c,
        "version": stored.version,
        "updatedAt": utc(Some(stored.updated_at)),
        "updatedBy": stored.updated_by,
        "secret": { "name": c.secret_name, "value": "kept in Secrets Manager; never shown" },
        "nextRunAt": if c.enabled { utc(c.schedule().next_after(now)) } else { Value::Null },
        "state": {
            "breaker": state.breaker,
            "lastRunAt": utc(state.last_run_at),
            "lastSuccessAt": utc(state.last_success_at),
            "lastError": state.last_error,
            "lastErrorAt": utc(state.last_error_at),
            "lastFileAt": utc(state.last_file_at),
            "filesTaken": state.files_taken,
            "payoutsPushed": state.payouts_pushed,
        },
    })
}

/// `GET /api/connectors`
pub async fn list_connectors(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ctx = state.ctx;
    let all =
        connectors::all(&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table).await.map_err(ApiError::from)?;
    let now = settlepaisa_http::edge::now_secs() as i64;
    let items: Vec<Value> = all.values().map(|(c, s)| view(c, s, now)).collect();
    Ok(Json(json!({ "items": items })))
}

fn bank_of(bank: &str) -> Result<&str, ApiError> {
    if !valid_bank(bank) {
        return Err(ApiError::bad_request(format!("bank `{bank}` is not 2–16 uppercase letters or digits")));
    }
    Ok(bank)
}

/// `GET /api/connectors/{bank}`
pub async fn get_connector(State(state): State<AppState>, Path(bank): Path<String>) -> Result<Json<Value>, ApiError> {
    let ctx = state.ctx;
    let bank = bank_of(&bank)?;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let Some((stored, run)) = connectors::get(db, table, bank).await.map_err(ApiError::from)? else {
        return Err(ApiError::not_found(format!("no connector for bank `{bank}`")));
    };
    let history = connectors::history(db, table, bank, 20).await.map_err(ApiError::from)?;
    let mut v = view(&stored, &run, settlepaisa_http::edge::now_secs() as i64);
    v["changes"] = history
        .into_iter()
        .map(|(at, what, detail)| json!({ "at": utc(Some(at)), "what": what, "detail": detail }))
        .collect();
    // Changes waiting for a second person (maker-checker), visible where they would apply.
    v["pendingApprovals"] = Value::from(
        settlepaisa_store::approvals::pending_on(db, &ctx.resources.approvals_table, "connector", bank)
            .await
            .map_err(ApiError::store)?,
    );
    Ok(Json(v))
}

/// `PUT /api/connectors/{bank}`: 201 created, 200 replaced; 409 when `If-Match` is not the
/// stored version (or it changed while this was written).
pub async fn put_connector(
    State(state): State<AppState>,
    acting: Acting,
    Path(bank): Path<String>,
    headers: HeaderMap,
    Body(config): Body<ConnectorConfig>,
) -> Result<Response, ApiError> {
    let ctx = state.ctx;
    let bank = bank_of(&bank)?;
    let folders: Vec<String> = ctx.templates.iter().map(|t| t.name.clone()).collect();
    validate(bank, &config, &folders).map_err(ApiError::bad_request)?;
    let if_match = match headers.get("if-match").map(|v| v.to_str().unwrap_or("")) {
        None => None,
        Some(v) => Some(
            v.trim_matches('"')
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request("If-Match is the connector's version (a number)"))?,
        ),
    };
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let stored = connectors::get(db, table, bank).await.map_err(ApiError::from)?.map(|(c, _)| c);
    let current = stored.as_ref().map(|c| c.version);
    if let (Some(want), Some(have)) = (if_match, current) {
        if want != have {
            return Err(ApiError::conflict(format!(
                "connector `{bank}` is at version {have}, not {want}; read it again"
            )));
        }
    }
    if if_match.is_some() && current.is_none() {
        return Err(ApiError::not_found(format!("no connector for bank `{bank}` to replace")));
    }
    let gate = Gate {
        action: "connector.configure",
        amount_paise: 0,
        target: ("connector", bank),
        permission: Permission::ConnectorsConfigure,
        request: json!({ "config": config, "expected": current }),
        preview: json!({
            "before": stored.as_ref().map(|s| json!({ "version": s.version, "config": s.config })),
            "after": config,
        }),
        reason: None,
    };
    if let Some(parked) = park_if_gated(ctx, &acting, gate).await? {
        return Ok(parked);
    }
    let draft = acting.draft("connector.configure", ("connector", bank));
    let (status, body) = apply_config(ctx, bank, &config, current, &acting.caller.user_id, draft, Vec::new()).await?;
    Ok((status, Json(body)).into_response())
}

/// Writes `config` over the version `expected` (`None`: new), with its entry and `extra` (an
/// approval it decides) in one transaction; 409 when the connector changed meanwhile.
pub async fn apply_config(
    ctx: &settlepaisa_store::Context,
    bank: &str,
    config: &ConnectorConfig,
    expected: Option<u64>,
    by: &str,
    draft: settlepaisa_audit::Draft,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<(StatusCode, Value), ApiError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let stored = connectors::get(db, table, bank).await.map_err(ApiError::from)?.map(|(c, _)| c);
    let now = settlepaisa_http::edge::now_secs() as i64;
    let draft = draft.change(
        stored.as_ref().map_or(Value::Null, |s| json!({ "version": s.version, "config": s.config })),
        json!({ "version": expected.map_or(1, |v| v + 1), "config": config }),
    );
    let audit = (ctx.resources.audit_table.as_str(), draft);
    match connectors::put_config(db, table, bank, config, expected, by, now, audit, extra)
        .await
        .map_err(ApiError::from)?
    {
        Transacted::Written => {}
        Transacted::ConditionFailed { failed } if failed.first() == Some(&true) => {
            return Err(ApiError::conflict(format!("connector `{bank}` changed while this was written; read it again")))
        }
        Transacted::ConditionFailed { .. } => {
            return Err(ApiError::conflict("the approval was decided by someone else just now"))
        }
    }
    tracing::info!(bank, user = by, "connector configured");
    let (stored, run) = connectors::get(db, table, bank)
        .await
        .map_err(ApiError::from)?
        .ok_or_else(|| ApiError::internal("a connector just written is not there"))?;
    let status = if expected.is_some() { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, view(&stored, &run, now)))
}

/// Applies an approved `connector.configure` exactly as requested, over the version it expected.
pub async fn apply_approved(
    ctx: &settlepaisa_store::Context,
    approval: &settlepaisa_store::approvals::Approval,
    draft: settlepaisa_audit::Draft,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Value, ApiError> {
    let broken = || ApiError::internal(format!("approval {} holds no connector configuration", approval.approval_id));
    let config: ConnectorConfig = serde_json::from_value(approval.request["config"].clone()).map_err(|_| broken())?;
    let expected = approval.request["expected"].as_u64();
    let by = approval.maker.user_id.clone();
    Ok(apply_config(ctx, &approval.target_id, &config, expected, &by, draft, extra).await?.1)
}
