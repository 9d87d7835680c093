//! The mock payment gateway (seed §3): transactions with filters and pages, seeding N
//! transactions with the seed's method mix and success rates (as a PG export dropped into the
//! uploads bucket, so they arrive through the real ingestion), and health.

pub mod conflicts;
pub mod seed_transactions;
pub mod transactions;
pub mod txn_settlement;
pub mod webhook_delivery;

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

/// The handler of one of the service's functions, chosen when the caller compiles: each Lambda
/// binary (`src/bin/<function>.rs`) names its own, so its artifact carries no other route's code;
/// [`routes`] mounts them all for the local stack.
#[macro_export]
macro_rules! handler {
    ("list-transactions") => {
        ::axum::routing::get($crate::transactions::list_transactions)
    };
    ("seed-transactions") => {
        ::axum::routing::post($crate::seed_transactions::seed_transactions)
    };
    ("mock-pg-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge: see [`serve`].
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("list-transactions", handler!("list-transactions")),
            ("seed-transactions", handler!("seed-transactions")),
            ("mock-pg-health", handler!("mock-pg-health")),
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
        settlepaisa_http::lambda::Cursors::Unsigned,
    )
    .await
}

/// As [`serve`], for a listing whose pages carry signed cursors.
pub async fn serve_pages(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(
        function,
        handler,
        |ctx| AppState { ctx },
        settlepaisa_http::lambda::Cursors::Signed,
    )
    .await
}

/// `GET /health/mock-pg`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[
            ("transactionsTable", Dependency::Table(&r.transactions_table)),
            ("uploadsBucket", Dependency::Bucket(&r.uploads_bucket)),
        ],
    )
    .await;
    report("mock-pg-api", checks)
}
