//! `GET /api/transactions`: PG transactions by merchant, status, method, amount and capture
//! dates, a page at a time (each captured one with its settlement stage and turnaround aging:
//! `txn_settlement`), read from the transactions table's pages (`txn_pages`). With a
//! merchant, the merchant's partition of each day; without, each day's claim-group partitions one
//! after another. Within a partition pages come in time order. A page of the listing costs at
//! most what [`page_walk::Budget`] allows, whatever the filters match: it may come back short (or
//! empty) with a cursor to go on.

use crate::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_aws::dynamo::{batch_get, sv, Item};
use settlepaisa_aws::{sdk_message, AwsError};
use settlepaisa_http::input::{identifier, page_limit, Query};
use settlepaisa_http::page_walk::{self, Budget, Resume, Slice};
use settlepaisa_http::time_filter::{today, TimeFilter};
use settlepaisa_http::{cursor, ApiError, Caller};
use settlepaisa_recon::pg_file::{Method, PgTxn};
use settlepaisa_store::file_record::FileRecord;
use settlepaisa_store::{pg_events, txn_days, txn_pages};

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
    /// Transactions whose file export and webhooks disagree, instead of transactions.
    pub conflicts: Option<bool>,
}

/// A position in a partition: after row `.1` of the page with sort key `.0`.
type Position = (String, usize);

