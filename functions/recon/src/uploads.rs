//! `POST /api/jobs/{id}/upload` (a presigned S3 PUT: files never pass through a function) and
//! `POST /api/jobs/{id}/normalize` (read an uploaded statement again with a chosen template: queued
//! for `renormalize-file`).

use crate::{AppState, UPLOAD_URL_TTL_SECS};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_http::input::{identifier, Body};
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_store::file_record::{self, FileStatus, LayoutRequest, LayoutRequested};
use settlepaisa_store::job;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UploadRequest {
    pub file_name: String,
    /// Exact size in bytes: signed into the URL, so S3 refuses any other length.
    pub content_length: u64,
    pub content_type: Option<String>,
}

async fn job_open_for_files(state: &AppState, id: &str) -> Result<job::Job, ApiError> {
    let job = job::get(&state.ctx.clients.dynamodb, &state.ctx.resources.jobs_table, id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
    if job.status != job::JobStatus::Created {
        return Err(ApiError::conflict(format!(
            "job {id} has started matching (status {}); files can be added until then",
            job.status
        )));
    }
    let stale = job::now_secs() - state.ctx.stall_secs;
    if job.plan_requested_at.is_some_and(|at| at >= stale) {
        return Err(ApiError::conflict(format!("job {id}'s match is queued; its files can no longer change")));
    }
    Ok(job)
}

/// The content types a statement or PG export is uploaded as (CSV as browsers and spreadsheet
/// programs label it), in the spellings they use. The type is signed into the URL, so only these
/// reach S3; an empty one (a browser's `File.type` for an unknown file) is none.
pub const UPLOAD_CONTENT_TYPES: [&str; 9] = [
    "text/csv",
    "text/csv; charset=utf-8",
    "text/csv; charset=UTF-8",
    "text/csv;charset=utf-8",
    "text/csv;charset=UTF-8",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
];

fn content_type(ct: &str) -> Result<Option<&'static str>, ApiError> {
    if ct.is_empty() {
        return Ok(None);
    }
    UPLOAD_CONTENT_TYPES
        .iter()
        .find(|t| **t == ct)
        .copied()
        .map(Some)
        .ok_or_else(|| ApiError::bad_request(format!("contentType must be one of {}", UPLOAD_CONTENT_TYPES.join(", "))))
}

/// A file name safe as the last part of an S3 key and a bank ref.
fn file_name(name: &str) -> Result<&str, ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(name).ok_or_else(|| {
        ApiError::bad_request("fileName must be 1 to 128 letters, digits, `-`, `_` or `.`, not starting with `.`")
    })
}

