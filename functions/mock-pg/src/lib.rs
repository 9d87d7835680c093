//! The mock payment gateway (seed §3): transactions with filters and pages, seeding N
//! transactions with the seed's method mix and success rates (as a PG export dropped into the
//! uploads bucket, so they arrive through the real ingestion), and health.

pub mod seed_transactions;
pub mod transactions;

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use settlepaisa_aws::health::{check, Dependency};
use settlepaisa_http::health::report;
use settlepaisa_pipeline::Context;

#[derive(Clone)]
pub struct AppState {
    pub ctx: &'static Context,
}

/// The service's routes (all, or one function's), without the edge: see [`serve`].
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("list-transactions", get(transactions::list_transactions)),
            ("seed-transactions", post(seed_transactions::seed_transactions)),
            ("mock-pg-health", get(health)),
        ],
        only,
        AppState { ctx },
    )
}

pub async fn serve(function: &str) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::init_tracing();
    let ctx = settlepaisa_pipeline::runtime::context_or_exit().await;
    settlepaisa_http::lambda::run(settlepaisa_http::edge::wrap(routes(ctx, Some(function)))).await
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
