//! `POST /merchant/settlement/schedule`: an on-demand settlement of the available balance on a
//! chosen business day. The request is recorded under its `Idempotency-Key` (the same key again
//! answers with the same request); the cycle of that day settles everything matched by then,
//! whatever the merchant's T+N, and records the batch or why there was none.

use crate::availability::{self, estimated_net};
use crate::dashboard::merchant_of;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use settlepaisa_http::input::{business_date, idempotency_key, Body};
use settlepaisa_http::time_filter::today;
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_payout::merchant::MerchantStatus;
use settlepaisa_store::job::now_rfc3339;
use settlepaisa_store::merchants;
use settlepaisa_store::settlements::{self, Recorded, RequestKey, SettlementRequest};

/// How far ahead a settlement may be scheduled.
pub const MAX_DAYS_AHEAD: i32 = 30;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ScheduleBody {
    /// The business day to settle on (`YYYY-MM-DD`, after today).
    pub date: String,
    /// Staff scheduling for a merchant name it; a merchant user's own is implied.
    pub merchant_id: Option<String>,
}

fn view(r: &SettlementRequest) -> Value {
    json!({
        "merchantId": r.key.merchant_id,
        "idempotencyKey": r.key.idempotency_key,
        "date": r.key.date,
        "status": r.status,
        "requestedBy": r.requested_by,
        "requestedAt": r.requested_at,
        "estimatedNetPaise": r.estimated_net_paise,
        "settlementId": r.settlement_id,
        "outcome": r.outcome,
    })
}

/// `POST /merchant/settlement/schedule`
pub async fn schedule_settlement(
    State(state): State<AppState>,
    acting: Acting,
    headers: HeaderMap,
    Body(body): Body<ScheduleBody>,
) -> Result<Response, ApiError> {
    let caller = &acting.caller;
    let key = idempotency_key(&headers)?;
    let id = merchant_of(caller, body.merchant_id.as_deref())?;
    let date = business_date("date", &body.date)?;
    let ctx = state.ctx;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.settlements_table);
    let m = merchants::get(db, &ctx.resources.merchants_table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("merchant {id} has no settlement plan")))?;
    // The same key again: the request it recorded, whatever has happened since.
    if let Some(existing) = settlements::get_request(db, table, &id, &key).await? {
        return replay(existing, &body.date);
    }
    let today = today();
    let cal = &ctx.settlement.calendar;
    if date <= today || date > today.add_days(MAX_DAYS_AHEAD) {
        return Err(ApiError::bad_request(format!(
            "date must be a business day after today and within {MAX_DAYS_AHEAD} days (today's run has its batches)"
        )));
    }
    if !cal.is_business_day(date) {
        return Err(ApiError::bad_request(format!(
            "{date} is not a business day; the next is {}",
            cal.add_business_days(date, 0)
        )));
    }
    if m.status != MerchantStatus::Active {
        return Err(ApiError::conflict(format!(
            "merchant {id} is {}: nothing is settled until it is ACTIVE again",
            m.status.as_str()
        )));
    }
    let [_, available] = availability::of(ctx, &id, today).await?.awaiting_total();
    if available <= 0 {
        return Err(ApiError::conflict(
            "nothing is available to settle: every reconciled payment is in a settlement already",
        ));
    }
    let request = SettlementRequest {
        key: RequestKey { merchant_id: id.clone(), idempotency_key: key, date: date.to_string() },
        status: "SCHEDULED".into(),
        requested_by: caller.user_id.clone(),
        requested_at: now_rfc3339(),
        estimated_net_paise: estimated_net(&m, available),
        settlement_id: None,
        outcome: None,
    };
    let draft = acting.draft("settlement.request", ("merchant", &id)).change(serde_json::Value::Null, view(&request));
    match settlements::put_request(db, table, &request, (ctx.resources.audit_table.as_str(), draft)).await? {
        Recorded::New => Ok((StatusCode::ACCEPTED, Json(view(&request))).into_response()),
        // Another request with this key won the race.
        Recorded::SameKey(existing) => replay(existing, &body.date),
        Recorded::DayTaken => Err(ApiError::conflict(format!(
            "a settlement is already scheduled for {id} on {date}; it takes everything available then"
        ))),
    }
}

fn replay(existing: SettlementRequest, date: &str) -> Result<Response, ApiError> {
    if existing.key.date != date {
        return Err(ApiError::conflict(
            "this Idempotency-Key was used for a request for another date; use a new key for a new request",
        ));
    }
    Ok((StatusCode::OK, Json(view(&existing))).into_response())
}
