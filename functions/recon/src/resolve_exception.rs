//! `POST /api/exceptions/{id}/resolve`: close an exception (and the counterpart a pair takes
//! from another exception), add the pair to the match set and adjust the KPI items — all in one
//! transaction, only if every exception is still open at the version read. Two people resolving
//! the same exception: one 200, one 409.

use crate::exception_record::{ExceptionRecord, ExceptionStatus};
use crate::exception_store::{self, Close, Commit, CommitError};
use crate::exceptions::{parse_api_id, view};
use crate::resolution::{self, Action, Counterpart, Facts, KpiPlace, PairPlace};
use crate::AppState;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_auth::Permission;
use settlepaisa_aws::dynamo::Item;
use settlepaisa_http::input::Body;
use settlepaisa_http::maker_checker::{park_if_gated, Gate};
use settlepaisa_http::{Acting, ApiError};

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    pub action: Action,
    /// Why; kept with the resolution for the audit trail.
    pub note: String,
    /// For `manual_match`: a bank ref (`NAME:LINE`) or a `txn_id`.
    pub counterpart: Option<String>,
    /// The version the person saw; the resolution fails with 409 if the exception changed since.
    pub version: Option<i64>,
}

pub const MAX_NOTE: usize = 1000;

fn facts(e: &ExceptionRecord) -> Facts {
    Facts {
        category: Some(e.category),
        txn_ids: e.txn_ids.clone(),
        bank_refs: e.bank_refs.clone(),
        suggestion: e.suggestion.as_ref().map(|s| (s.txn_id.clone(), s.bank_ref.clone())),
    }
}

fn place(e: &ExceptionRecord) -> KpiPlace {
    KpiPlace {
        category: e.category.as_str().to_string(),
        day: e.day.clone().unwrap_or_default(),
        merchant: e.merchant_id.clone(),
        exposure_paise: e.exposure(),
    }
}

/// An exception item decoded, or a 500 that names the broken attribute (in the logs).
fn decoded(item: &Item) -> Result<ExceptionRecord, ApiError> {
    ExceptionRecord::from_item(item).map_err(ApiError::internal)
}

/// The maker-checker rule an action falls under, and the amount it weighs (paise).
fn gated(action: Action, e: &ExceptionRecord) -> Option<(&'static str, i64)> {
    match action {
        Action::WriteOff => Some(("exception.write_off", e.exposure())),
        // Accepting a settlement finding's figure forgoes money (a short credit, a fee over the
        // contract): a write-off in all but name, gated as one.
        Action::AcceptMismatch if e.settlement.is_some() => Some(("exception.write_off", e.exposure())),
        Action::AcceptMismatch => Some(("exception.accept_mismatch", e.amount_delta_paise)),
        Action::ManualMatch => Some(("exception.manual_match", e.pg_amount_paise.max(e.amount_delta_paise.abs()))),
        Action::AcceptSuggestion => None,
    }
}

/// `POST /api/exceptions/{id}/resolve`: write-offs and accepted mismatches above the rules'
/// amounts and manual matches are parked for a second person (202); the rest resolve now.
pub async fn resolve_exception(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    Body(mut req): Body<ResolveRequest>,
) -> Result<axum::response::Response, ApiError> {
    let ctx = state.ctx;
    let loaded = load(ctx, &id, &req).await?;
    if let Some((action, amount)) = gated(req.action, &loaded.exception) {
        // Approval applies it to the exception as it is now, or not at all.
        req.version = Some(loaded.exception.version);
        let gate = Gate {
            action,
            amount_paise: amount,
            target: ("exception", &id),
            permission: Permission::ExceptionsResolve,
            request: json!({ "body": req }),
            preview: json!({ "exception": view(&loaded.exception), "resolution": req }),
            reason: Some(req.note.trim().to_string()),
        };
        if let Some(parked) = park_if_gated(ctx, &acting, gate).await? {
            return Ok(parked);
        }
    }
    let draft = acting.draft("exception.resolve", ("exception", &id));
    let by = acting.caller.user_id.clone();
    Ok(Json(commit_resolution(ctx, &id, loaded, &req, &by, draft, Vec::new()).await?).into_response())
}

