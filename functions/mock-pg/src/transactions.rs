//! `GET /api/transactions`: PG transactions by merchant, status, method, amount and capture
//! dates, a page at a time. With a merchant, one index partition (`by-merchant-time`) in time
//! order; without, the days' 16 write buckets (`by-day-bucket-time`) one after another.

use crate::AppState;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_aws::dynamo::{key_from_json, key_to_json, n, s, sv, Item};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_http::input::{identifier, page_limit, Query};
use settlepaisa_http::time_filter::{today, DayRange, TimeFilter};
use settlepaisa_http::{cursor, ApiError, Caller};
use settlepaisa_pipeline::ingest::DAY_BUCKETS;
use settlepaisa_recon::date::IST_OFFSET_MINUTES;
use settlepaisa_recon::pg_file::Method;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TransactionQuery {
    pub merchant_id: Option<String>,
    pub status: Option<String>,
    pub method: Option<String>,
    pub min_amount_paise: Option<i64>,
    pub max_amount_paise: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub range: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Where a page starts: the partition (index into the partitions walked) and the key in it.
fn position(cursor_text: Option<&str>) -> Result<(usize, Option<Item>), ApiError> {
    let Some(c) = cursor_text else { return Ok((0, None)) };
    let v = cursor::decode(c)?;
    let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
    let p = v.get("p").and_then(Value::as_u64).ok_or_else(bad)? as usize;
    let key = match v.get("k") {
        None | Some(Value::Null) => None,
        Some(k) => Some(key_from_json(k).ok_or_else(bad)?),
    };
    Ok((p, key))
}

/// `GET /api/transactions`
pub async fn list_transactions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<TransactionQuery>,
) -> Result<Json<Value>, ApiError> {
    let merchant = caller.merchant_scope(q.merchant_id.as_deref())?;
    if let Some(m) = &merchant {
        identifier("merchantId", m)?;
    }
    let limit = page_limit(q.limit)?;
    for (name, v) in [("minAmountPaise", q.min_amount_paise), ("maxAmountPaise", q.max_amount_paise)] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::bad_request(format!("{name} must be a whole, non-negative number of paise")));
        }
    }
    if let (Some(lo), Some(hi)) = (q.min_amount_paise, q.max_amount_paise) {
        if lo > hi {
            return Err(ApiError::bad_request("minAmountPaise is above maxAmountPaise"));
        }
    }
    let method = q
        .method
        .as_deref()
        .map(|m| {
            Method::parse(m)
                .map(Method::as_str)
                .ok_or_else(|| ApiError::bad_request(format!("method `{m}` is not UPI, CARD, NETBANKING or WALLET")))
        })
        .transpose()?;
    if let Some(st) = &q.status {
        if st.is_empty() || !st.bytes().all(|c| c.is_ascii_lowercase() || c == b'_') {
            return Err(ApiError::bad_request(format!(
                "status `{st}` is not a status name (captured, failed, pending, …)"
            )));
        }
    }
    let filter = TimeFilter { from: q.from.clone(), to: q.to.clone(), range: q.range.clone(), merchant_id: None };
    let range = filter.resolve(today())?;
    let (mut p, mut start) = position(q.cursor.as_deref())?;
    let partitions: Vec<(&str, String)> = match &merchant {
        Some(m) => vec![("by-merchant-time", m.clone())],
        None => range
            .days()
            .flat_map(|d| (0..DAY_BUCKETS).map(move |b| ("by-day-bucket-time", format!("{d}#{b:02}"))))
            .collect(),
    };
    let ctx = state.ctx;
    let mut items = Vec::new();
    let mut next = None;
    while p < partitions.len() {
        let (index, pk) = &partitions[p];
        let want = limit as usize - items.len();
        let (mut got, last) = query(
            &ctx.clients.dynamodb,
            &ctx.resources.transactions_table,
            index,
            pk,
            range,
            &q,
            method,
            want,
            start.take(),
        )
        .await
        .map_err(ApiError::unavailable)?;
        items.append(&mut got);
        match last {
            Some(k) if items.len() >= limit as usize => {
                next = Some(json!({ "p": p, "k": key_to_json(&k) }));
                break;
            }
            Some(k) => start = Some(k),
            None => {
                p += 1;
                if items.len() >= limit as usize && p < partitions.len() {
                    next = Some(json!({ "p": p, "k": null }));
                    break;
                }
            }
        }
    }
    Ok(Json(json!({
        "range": { "from": range.from.to_string(), "to": range.to.to_string() },
        "merchantId": merchant,
        "items": items.iter().map(view).collect::<Vec<_>>(),
        "nextCursor": next.map(|n| cursor::encode(&n)),
    })))
}

#[allow(clippy::too_many_arguments)]
async fn query(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    index: &str,
    pk: &str,
    range: DayRange,
    q: &TransactionQuery,
    method: Option<&str>,
    want: usize,
    start: Option<Item>,
) -> Result<(Vec<Item>, Option<Item>), AwsError> {
    let offset = IST_OFFSET_MINUTES * 60;
    let lo = i64::from(range.from.0) * 86_400 - offset;
    let hi = i64::from(range.to.0 + 1) * 86_400 - offset - 1;
    let pk_name = if index == "by-merchant-time" { "merchant_id" } else { "day_bucket" };
    let mut req = client
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression("#pk = :pk AND captured_at BETWEEN :lo AND :hi")
        .expression_attribute_names("#pk", pk_name)
        .expression_attribute_values(":pk", sv(pk))
        .expression_attribute_values(":lo", AttributeValue::N(lo.to_string()))
        .expression_attribute_values(":hi", AttributeValue::N(hi.to_string()))
        .set_exclusive_start_key(start)
        .limit(want as i32);
    let mut conditions = Vec::new();
    if let Some(st) = &q.status {
        conditions.push("#st = :st");
        req = req.expression_attribute_names("#st", "status").expression_attribute_values(":st", sv(st));
    }
    if let Some(m) = method {
        conditions.push("#m = :m");
        req = req.expression_attribute_names("#m", "method").expression_attribute_values(":m", sv(m));
    }
    if let Some(v) = q.min_amount_paise {
        conditions.push("amount_paise >= :amin");
        req = req.expression_attribute_values(":amin", AttributeValue::N(v.to_string()));
    }
    if let Some(v) = q.max_amount_paise {
        conditions.push("amount_paise <= :amax");
        req = req.expression_attribute_values(":amax", AttributeValue::N(v.to_string()));
    }
    if !conditions.is_empty() {
        req = req.filter_expression(conditions.join(" AND "));
    }
    let out = req.send().await.map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
    requests::record("dynamodb.Query", out.count as u64);
    Ok((out.items.unwrap_or_default(), out.last_evaluated_key.filter(|k| !k.is_empty())))
}

pub fn view(item: &Item) -> Value {
    json!({
        "txnId": s(item, "txn_id"),
        "merchantId": s(item, "merchant_id"),
        "merchantRef": s(item, "merchant_ref"),
        "method": s(item, "method"),
        "amountPaise": n(item, "amount_paise").unwrap_or(0),
        "status": s(item, "status"),
        "utr": s(item, "utr").filter(|u| !u.is_empty()),
        "capturedAt": n(item, "captured_at").map(settlepaisa_recon::date::format_utc),
        "captureDate": s(item, "capture_date"),
    })
}
