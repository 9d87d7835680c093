//! The Overview API (seed §1): dashboard KPIs, the settlement funnel, match rates by source,
//! connector health and top exception reasons — answered from precomputed KPI items and file
//! records, cached in the warm function for the seed's TTLs.

pub mod connectors;
pub mod dashboard;
pub mod handlers;
pub mod kpi_store;

use axum::routing::get;
use axum::Router;
use settlepaisa_http::cache::TtlCache;
use settlepaisa_pipeline::Context;
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

/// The service's routes (all, or one function's), without the edge: see [`serve`].
pub fn routes(ctx: &'static Context, only: Option<&str>) -> Router {
    settlepaisa_http::mount::mount(
        vec![
            ("get-overview", get(handlers::get_overview)),
            ("get-pipeline", get(handlers::get_pipeline)),
            ("get-sources", get(handlers::get_sources)),
            ("get-connectors-health", get(handlers::get_connectors_health)),
            ("get-top-reasons", get(handlers::get_top_reasons)),
            ("overview-health", get(handlers::health)),
        ],
        only,
        AppState::new(ctx),
    )
}

/// A Lambda function serving one of the routes.
pub async fn serve(function: &str) -> Result<(), lambda_http::Error> {
    settlepaisa_http::lambda::init_tracing();
    let ctx = settlepaisa_pipeline::runtime::context_or_exit().await;
    settlepaisa_http::lambda::run(settlepaisa_http::edge::wrap(routes(ctx, Some(function)))).await
}
