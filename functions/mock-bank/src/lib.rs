//! The mock bank (seed §4): statements as ingestion recorded them, and generated statement
//! files in HDFC, ICICI or AXIS layout that land in the uploads bucket like a real bank drop.

pub mod generate_file;
pub mod statements;

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
    ("list-statements") => {
        ::axum::routing::get($crate::statements::list_statements)
    };
    ("get-statements-for-date") => {
        ::axum::routing::get($crate::statements::get_statements_for_date)
    };
    ("generate-bank-file") => {
        ::axum::routing::post($crate::generate_file::generate_bank_file)
    };
    ("mock-bank-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge: see [`serve`].
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("list-statements", handler!("list-statements")),
            ("get-statements-for-date", handler!("get-statements-for-date")),
            ("generate-bank-file", handler!("generate-bank-file")),
            ("mock-bank-health", handler!("mock-bank-health")),
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
