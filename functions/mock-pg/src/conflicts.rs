//! `GET /api/transactions?conflicts=true`: transactions whose PG file export and webhooks
//! disagree (each field that differs, both values), by capture day, for ops. Neither side was
//! overwritten: the file's row is what is listed and settled, the webhooks' state is kept beside
//! it. A page reads at most `limit` conflicts, a day's partition at a time.

use serde_json::{json, Value};
use settlepaisa_aws::dynamo::{sv, Fields, Item};
use settlepaisa_aws::{sdk_message, AwsError};
use settlepaisa_http::ApiError;
use settlepaisa_pg_events::file_check::Difference;

/// A page of conflicts from `start` (`{"day", "txn"}`: after that transaction of that day).
pub async fn page(
    ctx: &settlepaisa_store::Context,
    days: &[String],
    merchant: Option<&str>,
    limit: usize,
    start: Option<&Value>,
) -> Result<(Vec<Value>, Option<Value>), ApiError> {
    let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
    let (mut day_index, mut after) = match start {
        None => (0, None),
        Some(p) => {
            let day = p.get("day").and_then(Value::as_str).ok_or_else(bad)?;
            let txn = p.get("txn").and_then(Value::as_str).ok_or_else(bad)?;
            let index = days.iter().position(|d| d.as_str() >= day).unwrap_or(days.len());
            // Only a position inside the day it names goes on after a transaction.
            let after = (!txn.is_empty() && days.get(index).is_some_and(|d| d == day)).then(|| txn.to_string());
            (index, after)
        }
    };
    let mut items = Vec::new();
    while day_index < days.len() && items.len() < limit {
        let day = &days[day_index];
        let mut q = ctx
            .clients
            .dynamodb
            .query()
            .table_name(&ctx.resources.pg_events_table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", sv(format!("C#{day}")))
            .limit((limit - items.len()) as i32);
        if let Some(txn) = after.take() {
            q = q.exclusive_start_key("pk", sv(format!("C#{day}"))).exclusive_start_key("sk", sv(txn));
        }
        let out = q.send().await.map_err(|e| ApiError::paging(AwsError::new("Query", sdk_message(&e))))?;
        let (found, _, next) = settlepaisa_aws::dynamo::query_page(out);
        for item in &found {
            if let Some(v) = view(day, item)? {
                if merchant.is_none_or(|m| v["merchantId"] == m) {
                    items.push(v);
                }
            }
        }
        match next {
            Some(key) => {
                let sk = key.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                return Ok((items, Some(json!({ "day": day, "txn": sk }))));
            }
            None => day_index += 1,
        }
    }
    let next = (day_index < days.len() && items.len() >= limit).then(|| json!({ "day": days[day_index], "txn": "" }));
    Ok((items, next))
}

fn view(day: &str, item: &Item) -> Result<Option<Value>, ApiError> {
    let f = Fields::new("webhook conflict", item);
    let read = || -> Result<Value, settlepaisa_aws::dynamo::Malformed> {
        let differences: String = f.s("differences")?;
        let differences: Vec<Difference> =
            serde_json::from_str(&differences).map_err(|e| f.bad(format!("`differences`: {e}")))?;
        Ok(json!({
            "txnId": f.s("sk")?,
            "merchantId": f.s("merchant_id")?,
            "captureDate": day,
            "fileId": f.s("file_id")?,
            "differences": differences.iter().map(|d| json!({
                "field": d.field, "file": d.file, "webhook": d.webhook,
            })).collect::<Vec<_>>(),
        }))
    };
    read().map(Some).map_err(ApiError::internal)
}
