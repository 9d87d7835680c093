//! `POST /webhooks/pg`: a PG delivery, answered within a second. In order:
//! 1. the Standard Webhooks signature over the exact bytes, and the timestamp's age — any
//!    failure is 401 and nothing is stored;
//! 2. the event read and checked (400 says what is wrong; the PG's dashboard shows it);
//! 3. the delivery's receipt written once (`attribute_not_exists`): a replay finds it and gets
//!    the same 200 without queuing again — unless the first delivery stopped before its message
//!    was queued, then this one queues it;
//! 4. the delivery queued for `apply-pg-events`, and the receipt marked queued.
//!
//! A failure after the receipt answers 5xx and the PG retries: the retry finds the receipt not
//! queued and queues it. Nothing is lost, and an event takes effect once (its transaction's state
//! decides, whatever the queue redelivers).

use crate::message::Delivery;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use settlepaisa_http::ApiError;
use settlepaisa_pg_events::event::{self, MAX_BODY_BYTES};
use settlepaisa_pg_events::signature::{verify, Headers};
use settlepaisa_store::pg_events::{mark_queued, record_receipt, NewReceipt, Receipt};
use sha2::{Digest, Sha256};

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /webhooks/pg`
pub async fn receive_pg_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ctx = state.ctx;
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("a webhook body is at most {} KiB", MAX_BODY_BYTES / 1024),
        ));
    }
    let keys = ctx.pg_webhook_keys().await.map_err(|e| {
        // Ours to fix, not the PG's: it retries until the key is set right.
        tracing::error!(error = %e, "webhook signing keys are not usable");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "webhook verification is not configured")
    })?;
    let h = Headers {
        id: header(&headers, "webhook-id"),
        timestamp: header(&headers, "webhook-timestamp"),
        signatures: header(&headers, "webhook-signature"),
    };
    let now = settlepaisa_http::edge::now_secs() as i64;
    if let Err(refusal) = verify(&keys, h, &body, now) {
        tracing::warn!(reason = %refusal, webhook_id = h.id.unwrap_or(""), "webhook refused");
        return Err(ApiError::unauthorized(refusal.to_string()));
    }
    let webhook_id = h.id.unwrap_or_default();
    let event = event::parse(&body).map_err(ApiError::bad_request)?;
    if event.id != webhook_id {
        return Err(ApiError::bad_request(format!(
            "the event's id `{}` is not its webhook-id header `{webhook_id}`",
            event.id
        )));
    }
    // A later created_at wins a transaction's status: one from the future would pin it.
    if event.created.secs > now + settlepaisa_pg_events::signature::TOLERANCE_SECS {
        return Err(ApiError::bad_request(format!("created_at `{}` is in the future", event.created_at)));
    }
    let sha = hex::encode(Sha256::digest(&body));
    let receipt = NewReceipt {
        webhook_id,
        body_sha256: &sha,
        received_at: now,
        txn_id: event.txn_id(),
        kind: event.kind.as_str(),
    };
    let table = &ctx.resources.pg_events_table;
    let db = &ctx.clients.dynamodb;
    let duplicate = match record_receipt(db, table, &receipt).await.map_err(ApiError::from)? {
        Receipt::New => false,
        Receipt::Seen { same_body: false, .. } => {
            return Err(ApiError::conflict(format!(
                "webhook-id `{webhook_id}` was received before with another body; an event's id names one event"
            )))
        }
        Receipt::Seen { queued: true, .. } => {
            return Ok(accepted(webhook_id, true));
        }
        Receipt::Seen { queued: false, .. } => true,
    };
    // Valid UTF-8: it parsed as JSON.
    let text = String::from_utf8_lossy(&body).into_owned();
    let message = Delivery { webhook_id: webhook_id.to_string(), received_at: now, body: text };
    let message = serde_json::to_string(&message).map_err(ApiError::internal)?;
    settlepaisa_aws::sqs::send(&ctx.clients.sqs, &ctx.resources.pg_events_queue_url, message)
        .await
        .map_err(ApiError::unavailable)?;
    mark_queued(db, table, webhook_id).await.map_err(ApiError::from)?;
    tracing::info!(webhook_id, txn_id = event.txn_id(), kind = event.kind.as_str(), duplicate, "webhook queued");
    Ok(accepted(webhook_id, duplicate))
}

fn accepted(id: &str, duplicate: bool) -> Response {
    (StatusCode::OK, Json(json!({ "received": true, "id": id, "duplicate": duplicate }))).into_response()
}
