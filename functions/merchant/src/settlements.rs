//! `GET /merchant/settlements` and `GET /merchant/settlements/{id}`: the merchant's own batches,
//! every amount of the formula, status and payout UTR; one batch with its lines. Another
//! merchant's batch is not found, not forbidden: its existence is not told.

use crate::dashboard::merchant_of;
use crate::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};
use settlepaisa_http::input::{identifier, page_limit, Query};
use settlepaisa_http::{cursor, ApiError, Caller};
use settlepaisa_settlement::api::listing::{self, Filter};
use settlepaisa_settlement::api::settlements::{dates, ListQuery};
use settlepaisa_settlement::api::views;
use settlepaisa_store::settlements;

/// `GET /merchant/settlements`
pub async fn list_merchant_settlements(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let merchant = merchant_of(&caller, q.merchant_id.as_deref())?;
    let (from, to) = dates(&q)?;
    let filter = Filter { merchant: Some(&merchant), status: listing::status(q.status.as_deref())?, from, to };
    let scope = cursor::Scope::new(&caller, "list-merchant-settlements")
        .filter("merchantId", Some(&merchant))
        .filter("status", filter.status.map(|s| s.as_str()))
        .filter("from", Some(from))
        .filter("to", Some(to));
    let (batches, next) = listing::page(state.ctx, &scope, &filter, page_limit(q.limit)?, q.cursor.as_deref()).await?;
    Ok(Json(json!({
        "settlements": batches.iter().map(views::batch).collect::<Vec<_>>(),
        "nextCursor": next,
    })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MerchantLinesQuery {
    pub merchant_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /merchant/settlements/{id}`
pub async fn get_merchant_settlement(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<MerchantLinesQuery>,
) -> Result<Json<Value>, ApiError> {
    identifier("settlement id", &id)?;
    let merchant = merchant_of(&caller, q.merchant_id.as_deref())?;
    let ctx = state.ctx;
    let not_found = || ApiError::not_found(format!("settlement {id} does not exist"));
    let batch = settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &id)
        .await?
        .filter(|b| b.merchant_id == merchant)
        .ok_or_else(not_found)?;
    let scope = cursor::Scope::new(&caller, "get-merchant-settlement").filter("id", Some(&id));
    Ok(Json(listing::batch_with_lines(ctx, &scope, &batch, page_limit(q.limit)?, q.cursor.as_deref()).await?))
}
