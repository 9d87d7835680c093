//! PG ingestion (issue 14): the PG's webhooks.
//!
//! - [`receive`] — `POST /webhooks/pg` (`receive-pg-webhook`): the Standard Webhooks signature
//!   checked, the delivery recorded once and queued, answered within a second;
//! - [`apply`] — `apply-pg-events` (the events queue): each event applied to its transaction's
//!   state ([`settlepaisa_pg_events::txn_state`]) and the change stored in one transaction;
//! - [`message`] — what the one hands the other.

pub mod apply;
pub mod message;
pub mod receive;

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
    ("receive-pg-webhook") => {
        ::axum::routing::post($crate::receive::receive_pg_webhook)
    };
    ("pg-ingestion-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge.
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("receive-pg-webhook", handler!("receive-pg-webhook")),
            ("pg-ingestion-health", handler!("pg-ingestion-health")),
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

/// `GET /health/pg-ingestion`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[
            ("pgEventsTable", Dependency::Table(&r.pg_events_table)),
            ("transactionsTable", Dependency::Table(&r.transactions_table)),
        ],
    )
    .await;
    report("pg-ingestion", checks)
}
