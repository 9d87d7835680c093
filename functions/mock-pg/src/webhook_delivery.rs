//! The mock PG's webhooks: each generated transaction delivered to the stack's `/webhooks/pg`
//! (`PG_WEBHOOK_URL`) as a real PG would — a `payment.captured` or `payment.failed` event, signed
//! with the PG's key (Standard Webhooks), over HTTP(S) — so the local stack exercises the real
//! path end to end.

use settlepaisa_http::ApiError;
use settlepaisa_outbound::{Client, Method};
use settlepaisa_pg_events::event::{body, Data, Kind, Payment};
use settlepaisa_pg_events::signature::{sign, SigningKey};
use settlepaisa_recon::pg_file::PgTxn;
use std::time::Duration;

/// Deliveries in flight at once.
const CONCURRENCY: usize = 32;
/// One delivery's bound: the receiver answers within a second.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivered {
    pub delivered: u64,
    pub duplicates: u64,
    /// Statuses webhooks do not carry (`pending`, …): left to the export.
    pub skipped: u64,
    pub failed: u64,
    /// The first failures' answers, to show the caller.
    pub errors: Vec<String>,
}

/// The event a PG sends for an export row, if its status has one.
pub fn event_of(t: &PgTxn<'_>) -> Option<(String, Vec<u8>)> {
    let kind = match t.status {
        "captured" => Kind::PaymentCaptured,
        "failed" => Kind::PaymentFailed,
        _ => return None,
    };
    let id = format!("evt_{}_{}", t.txn_id, t.status);
    let data = Data::Payment(Payment {
        txn_id: t.txn_id.to_string(),
        merchant_id: t.merchant_id.to_string(),
        merchant_ref: t.merchant_ref.to_string(),
        method: t.method,
        amount_paise: t.amount.0,
        status: t.status.to_string(),
        utr: t.utr.map(|u| u.to_string()),
        captured_at: settlepaisa_recon::date::format_ist(t.captured_at),
    });
    let created_at = settlepaisa_recon::date::format_utc(t.captured_at);
    Some((id.clone(), body(&id, kind, &created_at, &data)))
}

/// Delivers every row's event to `url`, signed with `key`.
pub async fn deliver(url: &str, key: &SigningKey, rows: &[PgTxn<'_>]) -> Result<Delivered, ApiError> {
    use futures_util::{stream, StreamExt};
    let client = Client::new().map_err(ApiError::internal)?;
    let mut out = Delivered::default();
    let events: Vec<(String, Vec<u8>)> = rows.iter().filter_map(event_of).collect();
    out.skipped = (rows.len() - events.len()) as u64;
    let results: Vec<Result<bool, String>> = stream::iter(events)
        .map(|(id, body)| {
            let client = client.clone();
            async move {
                let ts = settlepaisa_http::edge::now_secs() as i64;
                let signature = sign(key, &id, ts, &body);
                let ts = ts.to_string();
                let headers = [
                    ("content-type", "application/json"),
                    ("webhook-id", id.as_str()),
                    ("webhook-timestamp", ts.as_str()),
                    ("webhook-signature", signature.as_str()),
                ];
                let res = client
                    .send(Method::POST, url, &headers, body, TIMEOUT, 64 * 1024)
                    .await
                    .map_err(|e| e.to_string())?;
                if !res.status.is_success() {
                    return Err(format!("{id}: {} {}", res.status, String::from_utf8_lossy(&res.body)));
                }
                let answer: serde_json::Value = serde_json::from_slice(&res.body).unwrap_or_default();
                Ok(answer["duplicate"].as_bool().unwrap_or(false))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for r in results {
        match r {
            Ok(false) => out.delivered += 1,
            Ok(true) => out.duplicates += 1,
            Err(e) => {
                out.failed += 1;
                if out.errors.len() < 5 {
                    out.errors.push(e);
                }
            }
        }
    }
    Ok(out)
}