/// `POST /api/jobs/{id}/upload`
pub async fn upload_job_file(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    Body(req): Body<UploadRequest>,
) -> Result<Json<Value>, ApiError> {
    identifier("job id", &id)?;
    let name = file_name(&req.file_name)?;
    let content_type = req.content_type.as_deref().map(content_type).transpose()?.flatten();
    if req.content_length == 0 || req.content_length > state.upload_max_bytes {
        return Err(ApiError::bad_request(format!("contentLength must be 1 to {} bytes", state.upload_max_bytes)));
    }
    job_open_for_files(&state, &id).await?;
    let key = format!("jobs/{id}/{name}");
    let bucket = &state.ctx.resources.uploads_bucket;
    let config =
        aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(UPLOAD_URL_TTL_SECS))
            .map_err(ApiError::internal)?;
    let mut put = state.ctx.clients.s3.put_object().bucket(bucket).key(&key).content_length(req.content_length as i64);
    if let Some(ct) = content_type {
        put = put.content_type(ct);
    }
    let signed = put.presigned(config).await.map_err(ApiError::internal)?;
    let headers: serde_json::Map<String, Value> = signed.headers().map(|(k, v)| (k.to_string(), json!(v))).collect();
    let expires =
        settlepaisa_recon::date::format_utc(settlepaisa_http::edge::now_secs() as i64 + UPLOAD_URL_TTL_SECS as i64);
    // Nothing in DynamoDB changes yet (the upload itself starts ingestion): the entry records who
    // was allowed to put what, until when.
    let draft = acting
        .draft("job.upload_url", ("job", &id))
        .change(Value::Null, json!({ "key": key, "contentLength": req.content_length, "expiresAt": expires }));
    settlepaisa_store::audit::append(&state.ctx.clients.dynamodb, &state.ctx.resources.audit_table, draft)
        .await
        .map_err(ApiError::store)?;
    Ok(Json(json!({
        "jobId": id,
        "key": key,
        "uploadUrl": signed.uri(),
        "method": signed.method(),
        "headers": headers,
        "contentLength": req.content_length,
        "expiresAt": expires,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NormalizeRequest {
    pub file_id: String,
    /// A template name (`HDFC`, `ICICI`, `AXIS`, …).
    pub template: String,
}

/// `POST /api/jobs/{id}/normalize`
pub async fn normalize_job_file(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    Body(req): Body<NormalizeRequest>,
) -> Result<Response, ApiError> {
    identifier("job id", &id)?;
    identifier("fileId", &req.file_id)?;
    let ctx = state.ctx;
    let template = ctx.templates.iter().find(|t| t.name.eq_ignore_ascii_case(&req.template)).ok_or_else(|| {
        let known: Vec<_> = ctx.templates.iter().map(|t| t.name.as_str()).collect();
        ApiError::bad_request(format!("template `{}` is not known; known: {}", req.template, known.join(", ")))
    })?;
    job_open_for_files(&state, &id).await?;
    let (_, _, uploads) = job::get_all(&ctx.clients.dynamodb, &ctx.resources.jobs_table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("job {id} does not exist")))?;
    let upload = uploads
        .iter()
        .find(|u| u.file_id == req.file_id)
        .ok_or_else(|| ApiError::not_found(format!("job {id} has no uploaded file {}", req.file_id)))?;
    if upload.kind == "pg" {
        return Err(ApiError::bad_request("templates apply to bank statements; this file is a PG export"));
    }
    // Back to RECEIVED (the job's match waits for it), then queued for `renormalize-file`.
    let (db, files) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
    let now = job::now_secs();
    let draft = acting.draft("file.renormalize", ("file", &req.file_id)).change(
        json!({ "status": upload.status, "jobId": id }),
        json!({ "status": FileStatus::Received.as_str(), "template": template.name }),
    );
    let audit = (ctx.resources.audit_table.as_str(), draft);
    match file_record::request_layout(db, files, &req.file_id, now, ctx.stall_secs, audit).await? {
        LayoutRequested::Accepted => {}
        LayoutRequested::NoSuchFile => return Err(ApiError::not_found(format!("file {} does not exist", req.file_id))),
        LayoutRequested::Refused(status) => {
            return Err(ApiError::conflict(match status {
                FileStatus::Received => format!("file {} is being read now; try again when it is done", req.file_id),
                other => format!("file {} is {}: there is nothing to read again", req.file_id, other.as_str()),
            })
            .meta("status", status.as_str()))
        }
    }
    // The job's copy says so too.
    if let Some(file) = file_record::get(db, files, &req.file_id).await? {
        job::record_upload(db, &ctx.resources.jobs_table, &id, &file).await?;
    }
    let message = LayoutRequest { file_id: req.file_id.clone(), layout: template.name.clone(), requested_at: now };
    let body = serde_json::to_string(&message).map_err(ApiError::internal)?;
    if let Err(e) = settlepaisa_aws::sqs::send(&ctx.clients.sqs, &ctx.resources.renormalize_queue_url, body).await {
        // Not queued: the file says so (FAILED frees it for another request) instead of waiting.
        if let Some(mut file) = file_record::get(db, files, &req.file_id).await? {
            file.error = Some("the read with the new template could not be queued; ask again".into());
            if file_record::mark_failed(db, files, &file).await {
                file.status = Some(FileStatus::Failed);
                let _ = job::record_upload(db, &ctx.resources.jobs_table, &id, &file).await;
            }
        }
        return Err(ApiError::store(e));
    }
    tracing::info!(job_id = id, file_id = req.file_id, template = template.name, "statement queued to be read again");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "jobId": id,
            "fileId": req.file_id,
            "name": upload.name,
            "template": template.name,
            "status": FileStatus::Received.as_str(),
            "message": "queued: GET /api/jobs/{id} shows the file NORMALIZED or REJECTED with the new template",
        })),
    )
        .into_response())
}
