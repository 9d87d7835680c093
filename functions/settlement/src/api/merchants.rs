//! Merchants for ops: `GET /api/merchants`, `GET /api/merchants/{id}` (`settlements:read`) and
//! `PATCH /api/merchants/{id}` (`reconciliation:write`: hold or release a merchant, edit its
//! plan; docs/settlement-cycle.md says why that permission). Accounts are masked in every answer.

use super::{views, AppState};
use crate::ledger_store;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};
use settlepaisa_auth::Permission;
use settlepaisa_aws::transact::Transacted;
use settlepaisa_http::input::{identifier, page_limit, Body, Query};
use settlepaisa_http::maker_checker::{park_if_gated, Gate};
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_payout::merchant::{Merchant, MerchantStatus};
use settlepaisa_recon::money::Paise;
use settlepaisa_store::{merchants, settlements};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<String>,
    pub limit: Option<u32>,
    /// The last merchant id of the previous page.
    pub after: Option<String>,
}

/// `GET /api/merchants`
pub async fn list_merchants(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            MerchantStatus::parse(s)
                .ok_or_else(|| ApiError::bad_request(format!("status `{s}` is not ACTIVE, ON_HOLD or SUSPENDED")))
        })
        .transpose()?;
    let after = q.after.as_deref().map(|a| identifier("after", a)).transpose()?;
    let limit = page_limit(q.limit)? as usize;
    let ctx = state.ctx;
    // The table holds merchants, thousands at most: read whole, sorted by id.
    let all = merchants::all(&ctx.clients.dynamodb, &ctx.resources.merchants_table).await?;
    let chosen: Vec<&Merchant> = all
        .iter()
        .filter(|m| after.is_none_or(|a| m.merchant_id.as_str() > a))
        .filter(|m| status.is_none_or(|s| m.status == s))
        .take(limit + 1)
        .collect();
    let more = chosen.len() > limit;
    let page = &chosen[..chosen.len().min(limit)];
    Ok(Json(json!({
        "merchants": page.iter().map(|m| views::merchant(m)).collect::<Vec<_>>(),
        "nextAfter": if more { page.last().map(|m| m.merchant_id.clone()) } else { None },
    })))
}

/// `GET /api/merchants/{id}`: the plan, and the reserve its batches hold.
pub async fn get_merchant(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    identifier("merchant id", &id)?;
    let ctx = state.ctx;
    let m = merchants::get(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("merchant {id} does not exist")))?;
    let head = settlements::head(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &id).await?;
    let ledger = ledger_store::read(ctx, &id, &head).await.map_err(|e| match e {
        crate::SettleError::Store(settlepaisa_store::StoreError::Aws(e)) => ApiError::store(e),
        other => ApiError::internal(other),
    })?;
    let held: i64 = ledger.reserves.iter().filter(|r| r.released_by.is_none()).map(|r| r.amount.0).sum();
    let mut view = views::merchant(&m);
    view["reserveHeldPaise"] = Value::from(held);
    // Changes waiting for a second person (maker-checker), visible where they would apply.
    view["pendingApprovals"] = Value::from(
        settlepaisa_store::approvals::pending_on(
            &ctx.clients.dynamodb,
            &ctx.resources.approvals_table,
            "merchant",
            &id,
        )
        .await
        .map_err(ApiError::store)?,
    );
    Ok(Json(view))
}

