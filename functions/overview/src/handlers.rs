//! The Overview API's handlers, one per route (named after the function that serves it).

use crate::dashboard::{self, DayKpi};
use crate::{connectors, kpi_store, AppState};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use settlepaisa_aws::health::{check, Dependency};
use settlepaisa_http::cache::{wants_fresh, TtlCache};
use settlepaisa_http::health::report;
use settlepaisa_http::input::{identifier, Query};
use settlepaisa_http::time_filter::{today, DayRange, TimeFilter};
use settlepaisa_http::{ApiError, Caller};

/// `GET /api/overview`
pub async fn get_overview(
    s: State<AppState>,
    c: Extension<Caller>,
    h: HeaderMap,
    f: Query<TimeFilter>,
) -> Result<Response, ApiError> {
    kpi_view(&s, &c, &h, f.0, &s.caches.overview, "overview", dashboard::overview).await
}

/// `GET /api/pipeline`
pub async fn get_pipeline(
    s: State<AppState>,
    c: Extension<Caller>,
    h: HeaderMap,
    f: Query<TimeFilter>,
) -> Result<Response, ApiError> {
    kpi_view(&s, &c, &h, f.0, &s.caches.overview, "pipeline", dashboard::pipeline).await
}

/// `GET /api/sources`
pub async fn get_sources(
    s: State<AppState>,
    c: Extension<Caller>,
    h: HeaderMap,
    f: Query<TimeFilter>,
) -> Result<Response, ApiError> {
    kpi_view(&s, &c, &h, f.0, &s.caches.overview, "sources", dashboard::sources).await
}

/// `GET /api/top-reasons`
pub async fn get_top_reasons(
    s: State<AppState>,
    c: Extension<Caller>,
    h: HeaderMap,
    f: Query<TimeFilter>,
) -> Result<Response, ApiError> {
    kpi_view(&s, &c, &h, f.0, &s.caches.top_reasons, "reasons", dashboard::top_reasons).await
}

/// The KPI views share their shape: range, scope, one BatchGetItem, a pure computation, a cache.
async fn kpi_view(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    filter: TimeFilter,
    cache: &TtlCache,
    name: &str,
    compute: fn(&[DayKpi]) -> Value,
) -> Result<Response, ApiError> {
    let range = filter.resolve(today())?;
    let merchant = caller.merchant_scope(filter.merchant_id.as_deref())?;
    if let Some(m) = &merchant {
        identifier("merchantId", m)?;
    }
    let dimension = kpi_store::dimension(merchant.as_deref());
    // Keyed by the KPI generation: figures cached before a change are never served after it.
    // Unread (a blip): the figures cached under the last generation seen stand for their TTL.
    let generation = match settlepaisa_store::kpi_generation::read(
        &state.ctx.clients.dynamodb,
        &state.ctx.resources.kpi_table,
    )
    .await
    {
        Ok(g) => g.to_string(),
        Err(e) => {
            tracing::warn!(error = %e, "KPI generation not read; serving by TTL");
            "?".to_string()
        }
    };
    let key = format!("{name}|{}|{dimension}|g{generation}", range.key());
    cache
        .respond(key, wants_fresh(headers), async {
            let kpis = kpi_store::read(&state.ctx.clients.dynamodb, &state.ctx.resources.kpi_table, range, &dimension)
                .await
                .map_err(|e| match e {
                    kpi_store::KpiReadError::Aws(e) => ApiError::store(e),
                    malformed => ApiError::internal(malformed),
                })?;
            let mut data = compute(&kpis.days);
            if name == "overview" || name == "reasons" {
                // Turnaround-time aging on today's date (issue 15 §5).
                let aged = crate::aging::aged(&kpis.days, today(), &state.ctx.settlement.calendar);
                match name {
                    "overview" => data["aging"] = crate::aging::overview_view(&aged),
                    _ => crate::aging::add_to_reasons(&mut data, &aged),
                }
            }
            if name == "overview" {
                // Disputes are a current state, whatever the range (issue 13).
                let now = settlepaisa_http::edge::now_secs() as i64;
                data["disputes"] = json!(settlepaisa_dispute::kpi::figures(&kpis.disputes, now));
                if merchant.is_none() {
                    // What the PG's webhooks reported over the range (issue 14).
                    data["webhooks"] = settlepaisa_pg_events::kpi::figures(&kpis.webhooks);
                }
            }
            Ok(envelope(range, merchant.as_deref(), name, data))
        })
        .await
}

fn envelope(range: DayRange, merchant: Option<&str>, name: &str, data: Value) -> Value {
    json!({
        "range": { "from": range.from.to_string(), "to": range.to.to_string() },
        "merchantId": merchant,
        "generatedAt": settlepaisa_recon::date::format_utc(settlepaisa_http::edge::now_secs() as i64),
        name: data,
    })
}

/// `GET /api/connectors/health` (default range: the last 7 days).
pub async fn get_connectors_health(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(mut filter): Query<TimeFilter>,
) -> Result<Response, ApiError> {
    if filter.from.is_none() && filter.to.is_none() && filter.range.is_none() {
        filter.range = Some("7d".into());
    }
    if filter.merchant_id.is_some() {
        return Err(ApiError::bad_request("connector health is per bank, not per merchant; drop merchantId"));
    }
    let range = filter.resolve(today())?;
    let key = format!("connectors|{}", range.key());
    state
        .caches
        .connectors
        .respond(key, wants_fresh(&headers), async {
            let drops =
                connectors::bank_drops(&state.ctx.clients.dynamodb, &state.ctx.resources.files_table, range).await?;
            let known: Vec<String> = state.ctx.templates.iter().map(|t| t.name.clone()).collect();
            let now = settlepaisa_http::edge::now_secs() as i64;
            let pulls =
                connectors::pulls(&state.ctx.clients.dynamodb, &state.ctx.resources.bank_connectors_table, now).await?;
            Ok(envelope(range, None, "connectors", connectors::health(&known, &drops, &pulls, now)))
        })
        .await
}

/// `GET /health`
pub async fn health(State(state): State<AppState>) -> Response {
    let r = &state.ctx.resources;
    let checks = check(
        &state.ctx.clients,
        &[("kpiTable", Dependency::Table(&r.kpi_table)), ("filesTable", Dependency::Table(&r.files_table))],
    )
    .await;
    report("overview-api", checks)
}
