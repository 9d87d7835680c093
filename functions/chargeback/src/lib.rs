//! Chargebacks and disputes (issue 13): the seed's `chargeback-api` and the merchant portal's
//! dispute routes, over the pure lifecycle in `settlepaisa-dispute`.
//!
//! - [`files::handle`] — `apply-dispute-file`: dispute files from acquirers and NPCI;
//! - [`expire::handle`] — `expire-disputes`: the daily expiry and reminders;
//! - [`api`] — the ops routes (`/api/disputes…`);
//! - [`portal`] — the merchant routes (`/merchant/disputes…`);
//! - [`change`] — read, decide, write conditioned on the version read: every change goes through it;
//! - [`txn_lookup`] — the disputed transaction, by id or RRN.

pub mod access;
pub mod api;
pub mod change;
pub mod error;
pub mod expire;
pub mod files;
pub mod listing;
pub mod portal;
pub mod settlement_of;
pub mod txn_lookup;
pub mod views;

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
    ("list-disputes") => {
        ::axum::routing::get($crate::api::list_disputes)
    };
    ("get-dispute") => {
        ::axum::routing::get($crate::api::get_dispute)
    };
    ("open-dispute") => {
        ::axum::routing::post($crate::api::open::open_dispute)
    };
    ("record-dispute-outcome") => {
        ::axum::routing::post($crate::api::outcome::record_dispute_outcome)
    };
    ("create-representment") => {
        ::axum::routing::post($crate::api::representment::create_representment)
    };
    ("list-merchant-disputes") => {
        ::axum::routing::get($crate::portal::list_merchant_disputes)
    };
    ("get-merchant-dispute") => {
        ::axum::routing::get($crate::portal::get_merchant_dispute)
    };
    ("add-dispute-evidence") => {
        ::axum::routing::post($crate::portal::evidence::add_dispute_evidence)
    };
    ("respond-to-dispute") => {
        ::axum::routing::post($crate::portal::respond::respond_to_dispute)
    };
    ("chargeback-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge.
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("list-disputes", handler!("list-disputes")),
            ("get-dispute", handler!("get-dispute")),
            ("open-dispute", handler!("open-dispute")),
            ("record-dispute-outcome", handler!("record-dispute-outcome")),
            ("create-representment", handler!("create-representment")),
            ("list-merchant-disputes", handler!("list-merchant-disputes")),
            ("get-merchant-dispute", handler!("get-merchant-dispute")),
            ("add-dispute-evidence", handler!("add-dispute-evidence")),
            ("respond-to-dispute", handler!("respond-to-dispute")),
            ("chargeback-health", handler!("chargeback-health")),
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

/// `GET /health/chargeback`
pub async fn health(State(state): State<AppState>) -> Response {
    use settlepaisa_aws::health::{check, Dependency};
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[
            ("disputesTable", Dependency::Table(&r.disputes_table)),
            ("settlementsTable", Dependency::Table(&r.settlements_table)),
            ("kpiTable", Dependency::Table(&r.kpi_table)),
        ],
    )
    .await;
    settlepaisa_http::health::report("chargeback-api", checks)
}
