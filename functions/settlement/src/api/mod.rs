//! The settlement engine's ops API: settlements and merchants (seed `settlements:read`; edits
//! `reconciliation:write`).

pub mod listing;
pub mod merchants;
pub mod settlements;
pub mod views;

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

/// The handler of one of the service's functions, chosen when the caller compiles (see the other
/// services' `handler!`).
#[macro_export]
macro_rules! handler {
    ("list-settlements") => {
        ::axum::routing::get($crate::api::settlements::list_settlements)
    };
    ("get-settlement") => {
        ::axum::routing::get($crate::api::settlements::get_settlement)
    };
    ("list-merchants") => {
        ::axum::routing::get($crate::api::merchants::list_merchants)
    };
    ("get-merchant") => {
        ::axum::routing::get($crate::api::merchants::get_merchant)
    };
    ("update-merchant") => {
        ::axum::routing::patch($crate::api::merchants::update_merchant)
    };
    ("settlement-health") => {
        ::axum::routing::get($crate::api::health)
    };
}

/// The service's routes (all, or one function's), without the edge.
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("list-settlements", handler!("list-settlements")),
            ("get-settlement", handler!("get-settlement")),
            ("list-merchants", handler!("list-merchants")),
            ("get-merchant", handler!("get-merchant")),
            ("update-merchant", handler!("update-merchant")),
            ("settlement-health", handler!("settlement-health")),
        ],
        only,
        AppState { ctx },
    )
}

/// A Lambda function serving `function`'s route alone.
pub async fn serve(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(
        function,
        handler,
        |ctx| AppState { ctx },
        settlepaisa_http::lambda::Cursors::Unsigned,
    )
    .await
}

/// As [`serve`], for a route whose pages carry signed cursors.
pub async fn serve_pages(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(
        function,
        handler,
        |ctx| AppState { ctx },
        settlepaisa_http::lambda::Cursors::Signed,
    )
    .await
}

/// `GET /health/settlement`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[
            ("settlementsTable", Dependency::Table(&r.settlements_table)),
            ("merchantsTable", Dependency::Table(&r.merchants_table)),
            ("artifactsBucket", Dependency::Bucket(&r.artifacts_bucket)),
        ],
    )
    .await;
    report("settlement-api", checks)
}
