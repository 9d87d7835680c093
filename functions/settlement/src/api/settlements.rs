//! `GET /api/settlements` and `GET /api/settlements/{id}` (ops, `settlements:read`).

use super::listing::{self, Filter};
use super::{views, AppState};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};
use settlepaisa_http::input::{identifier, page_limit, Query};
use settlepaisa_http::time_filter::{today, TimeFilter};
use settlepaisa_http::{cursor, ApiError, Caller};
use settlepaisa_recon::date::Date;
use settlepaisa_store::settlements;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListQuery {
    pub merchant_id: Option<String>,
    pub status: Option<String>,
    /// Cycle dates, as the dashboards' time filter takes them (`from`/`to`, or `range`).
    pub from: Option<String>,
    pub to: Option<String>,
    pub range: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The cycle dates a list asks for: the dashboards' filter (at most 92 days); the last 30 days
/// when none are given.
pub fn dates(q: &ListQuery) -> Result<(Date, Date), ApiError> {
    let filter = TimeFilter {
        from: q.from.clone(),
        to: q.to.clone(),
        range: match (&q.range, &q.from, &q.to) {
            (None, None, None) => Some("30d".into()),
            (range, _, _) => range.clone(),
        },
        merchant_id: None,
    };
    let r = filter.resolve(today())?;
    Ok((r.from, r.to))
}

/// `GET /api/settlements`
pub async fn list_settlements(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let merchant = q.merchant_id.as_deref().map(|m| identifier("merchantId", m)).transpose()?;
    let (from, to) = dates(&q)?;
    let filter = Filter { merchant, status: listing::status(q.status.as_deref())?, from, to };
    let limit = page_limit(q.limit)?;
    let scope = cursor::Scope::new(&caller, "list-settlements")
        .filter("merchantId", merchant)
        .filter("status", filter.status.map(|s| s.as_str()))
        .filter("from", Some(from))
        .filter("to", Some(to));
    let (batches, next) = listing::page(state.ctx, &scope, &filter, limit, q.cursor.as_deref()).await?;
    Ok(Json(json!({
        "settlements": batches.iter().map(views::batch).collect::<Vec<_>>(),
        "nextCursor": next,
    })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinesQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /api/settlements/{id}`: the batch and a page of its lines.
pub async fn get_settlement(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<LinesQuery>,
) -> Result<Json<Value>, ApiError> {
    identifier("settlement id", &id)?;
    let ctx = state.ctx;
    let batch = settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("settlement {id} does not exist")))?;
    let scope = cursor::Scope::new(&caller, "get-settlement").filter("id", Some(&id));
    Ok(Json(listing::batch_with_lines(ctx, &scope, &batch, page_limit(q.limit)?, q.cursor.as_deref()).await?))
}
