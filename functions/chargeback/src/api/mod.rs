//! The ops dispute API. Reads need `disputes:read` (sp-finance, sp-compliance: the seed's
//! table); opening a dispute, recording the network's outcome and writing a representment
//! package need `exceptions:resolve` (sp-ops) — the one write permission of the seed that is
//! about resolving cases; `docs/disputes.md#who-may-do-what` has the reasoning.
//!
//! - `GET /api/disputes`, `GET /api/disputes/{id}` — here;
//! - [`open`] — `POST /api/disputes`;
//! - [`outcome`] — `POST /api/disputes/{id}/outcome`;
//! - [`representment`] — `POST /api/disputes/{id}/representment`.

pub mod open;
pub mod outcome;
pub mod representment;

use crate::listing::{self, Filter, ListQuery};
use crate::{access, change::now, settlement_of, views, AppState};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::Value;
use settlepaisa_dispute::model::Status;
use settlepaisa_http::input::{identifier, Query};
use settlepaisa_http::{ApiError, Caller};
use settlepaisa_store::disputes::Partition;

/// `GET /api/disputes`: one merchant's (`merchantId`), or one status's — `needs_response` when
/// none is named: the ops queue, earliest deadline first.
pub async fn list_disputes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let filter = Filter::from_query(&q, now())?;
    let merchant = q.merchant_id.as_deref().map(|m| identifier("merchantId", m)).transpose()?;
    let partition = match merchant {
        Some(m) => Partition::Merchant(m),
        None => Partition::Status(filter.status.unwrap_or(Status::NeedsResponse)),
    };
    listing::answer(state.ctx, &caller, "list-disputes", &partition, &q, &filter).await
}

/// `GET /api/disputes/{id}`, and the portal's `GET /merchant/disputes/{id}` (confined by
/// [`access::load`], shown to a merchant user as [`views::viewer`] says).
pub async fn get_dispute(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let d = access::load(state.ctx, &caller, &id).await?;
    let settlement = settlement_of::find(state.ctx, &d).await?;
    Ok(Json(views::detail(&d, settlement, views::viewer(&caller))))
}
