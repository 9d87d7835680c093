//! `POST /api/reports` and `GET /api/reports/{id}`: ask for a report (`reports:generate`; a
//! merchant user, `merchant:reports`, for their own merchant's settlements, disputes and
//! statement), and read its status and, once ready, a download link valid for five minutes.

use super::generate::ReportRequest;
use super::kind::Kind;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_http::input::{business_date, identifier, Body};
use settlepaisa_http::{Acting, ApiError, Caller};
use settlepaisa_store::approvals::Person;
use settlepaisa_store::reports::{self, Report, ReportStatus};

/// The longest range one report covers.
pub const MAX_DAYS: i32 = 92;
/// How long a download link lasts.
const LINK_SECS: u64 = 300;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewReport {
    #[serde(rename = "type")]
    pub kind: String,
    pub from: String,
    pub to: String,
    pub merchant_id: Option<String>,
    pub job_id: Option<String>,
}

fn view(r: &Report, link: Option<(String, String)>) -> Value {
    let mut v = json!({
        "reportId": r.report_id,
        "type": r.kind,
        "from": r.from,
        "to": r.to,
        "merchantId": r.merchant_id,
        "jobId": r.job_id,
        "status": r.status.as_str(),
        "requestedBy": r.requested_by.user_id,
        "requestedAt": r.requested_at,
        "rows": r.rows,
        "bytes": r.bytes,
        "error": r.error,
        "finishedAt": r.finished_at,
    });
    if let Some((url, expires)) = link {
        v["downloadUrl"] = json!(url);
        v["downloadExpiresAt"] = json!(expires);
    }
    v
}

/// `POST /api/reports`: 202 with the report's id; `GET /api/reports/{id}` follows it.
pub async fn request_report(
    State(state): State<AppState>,
    acting: Acting,
    Body(raw): Body<Value>,
) -> Result<Response, ApiError> {
    // `merchantId` and `jobId` are strings when sent: a null is not "left out".
    for name in ["merchantId", "jobId"] {
        if raw.get(name).is_some_and(Value::is_null) {
            return Err(ApiError::bad_request(format!("{name} is a string; leave it out rather than send null")));
        }
    }
    let req: NewReport = serde_json::from_value(raw)
        .map_err(|e| ApiError::bad_request(format!("the request body is not acceptable: {e}")))?;
    let caller = &acting.caller;
    let kind = Kind::parse(&req.kind).ok_or_else(|| {
        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::bad_request(format!("type must be one of {}", all.join(", ")))
    })?;
    let (from, to) = (business_date("from", &req.from)?, business_date("to", &req.to)?);
    if to < from || from.days_until(to) >= MAX_DAYS {
        return Err(ApiError::bad_request(format!("from..to must be in order and span at most {MAX_DAYS} days")));
    }
    if caller.is_merchant() && !kind.for_merchants() {
        return Err(ApiError::forbidden(format!("a merchant user cannot ask for a {} report", kind.as_str())));
    }
    if let Some(m) = &req.merchant_id {
        identifier("merchantId", m)?;
    }
    let merchant = caller.merchant_scope(req.merchant_id.as_deref())?;
    if kind.needs_merchant() && merchant.is_none() {
        return Err(ApiError::bad_request("a merchant_statement names its merchant: merchantId"));
    }
    let job_id = match (&req.job_id, kind.needs_job()) {
        (Some(j), true) => Some(identifier("jobId", j)?.to_string()),
        (None, true) => return Err(ApiError::bad_request("an exceptions report names its job: jobId")),
        (Some(_), false) => return Err(ApiError::bad_request("jobId is for the exceptions report only")),
        (None, false) => None,
    };
    let ctx = state.ctx;
    if let Some(j) = &job_id {
        settlepaisa_store::job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, j)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("job {j} does not exist")))?;
    }
    let r = Report {
        report_id: reports::new_id(),
        kind: kind.as_str().to_string(),
        from: from.to_string(),
        to: to.to_string(),
        merchant_id: merchant,
        job_id,
        requested_by: Person { user_id: caller.user_id.clone(), role: caller.role.as_str().to_string() },
        requested_at: acting.at.clone(),
        status: ReportStatus::Queued,
        attempts: 0,
        rows: None,
        bytes: None,
        key: None,
        error: None,
        finished_at: None,
        max_buffered_bytes: None,
    };
    let draft = acting.draft("report.request", ("report", &r.report_id)).change(Value::Null, view(&r, None));
    let (db, table) = (&ctx.clients.dynamodb, ctx.resources.reports_table.as_str());
    let now = settlepaisa_http::edge::now_secs() as i64;
    reports::put_new(db, table, &r, now, (ctx.resources.audit_table.as_str(), draft)).await.map_err(ApiError::store)?;
    let body = serde_json::to_string(&ReportRequest { report_id: r.report_id.clone() }).map_err(ApiError::internal)?;
    if let Err(e) = settlepaisa_aws::sqs::send(&ctx.clients.sqs, &ctx.resources.report_queue_url, body).await {
        // Not queued: the report says so instead of waiting for ever.
        let mut failed = r.clone();
        failed.status = ReportStatus::Failed;
        failed.error = Some("the report could not be queued; ask for it again".into());
        let _ = reports::replace(db, table, &failed, ReportStatus::Queued, 0, now).await;
        return Err(ApiError::store(e));
    }
    Ok((StatusCode::ACCEPTED, Json(view(&r, None))).into_response())
}

/// `GET /api/reports/{id}`: its status; when `READY`, `downloadUrl` (a presigned GET, five
/// minutes). A merchant user sees only their merchant's reports (another's is a 404).
pub async fn get_report(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    identifier("report id", &id)?;
    let ctx = state.ctx;
    let missing = || ApiError::not_found(format!("report {id} does not exist"));
    let r = reports::get(&ctx.clients.dynamodb, &ctx.resources.reports_table, &id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(missing)?;
    if caller.is_merchant() && r.merchant_id != caller.merchant_id {
        return Err(missing());
    }
    let link = match (&r.status, &r.key) {
        (ReportStatus::Ready, Some(key)) => {
            let config =
                aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(LINK_SECS))
                    .map_err(ApiError::internal)?;
            let signed = ctx
                .clients
                .s3
                .get_object()
                .bucket(&ctx.resources.artifacts_bucket)
                .key(key)
                .response_content_disposition(format!("attachment; filename=\"{}-{}.csv\"", r.kind, r.report_id))
                .presigned(config)
                .await
                .map_err(ApiError::internal)?;
            let expires =
                settlepaisa_recon::date::format_utc(settlepaisa_http::edge::now_secs() as i64 + LINK_SECS as i64);
            Some((signed.uri().to_string(), expires))
        }
        _ => None,
    };
    Ok(Json(view(&r, link)))
}
