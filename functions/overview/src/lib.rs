//! The Overview API (seed §1): dashboard KPIs, the settlement funnel, match rates by source,
//! connector health and top exception reasons — answered from precomputed KPI items and file
//! records, cached in the warm function for the seed's TTLs.

pub mod aging;
pub mod connectors;
pub mod dashboard;
pub mod handlers;
pub mod kpi_store;

use axum::routing::MethodRouter;
use axum::Router;
use settlepaisa_http::cache::TtlCache;
use settlepaisa_store::Context;
use std::sync::Arc;

/// The seed's cache TTLs (seconds).
pub const OVERVIEW_TTL: u64 = 30;
pub const CONNECTORS_TTL: u64 = 60;
pub const TOP_REASONS_TTL: u64 = 300;

pub struct Caches {
    pub overview: TtlCache,
    pub connectors: TtlCache,
    pub top_reasons: TtlCache,
}

#[derive(Clone)]
pub struct AppState {
    pub ctx: &'static Context,
    pub caches: Arc<Caches>,
}

impl AppState {
    pub fn new(ctx: &'static Context) -> AppState {
        AppState {
            ctx,
            caches: Arc::new(Caches {
                overview: TtlCache::new(OVERVIEW_TTL),
                connectors: TtlCache::new(CONNECTORS_TTL),
                top_reasons: TtlCache::new(TOP_REASONS_TTL),
            }),
        }
    }
}

/// The handler of one of the service's functions, chosen when the caller compiles: each Lambda
/// binary (`src/bin/<function>.rs`) names its own, so its artifact carries no other route's code;
/// [`routes`] mounts them all for the local stack.
#[macro_export]
macro_rules! handler {
    ("get-overview") => {
        ::axum::routing::get($crate::handlers::get_overview)
    };
    ("get-pipeline") => {
        ::axum::routing::get($crate::handlers::get_pipeline)
    };
    ("get-sources") => {
        ::axum::routing::get($crate::handlers::get_sources)
    };
    ("get-connectors-health") => {
        ::axum::routing::get($crate::handlers::get_connectors_health)
    };
    ("get-top-reasons") => {
        ::axum::routing::get($crate::handlers::get_top_reasons)
    };
    ("overview-health") => {
        ::axum::routing::get($crate::handlers::health)
    };
}

/// The service's routes (all, or one function's), without the edge: see [`serve`].
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("get-overview", handler!("get-overview")),
            ("get-pipeline", handler!("get-pipeline")),
            ("get-sources", handler!("get-sources")),
            ("get-connectors-health", handler!("get-connectors-health")),
            ("get-top-reasons", handler!("get-top-reasons")),
            ("overview-health", handler!("overview-health")),
        ],
        only,
        AppState::new(ctx),
    )
}

/// A Lambda function serving `function`'s route with `handler` (from [`handler!`]) alone.
pub async fn serve(function: &'static str, handler: MethodRouter<AppState>) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::serve_route(function, handler, AppState::new, settlepaisa_http::lambda::Cursors::Unsigned)
        .await
}