/// Where the page starts: the first partition at or after the cursor's (partitions are sorted,
/// and days may have gained rows since the cursor was made), and the position in it.
fn resume(partitions: &[String], position: Option<Value>) -> Result<Resume<Position>, ApiError> {
    let Some(position) = position else { return Ok(Resume { partition: 0, key: None }) };
    let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
    let pk = position.get("pk").and_then(Value::as_str).ok_or_else(bad)?;
    let partition = partitions.iter().position(|p| p.as_str() >= pk).unwrap_or(partitions.len());
    let key = match (position.get("sk"), position.get("row")) {
        (None | Some(Value::Null), None | Some(Value::Null)) => None,
        (Some(Value::String(sk)), Some(Value::Number(row))) => {
            let row = row.as_u64().filter(|r| *r < txn_pages::ROWS_PER_PAGE as u64).ok_or_else(bad)?;
            match partitions.get(partition) {
                Some(p) if p == pk && sk.len() <= 200 => Some((sk.clone(), row as usize)),
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
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
    let scope = scope.filter("conflicts", q.conflicts.filter(|c| *c));
    let position = q.cursor.as_deref().map(|c| cursor::open(&scope, c)).transpose()?;
    let ctx = state.ctx;
    if q.conflicts == Some(true) {
        // Ops' work: a conflict names the export and both sides' values (another merchant's id,
        // when that is what differs).
        if caller.is_merchant() {
            return Err(ApiError::forbidden(
                "conflicts between the PG's export and its webhooks are for SettlePaisa ops",
            ));
        }
        if filtered_by_row(&q, method) {
            return Err(ApiError::bad_request("conflicts=true takes merchantId and dates only"));
        }
        let days: Vec<String> = range.days().map(|d| d.to_string()).collect();
        let (items, next) =
            crate::conflicts::page(ctx, &days, merchant.as_deref(), limit as usize, position.as_ref()).await?;
        let next = next.map(|p| cursor::seal(&scope, &p)).transpose()?;
        return Ok(Json(json!({
            "range": { "from": range.from.to_string(), "to": range.to.to_string() },
            "merchantId": merchant,
            "items": items,
            "nextCursor": next,
        })));
    }
    // The days of the range that have rows (one BatchGetItem of day markers), then their
    // partitions: the merchant's of each day, or each day's claim groups.
    let days: Vec<String> = range.days().map(|d| d.to_string()).collect();
    let with_rows = txn_days::with_rows(&ctx.clients.dynamodb, &ctx.resources.kpi_table, &days).await?;
    let days = days.into_iter().filter(|d| with_rows.contains(d));
    let partitions: Vec<String> = match &merchant {
        Some(m) => days.map(|d| txn_pages::merchant_partition(m, &d)).collect(),
        None => days.flat_map(|d| (0..txn_pages::GROUPS).map(move |g| txn_pages::day_partition(&d, g))).collect(),
    };
    let from = resume(&partitions, position)?;
    let filtered = filtered_by_row(&q, method);
    let filter = RowFilter { status: q.status.as_deref(), method, min: q.min_amount_paise, max: q.max_amount_paise };
    let gone = tokio::sync::Mutex::new(GoneFiles::default());
    let page = page_walk::walk(
        partitions.len(),
        from,
        Budget::new(limit as usize, filtered),
        |row: &(Value, Position)| row.1.clone(),
        |p, start, evaluate| {
            let (pk, filter, gone) = (partitions[p].clone(), &filter, &gone);
            async move { read_pages(ctx, &pk, start, evaluate, filter, gone).await }
        },
    )
    .await
    .map_err(ApiError::paging)?;
    let next = page.next.map(|r| {
        let (sk, row) = r.key.map_or((Value::Null, Value::Null), |(sk, row)| (json!(sk), json!(row)));
        cursor::seal(&scope, &json!({ "pk": partitions[r.partition], "sk": sk, "row": row }))
    });
    let next = next.transpose()?;
    let mut items: Vec<Value> = page.items.into_iter().map(|(v, _)| v).collect();
    // Which batch paid a transaction is settlement data: staff with settlements:read, or the
    // merchant itself.
    let show_batch = caller.is_merchant() || caller.role.allows(settlepaisa_auth::Permission::SettlementsRead);
    crate::txn_settlement::add(ctx, &mut items, today(), show_batch).await?;
    Ok(Json(json!({
        "range": { "from": range.from.to_string(), "to": range.to.to_string() },
        "merchantId": merchant,
        "items": items,
        "nextCursor": next,
    })))
}

fn filtered_by_row(q: &TransactionQuery, method: Option<&str>) -> bool {
    q.status.is_some() || method.is_some() || q.min_amount_paise.is_some() || q.max_amount_paise.is_some()
}

/// The row filters of a listing.
struct RowFilter<'q> {
    status: Option<&'q str>,
    method: Option<&'static str>,
    min: Option<i64>,
    max: Option<i64>,
}

impl RowFilter<'_> {
    fn keeps(&self, t: &PgTxn<'_>) -> bool {
        self.status.is_none_or(|s| t.status == s)
            && self.method.is_none_or(|m| t.method.as_str() == m)
            && self.min.is_none_or(|v| t.amount.0 >= v)
            && self.max.is_none_or(|v| t.amount.0 <= v)
    }
}

/// Which files' rows no longer show: deleted from S3 since, found to be a copy, refused, failed
/// part-way, or replaced by a later version of the key. Their pages stay until a later file takes their ids; one BatchGetItem per batch of
/// files not seen before in this request.
#[derive(Default)]
pub(crate) struct GoneFiles {
    known: std::collections::HashMap<String, bool>,
}

impl GoneFiles {
    pub(crate) async fn learn(
        &mut self,
        ctx: &settlepaisa_store::Context,
        files: impl IntoIterator<Item = String>,
    ) -> Result<(), AwsError> {
        let new: std::collections::BTreeSet<String> =
            files.into_iter().filter(|f| !self.known.contains_key(f)).collect();
        // Webhook rows have no file record: they count (hidden by their page's `lost` once a
        // file holds the id).
        let (webhook, new): (std::collections::BTreeSet<String>, std::collections::BTreeSet<String>) =
            new.into_iter().partition(|f| f == pg_events::WEBHOOK_FILE_ID);
        self.known.extend(webhook.into_iter().map(|f| (f, false)));
        if new.is_empty() {
            return Ok(());
        }
        // A file with no record counts for nothing.
        self.known.extend(new.iter().map(|f| (f.clone(), true)));
        let keys = new.iter().map(|f| Item::from([("file_id".to_string(), sv(f))])).collect();
        for item in batch_get(&ctx.clients.dynamodb, &ctx.resources.files_table, keys).await? {
            let f = FileRecord::from_item(&item).map_err(|e| AwsError::new("BatchGetItem", e.to_string()))?;
            let gone = !f.rows_count();
            self.known.insert(f.file_id, gone);
        }
        Ok(())
    }

    pub(crate) fn counts(&self, file_id: &str) -> bool {
        self.known.get(file_id) == Some(&false)
    }
}

/// Rows of one partition's pages from `start` (exclusive), at most `evaluate` of them looked at:
/// those of files that count and pass the filters, each with its position.
async fn read_pages(
    ctx: &settlepaisa_store::Context,
    pk: &str,
    start: Option<Position>,
    evaluate: usize,
    filter: &RowFilter<'_>,
    gone: &tokio::sync::Mutex<GoneFiles>,
) -> Result<Slice<(Value, Position), Position>, AwsError> {
    // Enough pages for the rows wanted, and one for a start inside a page.
    let pages = (evaluate.div_ceil(txn_pages::ROWS_PER_PAGE) + 1).min(10) as i32;
    let mut req = ctx
        .clients
        .dynamodb
        .query()
        .table_name(&ctx.resources.transactions_table)
        .expression_attribute_values(":pk", sv(pk))
        .limit(pages);
    req = match &start {
        Some((sk, _)) => {
            req.key_condition_expression("pk = :pk AND sk >= :sk").expression_attribute_values(":sk", sv(sk))
        }
        None => req.key_condition_expression("pk = :pk"),
    };
    let out = req.send().await.map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
    let more = out.last_evaluated_key.is_some();
    let pages = out
        .items
        .unwrap_or_default()
        .iter()
        .map(txn_pages::Page::from_item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AwsError::new("Query", e.to_string()))?;
    let mut gone = gone.lock().await;
    gone.learn(ctx, pages.iter().flat_map(|p| std::iter::once(p.file_id.clone()).chain(p.held_by.clone()))).await?;
    let mut items = Vec::new();
    let mut examined = 0;
    let mut last: Option<Position> = None;
    for page in &pages {
        let rows = page.decode().map_err(|e| AwsError::new("Query", e.to_string()))?;
        let skip = match &start {
            Some((sk, row)) if *sk == page.sk => row + 1,
            _ => 0,
        };
        let counts = gone.counts(&page.file_id);
        // A webhook row is hidden while the export that holds its id counts; if that export goes
        // (deleted, refused, superseded), the webhook row shows again.
        let hidden = |line: u32| match &page.held_by {
            Some(file) if page.file_id == pg_events::WEBHOOK_FILE_ID => gone.counts(file),
            _ => page.lost.contains(&line),
        };
        for (i, t) in rows.iter().enumerate().skip(skip) {
            if examined == evaluate {
                return Ok(Slice { items, examined, next: last.or(start) });
            }
            examined += 1;
            let at = (page.sk.clone(), i);
            // A row whose id another file holds is in the page but not shown.
            if counts && !hidden(t.line) && filter.keeps(t) {
                items.push((view(t, page), at.clone()));
            }
            last = Some(at);
        }
    }
    // Every row fetched was looked at: go on after the last one, unless the partition is done.
    let next = if more { last.or(start) } else { None };
    Ok(Slice { items, examined, next })
}

/// A transaction as the API shows it: from the PG's file export, or (until an export holds it)
/// from its webhooks, with the refunds they deducted.
fn view(t: &PgTxn<'_>, page: &txn_pages::Page) -> Value {
    let webhook = page.file_id == pg_events::WEBHOOK_FILE_ID;
    json!({
        "source": if webhook { "webhook" } else { "file" },
        "refundedPaise": page.refunded_paise.filter(|_| webhook),
        "txnId": t.txn_id,
        "merchantId": t.merchant_id,
        "merchantRef": (!t.merchant_ref.is_empty()).then_some(t.merchant_ref),
        "method": t.method.as_str(),
        "amountPaise": t.amount.0,
        "status": t.status,
        "utr": t.utr.map(|u| u.to_string()),
        "capturedAt": settlepaisa_recon::date::format_utc(t.captured_at),
        "captureDate": t.date.to_string(),
    })
}
