//! The mock bank (seed §4): statements as ingestion recorded them, and generated statement
//! files in HDFC, ICICI or AXIS layout that land in the uploads bucket like a real bank drop.

pub mod generate_file;
pub mod statements;

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
            ("list-statements", get(statements::list_statements)),
            ("get-statements-for-date", get(statements::get_statements_for_date)),
            ("generate-bank-file", post(generate_file::generate_bank_file)),
            ("mock-bank-health", get(health)),
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

/// `GET /health/mock-bank`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[
            ("filesTable", Dependency::Table(&r.files_table)),
            ("transactionsTable", Dependency::Table(&r.transactions_table)),
            ("uploadsBucket", Dependency::Bucket(&r.uploads_bucket)),
        ],
    )
    .await;
    report("mock-bank-api", checks)
}