/// The fields an edit may change; absent ones stay.
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MerchantChange {
    pub name: Option<String>,
    pub status: Option<String>,
    pub settlement_days: Option<u32>,
    pub min_payout_paise: Option<i64>,
    pub reserve_bps: Option<u32>,
    pub reserve_hold_days: Option<u32>,
    pub mdr_bps: Option<MdrChange>,
    pub gst_bps: Option<u32>,
    pub ifsc: Option<String>,
    pub account_number: Option<String>,
    pub beneficiary: Option<String>,
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MdrChange {
    #[serde(rename = "UPI")]
    pub upi: Option<u32>,
    #[serde(rename = "CARD")]
    pub card: Option<u32>,
    #[serde(rename = "NETBANKING")]
    pub netbanking: Option<u32>,
    #[serde(rename = "WALLET")]
    pub wallet: Option<u32>,
}

/// `m` with `c` applied, checked by the merchants file's rules.
pub fn changed(m: &Merchant, c: MerchantChange) -> Result<Merchant, ApiError> {
    let mut n = m.clone();
    if let Some(s) = c.status.as_deref() {
        n.status = MerchantStatus::parse(s)
            .ok_or_else(|| ApiError::bad_request(format!("status `{s}` is not ACTIVE, ON_HOLD or SUSPENDED")))?;
    }
    n.name = c.name.unwrap_or(n.name);
    n.settlement_days = c.settlement_days.unwrap_or(n.settlement_days);
    n.min_payout = c.min_payout_paise.map(Paise).unwrap_or(n.min_payout);
    n.reserve_bps = c.reserve_bps.unwrap_or(n.reserve_bps);
    n.reserve_hold_days = c.reserve_hold_days.unwrap_or(n.reserve_hold_days);
    if let Some(r) = c.mdr_bps {
        for (slot, v) in n.mdr_bps.iter_mut().zip([r.upi, r.card, r.netbanking, r.wallet]) {
            *slot = v.unwrap_or(*slot);
        }
    }
    n.gst_bps = c.gst_bps.unwrap_or(n.gst_bps);
    n.ifsc = c.ifsc.unwrap_or(n.ifsc);
    n.account_number = c.account_number.unwrap_or(n.account_number);
    n.beneficiary = c.beneficiary.unwrap_or(n.beneficiary);
    n.validated().map_err(|why| ApiError::bad_request(format!("the merchant would not be valid: {why}")))
}

/// `PATCH /api/merchants/{id}`: a plan or status change (a hold and its release among them) is
/// gated by maker-checker: parked (202) for a second person unless the rules let it through.
pub async fn update_merchant(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    Body(change): Body<MerchantChange>,
) -> Result<axum::response::Response, ApiError> {
    identifier("merchant id", &id)?;
    let ctx = state.ctx;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.merchants_table);
    let before = merchants::get(db, table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("merchant {id} does not exist")))?;
    let request = json!({
        "change": serde_json::to_value(&change).map_err(ApiError::internal)?,
        "expected": settlepaisa_aws::dynamo::key_to_json(&merchants::to_item(&before)),
    });
    let after = changed(&before, change)?;
    let gate = Gate {
        action: "merchant.update",
        amount_paise: 0,
        target: ("merchant", &id),
        permission: Permission::ReconciliationWrite,
        request,
        preview: json!({ "before": views::merchant(&before), "after": views::merchant(&after) }),
        reason: None,
    };
    if let Some(parked) = park_if_gated(ctx, &acting, gate).await? {
        return Ok(parked);
    }
    let draft = acting.draft("merchant.update", ("merchant", &id));
    Ok(Json(apply_update(ctx, &id, &before, &after, draft, Vec::new()).await?).into_response())
}

/// Writes `after` over the merchant as read (`before`), with its entry and `extra` (an approval
/// it decides) in one transaction; 409 when the merchant changed meanwhile.
pub async fn apply_update(
    ctx: &settlepaisa_store::Context,
    id: &str,
    before: &Merchant,
    after: &Merchant,
    draft: settlepaisa_audit::Draft,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Value, ApiError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.merchants_table);
    let draft = draft.change(views::merchant(before), views::merchant(after));
    match merchants::replace(db, table, before, after, (&ctx.resources.audit_table, draft), extra).await? {
        Transacted::Written => {}
        Transacted::ConditionFailed { failed } if failed.first() == Some(&true) => {
            return Err(ApiError::conflict(format!("merchant {id} changed while this edit was made; read it again")))
        }
        Transacted::ConditionFailed { .. } => {
            return Err(ApiError::conflict("the approval was decided by someone else just now"))
        }
    }
    tracing::info!(merchant = %id, from = before.status.as_str(), to = after.status.as_str(), "merchant changed");
    Ok(views::merchant(after))
}

/// Applies an approved `merchant.update` exactly as it was requested, against the merchant as it
/// was then: `extra` decides the approval in the same transaction.
pub async fn apply_approved(
    ctx: &settlepaisa_store::Context,
    approval: &settlepaisa_store::approvals::Approval,
    draft: settlepaisa_audit::Draft,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Value, ApiError> {
    let broken = || ApiError::internal(format!("approval {} holds no merchant change", approval.approval_id));
    let change: MerchantChange = serde_json::from_value(approval.request["change"].clone()).map_err(|_| broken())?;
    let expected = settlepaisa_aws::dynamo::key_from_json(&approval.request["expected"]).ok_or_else(broken)?;
    let before = merchants::from_item(&expected).map_err(|_| broken())?;
    let after = changed(&before, change)?;
    apply_update(ctx, &approval.target_id, &before, &after, draft, extra).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> MerchantChange {
        serde_json::from_value(json!({})).unwrap()
    }

    #[test]
    fn an_edit_changes_what_it_names_and_meets_the_import_rules() {
        let m = settlepaisa_payout::merchant::generated(1).remove(0);
        let hold = MerchantChange { status: Some("ON_HOLD".into()), ..change() };
        let held = changed(&m, hold).unwrap();
        assert_eq!(held.status, MerchantStatus::OnHold);
        assert_eq!(Merchant { status: MerchantStatus::Active, ..held }, m, "nothing else changed");
        let bad_ifsc = MerchantChange { ifsc: Some("HDFC123".into()), ..change() };
        assert!(changed(&m, bad_ifsc).is_err());
        let gst = MerchantChange { gst_bps: Some(100_000), ..change() };
        assert!(changed(&m, gst).is_err());
        let card = MerchantChange { mdr_bps: Some(serde_json::from_value(json!({"CARD": 150})).unwrap()), ..change() };
        assert_eq!(changed(&m, card).unwrap().mdr_bps, [0, 150, 190, 190]);
    }
}
