//! The merchant portal's disputes (the seed's `GET /merchant/disputes`,
//! `POST /merchant/disputes/:id/respond`): a merchant user sees and answers its own merchant's
//! disputes only; staff with `disputes:read` read any merchant's by naming it, and sp-ops
//! (`exceptions:resolve`) may upload and respond on a merchant's behalf.
//!
//! - `GET /merchant/disputes`, `GET /merchant/disputes/{id}` — here;
//! - [`evidence`] — `POST /merchant/disputes/{id}/evidence`;
//! - [`respond`] — `POST /merchant/disputes/{id}/respond`.

pub mod evidence;
pub mod respond;

use crate::listing::{self, Filter, ListQuery};
use crate::{change::now, AppState};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::Value;
use settlepaisa_http::input::{identifier, Query};
use settlepaisa_http::{ApiError, Caller};
use settlepaisa_store::disputes::Partition;

/// `GET /merchant/disputes`
pub async fn list_merchant_disputes(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let merchant = caller
        .merchant_scope(q.merchant_id.as_deref())?
        .ok_or_else(|| ApiError::bad_request("merchantId is required for SettlePaisa staff"))?;
    identifier("merchantId", &merchant)?;
    let filter = Filter::from_query(&q, now())?;
    listing::answer(state.ctx, &caller, "list-merchant-disputes", &Partition::Merchant(&merchant), &q, &filter).await
}

/// `GET /merchant/disputes/{id}`
pub async fn get_merchant_dispute(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    crate::api::get_dispute(State(state), Extension(caller), Path(id)).await
}
