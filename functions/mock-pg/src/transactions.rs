//! `GET /api/transactions`: PG transactions by merchant, status, method, amount and capture
//! dates, a page at a time. With a merchant, one index partition (`by-merchant-time`) in time
//! order; without, the 16 write buckets (`by-day-bucket-time`) of each day that has rows, one
//! after another. A page costs at most what [`page_walk::Budget`] allows, whatever the filters
//! match: it may come back short (or empty) with a cursor to go on.

use crate::AppState;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_aws::dynamo::{batch_get, key_from_json, key_to_json, s, sv, Fields, Item, Malformed};
use settlepaisa_aws::{sdk_message, AwsError};
use settlepaisa_http::input::{identifier, page_limit, Query};
use settlepaisa_http::page_walk::{self, Budget, Resume, Slice};
use settlepaisa_http::time_filter::{today, DayRange, TimeFilter};
use settlepaisa_http::{cursor, ApiError, Caller};
use settlepaisa_recon::date::IST_OFFSET_MINUTES;
use settlepaisa_recon::pg_file::Method;
use settlepaisa_store::file_record::{FileRecord, FileStatus};
use settlepaisa_store::transactions::DAY_BUCKETS;
use settlepaisa_store::txn_days;

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

/// A listing's partition: the index and its partition key value.
struct Partition {
    index: &'static str,
    pk: String,
}

/// The partition key attribute of a transactions index.
fn pk_name(index: &str) -> &'static str {
    if index == "by-merchant-time" {
        "merchant_id"
    } else {
        "day_bucket"
    }
}

impl Partition {
    fn pk_name(&self) -> &'static str {
        pk_name(self.index)
    }

    /// An item's position in this partition's index (its key there).
    fn key_of(&self, item: &Item) -> Item {
        [self.pk_name(), "captured_at", "txn_id"]
            .into_iter()
            .filter_map(|k| item.get(k).map(|v| (k.to_string(), v.clone())))
            .collect()
    }

    /// A key read back from a cursor: exactly this partition's index key, in this partition.
    fn accepts(&self, key: &Item) -> bool {
        key.len() == 3
            && matches!(key.get(self.pk_name()), Some(AttributeValue::S(pk)) if *pk == self.pk)
            && matches!(key.get("captured_at"), Some(AttributeValue::N(_)))
            && matches!(key.get("txn_id"), Some(AttributeValue::S(_)))
    }
}

/// Where the page starts: the first partition at or after the cursor's (partitions are sorted,
/// and days may have gained rows since the cursor was made), and the key in it.
fn resume(partitions: &[Partition], position: Option<Value>) -> Result<Resume<Item>, ApiError> {
    let Some(position) = position else { return Ok(Resume { partition: 0, key: None }) };
    let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
    let pk = position.get("pk").and_then(Value::as_str).ok_or_else(bad)?;
    let partition = partitions.iter().position(|p| p.pk.as_str() >= pk).unwrap_or(partitions.len());
    let key = match position.get("k") {
        None | Some(Value::Null) => None,
        Some(k) => {
            let key = key_from_json(k).ok_or_else(bad)?;
            match partitions.get(partition) {
                Some(p) if p.pk == pk && p.accepts(&key) => Some(key),
                _ => return Err(bad()),
            }
        }
    };
    Ok(Resume { partition, key })
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
        if st.is_empty() || st.len() > 64 || !st.bytes().all(|c| c.is_ascii_lowercase() || c == b'_') {
            return Err(ApiError::bad_request(format!(
                "status `{st}` is not a status name (captured, failed, pending, …)"
            )));
        }
    }
    let filter = TimeFilter { from: q.from.clone(), to: q.to.clone(), range: q.range.clone(), merchant_id: None };
    let range = filter.resolve(today())?;
    // A cursor holds for the same caller, route and filters (the dates as resolved: `range=today`
    // tomorrow is another listing).
    let scope = cursor::Scope::new(&caller, "list-transactions")
        .filter("merchantId", merchant.as_deref())
        .filter("status", q.status.as_deref())
        .filter("method", method)
        .filter("minAmountPaise", q.min_amount_paise)
        .filter("maxAmountPaise", q.max_amount_paise)
        .filter("days", Some(range.key()));
    let position = q.cursor.as_deref().map(|c| cursor::open(&scope, c)).transpose()?;
    let ctx = state.ctx;
    let partitions: Vec<Partition> = match &merchant {
        Some(m) => vec![Partition { index: "by-merchant-time", pk: m.clone() }],
        None => {
            let days: Vec<String> = range.days().map(|d| d.to_string()).collect();
            let with_rows = txn_days::with_rows(&ctx.clients.dynamodb, &ctx.resources.kpi_table, &days).await?;
            days.iter()
                .filter(|d| with_rows.contains(*d))
                .flat_map(|d| {
                    (0..DAY_BUCKETS).map(move |b| Partition { index: "by-day-bucket-time", pk: format!("{d}#{b:02}") })
                })
                .collect()
        }
    };
    let from = resume(&partitions, position)?;
    let filtered =
        q.status.is_some() || method.is_some() || q.min_amount_paise.is_some() || q.max_amount_paise.is_some();
    let client = &ctx.clients.dynamodb;
    let table = &ctx.resources.transactions_table;
    let page = page_walk::walk(
        partitions.len(),
        from,
        Budget::new(limit as usize, filtered),
        |item: &Item| item.clone(),
        |p, start, evaluate| {
            let (index, pk) = (partitions[p].index, partitions[p].pk.clone());
            let q = &q;
            async move { query(client, table, index, &pk, range, q, method, evaluate, start).await }
        },
    )
    .await
    .map_err(ApiError::paging)?;
    let items = counted(ctx, page.items).await?;
    let next = page.next.map(|r| {
        let part = &partitions[r.partition];
        let key = r.key.map(|k| key_to_json(&part.key_of(&k)));
        cursor::seal(&scope, &json!({ "pk": part.pk, "k": key }))
    });
    let next = next.transpose()?;
    Ok(Json(json!({
        "range": { "from": range.from.to_string(), "to": range.to.to_string() },
        "merchantId": merchant,
        "items": items.iter().map(view).collect::<Result<Vec<_>, _>>().map_err(ApiError::internal)?,
        "nextCursor": next,
    })))
}

