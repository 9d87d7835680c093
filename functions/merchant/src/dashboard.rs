//! `GET /merchant/dashboard`: collections today and over 7 days, the match rate, what waits for
//! settlement and what is on its way, the next settlement date with an estimated net, the last
//! settlement.

use crate::availability::{self, estimated_net};
use crate::AppState;
use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{json, Value};
use settlepaisa_http::input::{identifier, Query};
use settlepaisa_http::time_filter::today;
use settlepaisa_http::{ApiError, Caller};
use settlepaisa_settlement::api::views;
use settlepaisa_store::merchants;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DashboardQuery {
    /// Staff name the merchant; a merchant user's own is implied.
    pub merchant_id: Option<String>,
}

/// The merchant a portal request is for: a merchant user's own; staff must name one.
pub fn merchant_of(caller: &Caller, asked: Option<&str>) -> Result<String, ApiError> {
    let m = caller
        .merchant_scope(asked)?
        .ok_or_else(|| ApiError::bad_request("merchantId is required for SettlePaisa staff"))?;
    identifier("merchantId", &m)?;
    Ok(m)
}

fn figure(days: impl Iterator<Item = [i64; 2]>) -> Value {
    let [count, paise] = days.fold([0, 0], |a, d| [a[0] + d[0], a[1].saturating_add(d[1])]);
    json!({ "count": count, "amountPaise": paise })
}

/// `GET /merchant/dashboard`
pub async fn get_merchant_dashboard(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<DashboardQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = merchant_of(&caller, q.merchant_id.as_deref())?;
    let ctx = state.ctx;
    let m = merchants::get(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("merchant {id} has no settlement plan")))?;
    let today = today();
    let a = availability::of(ctx, &id, today).await?;
    let week = today.add_days(-6);
    let last7 =
        |map: &std::collections::BTreeMap<_, [i64; 2]>| map.range(week..=today).map(|(_, v)| *v).collect::<Vec<_>>();
    let (collected7, matched7) = (last7(&a.collected), last7(&a.matched));
    let [pg7, _] = collected7.iter().fold([0, 0], |s, d| [s[0] + d[0], 0]);
    let [matched_n, _] = matched7.iter().fold([0, 0], |s, d| [s[0] + d[0], 0]);
    let [awaiting_n, awaiting_p] = a.awaiting_total();
    let next = a.next_due(&m, &ctx.settlement.calendar, today).map(|(date, gross)| {
        json!({ "date": date.to_string(), "grossPaise": gross, "estimatedNetPaise": estimated_net(&m, gross) })
    });
    Ok(Json(json!({
        "merchantId": id,
        "status": m.status.as_str(),
        "asOf": today.to_string(),
        "collections": {
            "today": figure(a.collected.get(&today).copied().into_iter()),
            "last7Days": figure(collected7.into_iter()),
        },
        "matchRate": if pg7 > 0 { Some((matched_n * 10_000 / pg7) as f64 / 100.0) } else { None },
        "pendingSettlement": {
            "awaitingTxns": awaiting_n,
            "awaitingPaise": awaiting_p,
            "inFlightBatches": a.in_flight.len(),
            "inFlightNetPaise": a.in_flight.iter().map(|b| b.totals.net.0).sum::<i64>(),
        },
        "nextSettlement": next,
        "estimate": "the next net assumes the plan's highest rate and no refunds or adjustments; the cycle settles exactly",
        "lastSettlement": a.last.as_ref().map(views::batch),
        "openDisputes": settlepaisa_dispute::kpi::figures(&a.disputes, settlepaisa_http::edge::now_secs() as i64),
    })))
}
