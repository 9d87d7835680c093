//! The merchant portal's API (the seed's `merchant-api`, issue 12 §4): merchant users see their
//! own merchant only; SettlePaisa staff name the merchant.
//!
//! - [`dashboard`] — `GET /merchant/dashboard`;
//! - [`settlements`] — `GET /merchant/settlements`, `GET /merchant/settlements/{id}`;
//! - [`schedule`] — `POST /merchant/settlement/schedule`;
//! - [`availability`] — what waits for settlement, from aggregates.

pub mod availability;
pub mod dashboard;
pub mod schedule;
pub mod settlements;

use axum::extract::State;
use axum::response::Response;
use axum::routing::MethodRouter;
use axum::Router;
use settlepaisa_store::Context;

#[derive(Clone)]
pub struct AppState {
    pub ctx: &'static Context,
}

/// The handler of one of the service's functions, chosen when the caller compiles.
#[macro_export]
macro_rules! handler {
    ("get-merchant-dashboard") => {
        ::axum::routing::get($crate::dashboard::get_merchant_dashboard)
    };
    ("list-merchant-settlements") => {
        ::axum::routing::get($crate::settlements::list_merchant_settlements)
    };
    ("get-merchant-settlement") => {
        ::axum::routing::get($crate::settlements::get_merchant_settlement)
    };
    ("schedule-settlement") => {
        ::axum::routing::post($crate::schedule::schedule_settlement)
    };
    ("merchant-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge.
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("get-merchant-dashboard", handler!("get-merchant-dashboard")),
            ("list-merchant-settlements", handler!("list-merchant-settlements")),
            ("get-merchant-settlement", handler!("get-merchant-settlement")),
            ("schedule-settlement", handler!("schedule-settlement")),
            ("merchant-health", handler!("merchant-health")),
        ],
        only,
        AppState { ctx },
    )
}

/// A Lambda function serving `function`'s route alone (pages carry signed cursors).
pub async fn serve(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(
        function,
        handler,
        |ctx| AppState { ctx },
        settlepaisa_http::lambda::Cursors::Signed,
    )
    .await
}

/// `GET /health/merchant`
pub async fn health(State(state): State<AppState>) -> Response {
    use settlepaisa_aws::health::{check, Dependency};
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[
            ("settlementsTable", Dependency::Table(&r.settlements_table)),
            ("merchantsTable", Dependency::Table(&r.merchants_table)),
            ("kpiTable", Dependency::Table(&r.kpi_table)),
        ],
    )
    .await;
    settlepaisa_http::health::report("merchant-api", checks)
}
