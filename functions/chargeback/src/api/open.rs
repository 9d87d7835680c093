//! `POST /api/disputes`: ops open a dispute themselves — a customer's complaint, a retrieval
//! request that came by e-mail — for a captured transaction, under the same rules as a file's.

use crate::change::{change, now, Changed};
use crate::txn_lookup::{self, Wanted};
use crate::{views, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use settlepaisa_dispute::lifecycle::{open, Context as Rules, Opening, Verdict};
use settlepaisa_dispute::model::{valid_id, Network, NetworkRow, Stage, Step};
use settlepaisa_dispute::rules::end_of_ist_day;
use settlepaisa_http::input::{identifier, Body};
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_recon::date::{ist_date, parse_rfc3339, Date};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OpenBody {
    /// The network's reference when there is one; one is made up otherwise.
    pub dispute_id: Option<String>,
    pub network: String,
    pub txn_id: String,
    pub amount_paise: i64,
    pub reason_code: String,
    pub reason: Option<String>,
    /// `retrieval` (the default) or a later stage.
    pub stage: Option<String>,
    /// `YYYY-MM-DD`; today (IST) when left out.
    pub raised_on: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339; from the rules table when left out.
    pub respond_by: Option<String>,
}

/// `POST /api/disputes`
pub async fn open_dispute(
    State(state): State<AppState>,
    acting: Acting,
    Body(body): Body<OpenBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = &acting.caller;
    let ctx = state.ctx;
    let at = now();
    let network = Network::ALL
        .into_iter()
        .find(|n| n.as_str() == body.network)
        .ok_or_else(|| ApiError::bad_request("network must be UPI, VISA, MASTERCARD or RUPAY"))?;
    let stage = match body.stage.as_deref() {
        None => Stage::Retrieval,
        Some(s) => Stage::parse(s).ok_or_else(|| {
            ApiError::bad_request("stage must be retrieval, chargeback, pre_arbitration or arbitration")
        })?,
    };
    let txn_id = identifier("txnId", &body.txn_id)?.to_string();
    let reason_code = body.reason_code.clone();
    let code_ok = (1..=16).contains(&reason_code.len())
        && reason_code.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !code_ok {
        return Err(ApiError::bad_request("reasonCode must be 1–16 letters, digits or ._-"));
    }
    if body.reason.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(ApiError::bad_request("reason is at most 200 characters"));
    }
    let raised_on = match body.raised_on.as_deref() {
        None => ist_date(at),
        Some(d) => Date::parse_iso(d).ok_or_else(|| ApiError::bad_request("raisedOn must be YYYY-MM-DD"))?,
    };
    if raised_on > ist_date(at) {
        return Err(ApiError::bad_request("raisedOn is in the future"));
    }
    let respond_by = match body.respond_by.as_deref() {
        None => None,
        Some(v) => Some(
            Date::parse_iso(v)
                .map(end_of_ist_day)
                .or_else(|| parse_rfc3339(v))
                .ok_or_else(|| ApiError::bad_request("respondBy must be YYYY-MM-DD or an RFC 3339 time"))?,
        ),
    };
    let id = match body.dispute_id {
        Some(id) if valid_id(&id) => id,
        Some(_) => return Err(ApiError::bad_request("disputeId must be 1–48 letters, digits or -_.:")),
        None => format!("OPS-{}-{:08x}", raised_on.to_string().replace('-', ""), fastrand::u32(..)),
    };
    let wanted = Wanted { txn_ids: [txn_id.clone()].into(), ..Wanted::default() };
    let window = settlepaisa_dispute::lifecycle::opening_window(&ctx.dispute_rules, network, Step::Stage(stage));
    let found = txn_lookup::find(ctx, &wanted, raised_on.add_days(-window), raised_on).await?;
    let txn = found.of(Some(&txn_id), None).map_err(ApiError::conflict)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no captured transaction {txn_id} within the {window} days before {raised_on} ({} disputes' raise window)",
            network.as_str()
        ))
    })?;
    let reason = body.reason.unwrap_or_default();
    let by = caller.user_id.clone();
    let changed = change(ctx, &id, acting.draft("dispute.open", ("dispute", &id)), |current| {
        if current.is_some() {
            return Err(format!("dispute {id} exists already"));
        }
        let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now: at, by: &by };
        let opening = Opening {
            dispute_id: id.clone(),
            network,
            source: "ops".into(),
            txn: txn.clone(),
            amount_paise: body.amount_paise,
            reason_code: reason_code.clone(),
            reason: reason.clone(),
            row: NetworkRow { step: Step::Stage(stage), raised_on, respond_by },
        };
        open(opening, &cx).map(Verdict::Changed)
    })
    .await?;
    match changed {
        Changed::Written(d) => Ok((StatusCode::CREATED, Json(views::detail(&d, Value::Null, None)))),
        Changed::Unchanged(..) => Err(ApiError::conflict(format!("dispute {id} exists already"))),
    }
}
