//! Bank connectors (issue 14, part 2): the seed's `connectors` service.
//!
//! - [`api`] — `GET /api/connectors`, `GET|PUT /api/connectors/{bank}` (`connectors:configure`):
//!   configuration and state; secrets are names, never values;
//! - [`pull`] — `pull-connectors` (EventBridge Scheduler every 15 minutes, or ops with
//!   `{"connector": "HDFC"}`): each due connector's run under its lease and breaker;
//! - [`run`] — one run: list, take each new file once into `incoming/{folder}/`, push payout
//!   files, every remote step retried with full-jitter backoff;
//! - [`sftp`], [`https`] — the two ways in; [`secret`] — the connector's secret.

pub mod api;
pub mod error;
pub mod https;
pub mod pull;
pub mod run;
pub mod secret;
pub mod sftp;

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
    ("list-connectors") => {
        ::axum::routing::get($crate::api::list_connectors)
    };
    ("get-connector") => {
        ::axum::routing::get($crate::api::get_connector)
    };
    ("put-connector") => {
        ::axum::routing::put($crate::api::put_connector)
    };
    ("connectors-health") => {
        ::axum::routing::get($crate::health)
    };
}

/// The service's routes (all, or one function's), without the edge.
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("list-connectors", handler!("list-connectors")),
            ("get-connector", handler!("get-connector")),
            ("put-connector", handler!("put-connector")),
            ("connectors-health", handler!("connectors-health")),
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

/// `GET /health/connectors`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks =
        check(&state.ctx.clients, &[("bankConnectorsTable", Dependency::Table(&r.bank_connectors_table))]).await;
    report("connectors", checks)
}
