//! `GET /api/jobs/{id}/exceptions`: a job's exceptions, by category and status, a cursor page at
//! a time, each with its records, delta, suggestion and resolution, its turnaround aging and the
//! request waiting for approval on it. The settlement step's findings (a settlement not
//! `SETTLED`, a line check) are exceptions too, with the settlement they are about.

use crate::exception_record::ExceptionRecord;
use crate::exception_store;
use crate::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_aws::dynamo::{key_from_json, key_to_json};
use settlepaisa_http::input::{business_date, identifier, page_limit, Query};
use settlepaisa_http::page_walk::Resume;
use settlepaisa_http::{cursor, ApiError, Caller};
use settlepaisa_recon::exception_category::ExceptionCategory;
use settlepaisa_store::results::RESULT_PARTITIONS;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionQuery {
    pub category: Option<String>,
    pub status: Option<String>,
    /// `deadline`: open exceptions, earliest turnaround deadline first.
    pub sort: Option<String>,
    /// Open exceptions whose deadline is on or before this date.
    #[serde(rename = "deadlineBefore")]
    pub deadline_before: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// An exception's API id: `<job_id>:<exception_id>` (an exception id alone repeats across
/// re-runs of the same records).
pub fn api_id(job_id: &str, exception_id: &str) -> String {
    format!("{job_id}:{exception_id}")
}

pub fn parse_api_id(id: &str) -> Result<(&str, &str), ApiError> {
    id.rsplit_once(':')
        .filter(|(j, e)| {
            identifier("job id", j).is_ok() && e.starts_with("EXC-") && identifier("exception id", e).is_ok()
        })
        .ok_or_else(|| {
            ApiError::bad_request("exception id must be `<jobId>:<EXC-…>` as GET /api/jobs/{id}/exceptions returns it")
        })
}

pub fn view(e: &ExceptionRecord) -> Value {
    let suggestion = e.suggestion.as_ref().map(|s| {
        json!({
            "txnId": s.txn_id,
            "bankRef": s.bank_ref,
            "confidence": s.confidence,
            "explain": s.explain,
            "record": s.record,
        })
    });
    json!({
        "id": api_id(&e.job_id, &e.exception_id),
        "jobId": e.job_id,
        "exceptionId": e.exception_id,
        "category": e.category.as_str(),
        "status": e.status.as_str(),
        "version": e.version,
        "reason": e.reason,
        "date": e.day,
        "merchantId": e.merchant_id,
        "amountDeltaPaise": e.amount_delta_paise,
        "pgAmountPaise": e.pg_amount_paise,
        "txnIds": e.txn_ids,
        "bankRefs": e.bank_refs,
        "records": { "pg": e.pg_json, "bank": e.bank_json },
        "suggestion": suggestion,
        "resolution": e.resolution,
        "atStakePaise": e.exposure(),
        "settlement": e.settlement.as_ref().map(|s| json!({
            "settlementId": s.settlement_id,
            "row": s.row,
            "expectedPaise": s.expected_paise,
            "actualPaise": s.actual_paise,
        })),
    })
}

/// `GET /api/jobs/{id}/exceptions`
pub async fn list_job_exceptions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<ExceptionQuery>,
) -> Result<Json<Value>, ApiError> {
    identifier("job id", &id)?;
    let limit = page_limit(q.limit)?;
    let category = q
        .category
        .as_deref()
        .map(|c| {
            ExceptionCategory::parse(c).map(ExceptionCategory::as_str).ok_or_else(|| {
                ApiError::bad_request(format!("category `{c}` is not one of {}", ExceptionCategory::names()))
            })
        })
        .transpose()?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s @ ("OPEN" | "RESOLVED")) => Some(s),
        Some(other) => return Err(ApiError::bad_request(format!("status `{other}` is not OPEN or RESOLVED"))),
    };
    let scope = cursor::Scope::new(&caller, "list-job-exceptions")
        .filter("jobId", Some(&id))
        .filter("category", category)
        .filter("status", status)
        .filter("sort", q.sort.as_deref())
        .filter("deadlineBefore", q.deadline_before.as_deref());
    let (today, calendar) = (settlepaisa_http::time_filter::today(), &state.ctx.settlement.calendar);
    if q.sort.is_some() || q.deadline_before.is_some() {
        if q.sort.as_deref().is_some_and(|s| s != "deadline") {
            return Err(ApiError::bad_request("sort must be `deadline`"));
        }
        let ctx = state.ctx;
        settlepaisa_store::job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
        if status == Some("RESOLVED") {
            // Deadlines are for open exceptions: none of the resolved is due.
            return Ok(Json(json!({ "jobId": id, "items": [], "nextCursor": null })));
        }
        let due_by = q.deadline_before.as_deref().map(|d| business_date("deadlineBefore", d)).transpose()?;
        let offset =
            match q.cursor.as_deref() {
                None => 0,
                Some(c) => cursor::open(&scope, c)?.get("o").and_then(Value::as_u64).ok_or_else(|| {
                    ApiError::bad_request("cursor is not one this API returned; start again without it")
                })? as usize,
            };
        let all = crate::exception_aging::by_deadline(
            &ctx.clients.dynamodb,
            &ctx.resources.results_table,
            &id,
            category,
            due_by,
            today,
            calendar,
        )
        .await?;
        let end = (offset + limit as usize).min(all.len());
        let mut items: Vec<Value> = all
            .get(offset..end)
            .unwrap_or_default()
            .iter()
            .map(|(e, a)| {
                let mut v = view(e);
                v["aging"] = json!(a);
                v
            })
            .collect();
        crate::exception_approvals::add_pending(ctx, &mut items).await?;
        let next = (end < all.len()).then(|| cursor::seal(&scope, &json!({ "o": end }))).transpose()?;
        return Ok(Json(json!({ "jobId": id, "items": items, "nextCursor": next })));
    }
    // A position: the partition of the job's results and, within it, the key to go on after.
    let from = match q.cursor.as_deref() {
        None => Resume { partition: 0, key: None },
        Some(c) => {
            let position = cursor::open(&scope, c)?;
            let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
            let partition = position
                .get("p")
                .and_then(Value::as_u64)
                .filter(|p| *p < u64::from(RESULT_PARTITIONS))
                .ok_or_else(bad)? as u32;
            let key = match position.get("k") {
                None | Some(Value::Null) => None,
                Some(k) => Some(
                    key_from_json(k)
                        .filter(|k| exception_store::accepts(k, &id, category, partition))
                        .ok_or_else(bad)?,
                ),
            };
            Resume { partition: partition as usize, key }
        }
    };
    let ctx = state.ctx;
    settlepaisa_store::job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
    let (items, next) =
        exception_store::page(&ctx.clients.dynamodb, &ctx.resources.results_table, &id, category, status, limit, from)
            .await
            .map_err(ApiError::paging)?;
    let mut views = items
        .iter()
        .map(|i| {
            ExceptionRecord::from_item(i).map(|e| {
                let mut v = view(&e);
                v["aging"] = crate::exception_aging::aging_view(crate::exception_aging::aging(&e, today, calendar));
                v
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::internal)?;
    crate::exception_approvals::add_pending(ctx, &mut views).await?;
    Ok(Json(json!({
        "jobId": id,
        "items": views,
        "nextCursor": next
            .map(|r| cursor::seal(&scope, &json!({ "p": r.partition, "k": r.key.as_ref().map(key_to_json) })))
            .transpose()?,
    })))
}
