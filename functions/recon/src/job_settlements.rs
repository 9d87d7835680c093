//! `GET /api/jobs/{id}/settlements` and `GET /api/jobs/{id}/settlement-checks`: what a job proved
//! of the acquirers' bulk credits (issue 11 §2) — each settlement with its status against its
//! credit, and each line check of the reports' rows. The residual shard writes them once, when
//! the job completes (`results/{job}/settlements.jsonl`, `settlement_checks.jsonl`); a page reads
//! the job's object, filters it and returns `limit` items from `offset` (the outcome of a completed
//! job never changes, so an offset stays valid).

use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_aws::s3 as objects;
use settlepaisa_http::input::{identifier, page_limit, Query};
use settlepaisa_http::ApiError;
use settlepaisa_store::job::{self, Job, JobStatus};

const STATUSES: [&str; 4] = ["SETTLED", "SHORT_CREDIT", "EXCESS_CREDIT", "CREDIT_MISSING"];
const CATEGORIES: [&str; 5] = ["UNKNOWN_TXN", "FEE_MISMATCH", "GST_MISMATCH", "AMOUNT_DIFFERS", "DOUBLE_SETTLED"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettlementsQuery {
    pub status: Option<String>,
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksQuery {
    #[serde(rename = "settlementId")]
    pub settlement_id: Option<String>,
    pub category: Option<String>,
    pub offset: Option<u32>,
    pub limit: Option<u32>,
}

/// `GET /api/jobs/{id}/settlements`
pub async fn list_job_settlements(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SettlementsQuery>,
) -> Result<Json<Value>, ApiError> {
    let status = one_of("status", q.status.as_deref(), &STATUSES)?;
    let limit = page_limit(q.limit)? as usize;
    let job = completed(state.ctx, &id).await?;
    let (items, next) = match &job {
        Some(_) => {
            page(state.ctx, &id, "settlements.jsonl", limit, q.offset, |v| status.is_none_or(|s| v["status"] == s))
                .await?
        }
        None => (Vec::new(), None),
    };
    let summary = job.as_ref().and_then(|j| j.summary.as_ref()).map(|s| s["settlements"].clone());
    Ok(Json(json!({ "jobId": id, "summary": summary, "items": items, "nextOffset": next })))
}

/// `GET /api/jobs/{id}/settlement-checks`
pub async fn list_job_settlement_checks(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ChecksQuery>,
) -> Result<Json<Value>, ApiError> {
    let category = one_of("category", q.category.as_deref(), &CATEGORIES)?;
    if let Some(s) = &q.settlement_id {
        identifier("settlementId", s)?;
    }
    let limit = page_limit(q.limit)? as usize;
    let job = completed(state.ctx, &id).await?;
    let settlement = q.settlement_id.as_deref();
    let keep =
        |v: &Value| category.is_none_or(|c| v["category"] == c) && settlement.is_none_or(|s| v["settlementId"] == s);
    let (items, next) = match &job {
        Some(_) => page(state.ctx, &id, "settlement_checks.jsonl", limit, q.offset, keep).await?,
        None => (Vec::new(), None),
    };
    Ok(Json(json!({ "jobId": id, "items": items, "nextOffset": next })))
}

fn one_of<'q>(name: &str, value: Option<&'q str>, allowed: &[&str]) -> Result<Option<&'q str>, ApiError> {
    match value {
        Some(v) if !allowed.contains(&v) => {
            Err(ApiError::bad_request(format!("{name} `{v}` is not one of {}", allowed.join(", "))))
        }
        other => Ok(other),
    }
}

/// The job when it is complete and took settlement reports; `None` when it took none (nothing to
/// list); 404 when there is no such job, 409 while it is still running.
async fn completed(ctx: &settlepaisa_store::Context, id: &str) -> Result<Option<Job>, ApiError> {
    identifier("job id", id)?;
    let job = job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
    if !job.files.iter().any(|f| f.kind == "settlement") {
        return Ok(None);
    }
    if job.status != JobStatus::Completed {
        return Err(ApiError::conflict(format!(
            "job {id} is {}: its settlements are proved when it completes",
            job.status.as_str()
        )));
    }
    Ok(Some(job))
}

/// Up to `limit` objects of the job's `name` that `keep` keeps, from the `offset`-th kept one,
/// and the offset of the next page.
async fn page(
    ctx: &settlepaisa_store::Context,
    job_id: &str,
    name: &str,
    limit: usize,
    offset: Option<u32>,
    keep: impl Fn(&Value) -> bool,
) -> Result<(Vec<Value>, Option<usize>), ApiError> {
    let key = format!("results/{job_id}/{name}");
    let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await?;
    let from = offset.unwrap_or(0) as usize;
    let mut items = Vec::new();
    let mut kept = 0usize;
    for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).map_err(|e| ApiError::internal(format!("{key}: {e}")))?;
        if !keep(&v) {
            continue;
        }
        if kept >= from {
            if items.len() == limit {
                return Ok((items, Some(kept)));
            }
            items.push(v);
        }
        kept += 1;
    }
    Ok((items, None))
}