/// Applies an approved resolution exactly as it was requested, to the exception at the version
/// it was then (409 if it changed); `extra` decides the approval in the same transaction.
pub async fn apply_approved(
    ctx: &'static settlepaisa_store::Context,
    approval: &settlepaisa_store::approvals::Approval,
    draft: settlepaisa_audit::Draft,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Value, ApiError> {
    let req: ResolveRequest = serde_json::from_value(approval.request["body"].clone())
        .map_err(|_| ApiError::internal(format!("approval {} holds no resolution", approval.approval_id)))?;
    let loaded = load(ctx, &approval.target_id, &req).await?;
    commit_resolution(ctx, &approval.target_id, loaded, &req, &approval.maker.user_id, draft, extra).await
}

/// An exception ready to resolve: open, of a completed job, at the version the request names.
pub struct Loaded {
    job_id: String,
    exception_id: String,
    item: Item,
    exception: ExceptionRecord,
}

async fn load(ctx: &'static settlepaisa_store::Context, id: &str, req: &ResolveRequest) -> Result<Loaded, ApiError> {
    let (job_id, exception_id) = parse_api_id(id)?;
    let note = req.note.trim();
    if note.is_empty() || note.chars().count() > MAX_NOTE {
        return Err(ApiError::bad_request(format!("note must be 1 to {MAX_NOTE} characters: say why")));
    }
    let (db, results) = (&ctx.clients.dynamodb, ctx.resources.results_table.as_str());
    let job = settlepaisa_store::job::get(db, &ctx.resources.jobs_table, job_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("exception {id} does not exist")))?;
    let item = exception_store::get(db, results, job_id, exception_id)
        .await
        .map_err(ApiError::store)?
        .ok_or_else(|| ApiError::not_found(format!("exception {id} does not exist")))?;
    let exception = decoded(&item)?;
    if job.status != settlepaisa_store::job::JobStatus::Completed {
        return Err(ApiError::conflict(format!(
            "job {job_id} is {}; resolve its exceptions once it has completed",
            job.status
        )));
    }
    let version = exception.version;
    if exception.status != ExceptionStatus::Open {
        return Err(ApiError::conflict(format!("exception {id} is already resolved"))
            .meta("resolution", exception.resolution.clone().unwrap_or(Value::Null)));
    }
    if req.version.is_some_and(|v| v != version) {
        return Err(ApiError::conflict(format!(
            "exception {id} changed since you read it (now version {version}); reload it"
        )));
    }
    Ok(Loaded { job_id: job_id.to_string(), exception_id: exception_id.to_string(), item, exception })
}