/// The rows of files that count: a row whose id no counted file holds (its file was deleted from
/// S3 since, found to be a copy, refused, or failed part-way) is not shown, though its item stays
/// until a later file takes the id. One BatchGetItem of the page's few distinct files.
async fn counted(ctx: &settlepaisa_store::Context, items: Vec<Item>) -> Result<Vec<Item>, ApiError> {
    let files: std::collections::BTreeSet<String> = items.iter().filter_map(|i| s(i, "file_id")).collect();
    if files.is_empty() {
        return Ok(items);
    }
    let keys = files.iter().map(|f| Item::from([("file_id".to_string(), sv(f))])).collect();
    let mut gone = std::collections::BTreeSet::new();
    for item in batch_get(&ctx.clients.dynamodb, &ctx.resources.files_table, keys).await? {
        let f = FileRecord::from_item(&item).map_err(ApiError::internal)?;
        if matches!(
            f.status,
            Some(FileStatus::Deleted | FileStatus::Duplicate | FileStatus::Rejected | FileStatus::Failed)
        ) {
            gone.insert(f.file_id);
        }
    }
    Ok(items.into_iter().filter(|i| s(i, "file_id").is_none_or(|f| !gone.contains(&f))).collect())
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
    evaluate: usize,
    start: Option<Item>,
) -> Result<Slice<Item, Item>, AwsError> {
    let offset = IST_OFFSET_MINUTES * 60;
    let lo = i64::from(range.from.0) * 86_400 - offset;
    let hi = i64::from(range.to.0 + 1) * 86_400 - offset - 1;
    let pk_name = pk_name(index);
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
        .limit(evaluate as i32);
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
    let (items, examined, next) = settlepaisa_aws::dynamo::query_page(out);
    Ok(Slice { items, examined, next })
}

/// A transaction as the API shows it; an item without the shape ingestion writes is an error.
pub fn view(item: &Item) -> Result<Value, Malformed> {
    let f = Fields::new("transaction", item);
    Ok(json!({
        "txnId": f.s("txn_id")?,
        "merchantId": f.s("merchant_id")?,
        "merchantRef": f.opt_s("merchant_ref")?,
        "method": f.s("method")?,
        "amountPaise": f.n::<i64>("amount_paise")?,
        "status": f.s("status")?,
        "utr": f.opt_s("utr")?.filter(|u| !u.is_empty()),
        "capturedAt": settlepaisa_recon::date::format_utc(f.n::<i64>("captured_at")?),
        "captureDate": f.s("capture_date")?,
    }))
}
