//! Ops governance (issue 15).
//!
//! - [`audit_api`] — `GET /api/audit` (`audit:read`): the trail, filtered and paged;
//! - [`verify`] — `verify-audit` (daily, or ops with `{"day": "2026-11-30"}` or
//!   `{"from": …, "to": …}`): recomputes the chains and names the first entry altered, removed or
//!   inserted;
//! - [`approvals_api`] — maker-checker: `GET /api/approvals`, `POST /api/approvals/{id}/approve`,
//!   `/reject`, `GET /api/approval-rules`, `PUT /api/approval-rules/{action}`;
//! - [`reports`] — `POST /api/reports`, `GET /api/reports/{id}`, and `generate-report`.

pub mod approvals_api;
pub mod audit_api;
pub mod reports;
pub mod verify;

use axum::extract::State;
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::Router;
use settlepaisa_aws::health::{check, Dependency};
use settlepaisa_http::health::report;
use settlepaisa_store::Context;

#[derive(Clone)]
pub struct AppState {
    pub ctx: &'static Context,
}

/// The handler of one of the service's functions, chosen when the caller compiles.
#[macro_export]
macro_rules! handler {
    ("list-audit") => {
        ::axum::routing::get($crate::audit_api::list_audit)
    };
    ("list-approvals") => {
        ::axum::routing::get($crate::approvals_api::list_approvals)
    };
    ("approve-approval") => {
        ::axum::routing::post($crate::approvals_api::approve)
    };
    ("reject-approval") => {
        ::axum::routing::post($crate::approvals_api::reject)
    };
    ("list-approval-rules") => {
        ::axum::routing::get($crate::approvals_api::list_rules)
    };
    ("put-approval-rule") => {
        ::axum::routing::put($crate::approvals_api::put_rule)
    };
    ("request-report") => {
        ::axum::routing::post($crate::reports::api::request_report)
    };
    ("get-report") => {
        ::axum::routing::get($crate::reports::api::get_report)
    };
    ("governance-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge.
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("list-audit", handler!("list-audit")),
            ("list-approvals", handler!("list-approvals")),
            ("approve-approval", handler!("approve-approval")),
            ("reject-approval", handler!("reject-approval")),
            ("list-approval-rules", handler!("list-approval-rules")),
            ("put-approval-rule", handler!("put-approval-rule")),
            ("request-report", handler!("request-report")),
            ("get-report", handler!("get-report")),
            ("governance-health", handler!("governance-health")),
        ],
        only,
        AppState { ctx },
    )
}

/// A Lambda function serving `function`'s route with `handler` (from [`handler!`]) alone.
pub async fn serve(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(
        function,
        handler,
        |ctx| AppState { ctx },
        settlepaisa_http::lambda::Cursors::Signed,
    )
    .await
}

/// `GET /health/governance`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks = check(&state.ctx.clients, &[("auditTable", Dependency::Table(&r.audit_table))]).await;
    report("governance", checks)
}