/// Resolves a loaded exception: `by` is whose resolution it is (the maker's, when approved).
async fn commit_resolution(
    ctx: &'static settlepaisa_store::Context,
    id: &str,
    loaded: Loaded,
    req: &ResolveRequest,
    by: &str,
    draft: settlepaisa_audit::Draft,
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<Value, ApiError> {
    let Loaded { job_id, exception_id, item, exception } = loaded;
    let (job_id, exception_id) = (job_id.as_str(), exception_id.as_str());
    let (db, results) = (&ctx.clients.dynamodb, ctx.resources.results_table.as_str());
    let note = req.note.trim();
    let version = exception.version;
    let effect = resolution::decide(&facts(&exception), req.action, req.counterpart.as_deref())
        .map_err(ApiError::bad_request)?;

    // The counterpart's own exception, if the pair takes a record from one.
    let other = match &effect.counterpart {
        None => None,
        Some(c) => {
            let candidates = c.candidate_exception_ids();
            let found = exception_store::get_many(db, results, job_id, &candidates).await.map_err(ApiError::store)?;
            let found = found.iter().map(decoded).collect::<Result<Vec<_>, _>>()?;
            let open = found.into_iter().find(|e| e.status == ExceptionStatus::Open);
            let name = match c {
                Counterpart::Bank(r) | Counterpart::Pg(r) => r.clone(),
            };
            Some(open.ok_or_else(|| {
                ApiError::conflict(format!(
                    "`{name}` is not an open unmatched record of job {job_id}; it may be matched or resolved already"
                ))
            })?)
        }
    };

    let now = settlepaisa_recon::date::format_utc(settlepaisa_http::edge::now_secs() as i64);
    let resolution = json!({
        "action": req.action.as_str(),
        "note": note,
        "counterpart": req.counterpart,
        "pair": effect.pair.as_ref().map(|(t, b)| json!({ "txnId": t, "bankRef": b })),
        "resolvedBy": by,
        "resolvedAt": now,
    });
    let mut closes = vec![Close { exception_id: exception_id.to_string(), version, resolution: resolution.clone() }];
    let mut places = vec![place(&exception)];
    if let Some(o) = &other {
        closes.push(Close {
            exception_id: o.exception_id.clone(),
            version: o.version,
            resolution: json!({ "action": "paired", "with": id, "resolvedBy": by, "resolvedAt": now, "note": note }),
        });
        places.push(place(o));
    }
    let holders: Vec<&ExceptionRecord> = std::iter::once(&exception).chain(other.as_ref()).collect();
    let (pair_place, match_row) = match &effect.pair {
        None => (None, None),
        Some((txn, bank)) => {
            // Both records are in the exceptions the pair closes; one that is not is a broken item,
            // never a pair with a ₹0 amount.
            let broken =
                |what: &str| ApiError::internal(format!("exception {id}: the pair's {what} record is missing"));
            let pg = holders.iter().find_map(|h| h.pg_record(txn)).ok_or_else(|| broken("PG"))?;
            let bk = holders.iter().find_map(|h| h.bank_record(bank)).ok_or_else(|| broken("bank"))?;
            let utr = pg.utr.as_deref().or(bk.utr.as_deref()).unwrap_or("");
            let amount = pg.amount_paise;
            let row = format!("{txn}\t{bank}\t{utr}\t{amount}\tmanual\tresolved:{}\n", req.action.as_str());
            let place = PairPlace {
                day: pg.date.clone(),
                merchant: Some(pg.merchant_id.clone()),
                amount_paise: amount,
                source: Some(bk.source.clone()),
            };
            (Some(place), Some((exception_id.to_string(), row)))
        }
    };
    let kpi = resolution::kpi_deltas(&places, pair_place.as_ref());
    let draft = draft.reason(note).change(
        json!({ "status": "OPEN", "version": version, "category": exception.category.as_str(),
                    "counterpart": other.as_ref().map(|o| o.exception_id.clone()) }),
        json!({ "status": "RESOLVED", "version": version + 1, "resolution": resolution }),
    );
    let commit = Commit {
        results_table: results,
        kpi_table: &ctx.resources.kpi_table,
        job_id,
        closes,
        match_row,
        kpi,
        audit: (&ctx.resources.audit_table, draft),
        extra,
    };
    match exception_store::commit(db, commit).await {
        Ok(()) => {}
        Err(CommitError::Conflict(0)) => {
            return Err(ApiError::conflict(format!("exception {id} was resolved by someone else just now; reload it")))
        }
        Err(CommitError::Conflict(_)) => {
            return Err(ApiError::conflict(
                "the counterpart was resolved by someone else just now; reload and choose again",
            ))
        }
        Err(CommitError::ApprovalDecided) => {
            return Err(ApiError::conflict("the approval was decided by someone else just now"))
        }
        Err(CommitError::Aws(e)) => return Err(ApiError::store(e)),
    }
    tracing::info!(exception = id, action = req.action.as_str(), user = by, "exception resolved");
    // Every ops user's dashboard shows the resolution now, not at its cache's TTL.
    if let Err(e) = settlepaisa_store::kpi_generation::bump(db, &ctx.resources.kpi_table).await {
        tracing::warn!(error = %e, "KPI generation not bumped; caches keep their figures until their TTL");
    }
    let updated =
        exception_store::get(db, results, job_id, exception_id).await.map_err(ApiError::store)?.unwrap_or(item);
    Ok(view(&decoded(&updated)?))
}
