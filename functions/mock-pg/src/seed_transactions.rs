//! `POST /admin/seed`: N transactions with the seed's method mix and success rates (UPI 60 % at
//! 92 %, card 20 % at 88 %, netbanking 10 % at 85 %, wallet 10 % at 95 %), written as a PG export
//! to `incoming/pg/`, so they reach the transactions table through the real ingestion.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use settlepaisa_http::input::Body;
use settlepaisa_http::time_filter::today;
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_recon::gen::{generate, GenConfig};
use settlepaisa_recon::pg_file::parse_pg_file;
use std::collections::BTreeMap;

/// At most this many per request: generation and the upload stay well inside API Gateway's 29 s.
pub const MAX_SEED: usize = 200_000;
/// At most this many delivered as webhooks per request (one signed POST each).
pub const MAX_WEBHOOK_SEED: usize = 500;

/// How the seeded transactions reach the stack.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deliver {
    /// A PG export in `incoming/pg/` (ingestion reads it).
    #[default]
    File,
    /// Signed webhooks to `/webhooks/pg`, one per transaction.
    Webhook,
    /// Both, webhooks first (as a PG's live events come before its day's export).
    Both,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedRequest {
    pub count: usize,
    /// First capture date (IST); today when absent.
    pub start_date: Option<String>,
    /// Captures spread over this many days (1 to 31).
    pub days: Option<u32>,
    /// Merchants `MERCH001…` (1 to 999).
    pub merchants: Option<u32>,
    /// The same seed gives the same transactions.
    pub seed: Option<u64>,
    /// `file` (default), `webhook` or `both`.
    pub deliver: Option<Deliver>,
}

/// `POST /admin/seed`: 202, ingestion runs on the S3 event.
pub async fn seed_transactions(
    State(state): State<AppState>,
    acting: Acting,
    headers: axum::http::HeaderMap,
    Body(req): Body<SeedRequest>,
) -> Result<Response, ApiError> {
    let caller = &acting.caller;
    if !(1..=MAX_SEED).contains(&req.count) {
        return Err(ApiError::bad_request(format!("count must be 1 to {MAX_SEED}")));
    }
    let deliver = req.deliver.unwrap_or_default();
    if deliver != Deliver::File && req.count > MAX_WEBHOOK_SEED {
        return Err(ApiError::bad_request(format!("count must be 1 to {MAX_WEBHOOK_SEED} when delivering webhooks")));
    }
    let days = req.days.unwrap_or(1);
    if !(1..=31).contains(&days) {
        return Err(ApiError::bad_request("days must be 1 to 31"));
    }
    let merchants = req.merchants.unwrap_or(10);
    if !(1..=999).contains(&merchants) {
        return Err(ApiError::bad_request("merchants must be 1 to 999"));
    }
    let start = match &req.start_date {
        None => today(),
        Some(d) => settlepaisa_http::input::business_date("startDate", d)?,
    };
    let seed = req.seed.unwrap_or_else(settlepaisa_http::edge::now_secs);
    // Ids unique per batch: the seed and start date name the batch.
    let prefix = format!("T{}{:06X}", start.to_string().replace('-', ""), seed & 0xff_ffff);
    let cfg = GenConfig { start, days, merchants, txn_prefix: prefix.clone(), ..GenConfig::new(req.count, seed) };
    let generated = tokio::task::spawn_blocking(move || generate(&cfg).pg.bytes).await.map_err(ApiError::internal)?;
    let (by_status, by_method) = {
        let file = parse_pg_file(&generated).map_err(ApiError::internal)?;
        let mut methods: BTreeMap<&str, u64> = BTreeMap::new();
        for t in file.captured.iter().chain(&file.other) {
            *methods.entry(t.method.as_str()).or_default() += 1;
        }
        (file.stats.by_status.clone(), methods.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<BTreeMap<_, _>>())
    };
    // The entry goes first: what follows writes S3 and calls the webhook endpoint, outside any
    // DynamoDB transaction, and a seed must never happen unrecorded.
    let key = format!("incoming/pg/seed-{prefix}-{}.csv", req.count);
    let draft = acting.draft("mock_pg.seed", ("pg_export", &key)).change(
        serde_json::Value::Null,
        serde_json::json!({ "count": req.count, "days": days, "merchants": merchants, "seed": seed,
                            "deliver": format!("{deliver:?}").to_lowercase(), "byStatus": by_status }),
    );
    settlepaisa_store::audit::append(&state.ctx.clients.dynamodb, &state.ctx.resources.audit_table, draft)
        .await
        .map_err(ApiError::store)?;
    let mut webhooks = None;
    if deliver != Deliver::File {
        // The stack's own `/webhooks/pg`: configured (the local stack), or the API this request
        // came in through (a deployed stack: its host).
        let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
        let url = match (&state.ctx.pg_webhook_url, host) {
            (Some(url), _) => url.clone(),
            (None, Some(host)) if host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b)) => {
                format!("https://{host}/webhooks/pg")
            }
            _ => return Err(ApiError::bad_request("the request names no host to deliver webhooks to")),
        };
        let url = url.as_str();
        let keys = state.ctx.pg_webhook_keys().await.map_err(ApiError::internal)?;
        let file = parse_pg_file(&generated).map_err(ApiError::internal)?;
        let rows: Vec<_> = file.captured.iter().chain(&file.other).copied().collect();
        webhooks = Some(crate::webhook_delivery::deliver(url, &keys[0], &rows).await?);
    }
    if deliver != Deliver::Webhook {
        let bucket = &state.ctx.resources.uploads_bucket;
        settlepaisa_aws::s3::put(&state.ctx.clients.s3, bucket, &key, generated).await.map_err(ApiError::store)?;
        tracing::info!(key, count = req.count, user = caller.user_id, "seeded PG export");
    }
    let message = match deliver {
        Deliver::File => "the PG export is in the uploads bucket; ingestion adds the transactions to GET /api/transactions",
        Deliver::Webhook => "delivered as signed webhooks; GET /api/transactions shows them as they are applied",
        Deliver::Both => "delivered as signed webhooks, then the PG export; the export's rows replace the webhook rows in GET /api/transactions, and disagreements are listed with conflicts=true",
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "key": (deliver != Deliver::Webhook).then_some(key),
            "webhooks": webhooks,
            "count": req.count,
            "txnIdPrefix": prefix,
            "from": start.to_string(),
            "to": start.add_days(days as i32 - 1).to_string(),
            "byStatus": by_status,
            "byMethod": by_method,
            "message": message,
        })),
    )
        .into_response())
}
