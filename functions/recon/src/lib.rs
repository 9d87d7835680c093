//! The Reconciliation API (seed §2): jobs, uploads straight to S3, normalization, matching, and
//! exceptions with their resolution.

pub mod exception_record;
pub mod exception_store;
pub mod exceptions;
pub mod jobs;
pub mod resolution;
pub mod resolve_exception;
pub mod uploads;

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use settlepaisa_aws::health::{check, Dependency};
use settlepaisa_http::health::report;
use settlepaisa_http::ApiError;
use settlepaisa_pipeline::{Context, PipelineError};

/// Uploads larger than this are refused before a URL is signed (`UPLOAD_MAX_BYTES`).
pub const DEFAULT_UPLOAD_MAX_BYTES: u64 = 1 << 30;
/// How long a presigned upload URL lives.
pub const UPLOAD_URL_TTL_SECS: u64 = 900;

#[derive(Clone)]
pub struct AppState {
    pub ctx: &'static Context,
    pub upload_max_bytes: u64,
}

impl AppState {
    pub fn new(ctx: &'static Context) -> AppState {
        let upload_max_bytes = std::env::var("UPLOAD_MAX_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_UPLOAD_MAX_BYTES);
        AppState { ctx, upload_max_bytes }
    }
}

/// The service's routes (all, or one function's), without the edge: see [`serve`].
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("create-job", post(jobs::create_job)),
            ("get-job", get(jobs::get_job)),
            ("upload-job-file", post(uploads::upload_job_file)),
            ("normalize-job-file", post(uploads::normalize_job_file)),
            ("match-job", post(jobs::match_job)),
            ("list-job-exceptions", get(exceptions::list_job_exceptions)),
            ("resolve-exception", post(resolve_exception::resolve_exception)),
            ("recon-health", get(health)),
        ],
        only,
        AppState::new(ctx),
    )
}

pub async fn serve(function: &str) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::init_tracing();
    let ctx = settlepaisa_pipeline::runtime::context_or_exit().await;
    settlepaisa_http::lambda::run(settlepaisa_http::edge::wrap(routes(ctx, Some(function)))).await
}

/// The pipeline's errors at the API's edge.
pub fn pipeline_error(e: PipelineError) -> ApiError {
    match e {
        PipelineError::BadMessage { message, .. } => ApiError::bad_request(message),
        PipelineError::NoSuchJob(j) => ApiError::not_found(format!("job {j} does not exist")),
        PipelineError::Aws(e) => ApiError::store(e),
        other => ApiError::internal(other),
    }
}

/// `GET /health/recon`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[
            ("jobsTable", Dependency::Table(&r.jobs_table)),
            ("resultsTable", Dependency::Table(&r.results_table)),
            ("uploadsBucket", Dependency::Bucket(&r.uploads_bucket)),
            ("matchQueue", Dependency::Queue(&r.match_queue_url)),
        ],
    )
    .await;
    report("recon-api", checks)
}
