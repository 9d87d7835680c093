//! The Reconciliation API (seed §2): jobs, uploads straight to S3, normalization, matching, and
//! exceptions with their resolution.

pub mod exception_aging;
pub mod exception_approvals;
pub mod exception_record;
pub mod exception_store;
pub mod exceptions;
pub mod job_settlements;
pub mod jobs;
pub mod resolution;
pub mod resolve_exception;
pub mod uploads;

use axum::extract::State;
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::Router;
use settlepaisa_aws::health::{check, Dependency};
use settlepaisa_http::health::report;
use settlepaisa_store::Context;

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

/// The handler of one of the service's functions, chosen when the caller compiles: each Lambda
/// binary (`src/bin/<function>.rs`) names its own, so its artifact carries no other route's code;
/// [`routes`] mounts them all for the local stack.
#[macro_export]
macro_rules! handler {
    ("create-job") => {
        ::axum::routing::post($crate::jobs::create_job)
    };
    ("get-job") => {
        ::axum::routing::get($crate::jobs::get_job)
    };
    ("upload-job-file") => {
        ::axum::routing::post($crate::uploads::upload_job_file)
    };
    ("normalize-job-file") => {
        ::axum::routing::post($crate::uploads::normalize_job_file)
    };
    ("match-job") => {
        ::axum::routing::post($crate::jobs::match_job)
    };
    ("list-job-exceptions") => {
        ::axum::routing::get($crate::exceptions::list_job_exceptions)
    };
    ("list-job-settlements") => {
        ::axum::routing::get($crate::job_settlements::list_job_settlements)
    };
    ("list-job-settlement-checks") => {
        ::axum::routing::get($crate::job_settlements::list_job_settlement_checks)
    };
    ("resolve-exception") => {
        ::axum::routing::post($crate::resolve_exception::resolve_exception)
    };
    ("recon-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge: see [`serve`].
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("create-job", handler!("create-job")),
            ("get-job", handler!("get-job")),
            ("upload-job-file", handler!("upload-job-file")),
            ("normalize-job-file", handler!("normalize-job-file")),
            ("match-job", handler!("match-job")),
            ("list-job-exceptions", handler!("list-job-exceptions")),
            ("list-job-settlements", handler!("list-job-settlements")),
            ("list-job-settlement-checks", handler!("list-job-settlement-checks")),
            ("resolve-exception", handler!("resolve-exception")),
            ("recon-health", handler!("recon-health")),
        ],
        only,
        AppState::new(ctx),
    )
}

/// A Lambda function serving `function`'s route with `handler` (from [`handler!`]) alone.
pub async fn serve(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(function, handler, AppState::new, settlepaisa_http::lambda::Cursors::Unsigned)
        .await
}

/// As [`serve`], for a listing whose pages carry signed cursors.
pub async fn serve_pages(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(function, handler, AppState::new, settlepaisa_http::lambda::Cursors::Signed)
        .await
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
