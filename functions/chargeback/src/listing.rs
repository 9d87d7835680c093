//! Dispute pages, shared by the ops list and the merchant portal: one index partition (a
//! merchant's, or a status's), earliest deadline first, filtered by status, stage and "due
//! within N days", with a bounded number of queries per request and a signed cursor to go on.

use axum::Json;
use serde_json::{json, Value};
use settlepaisa_aws::dynamo::{key_from_json, key_to_json};
use settlepaisa_dispute::model::{Dispute, Stage, Status};
use settlepaisa_http::input::page_limit;
use settlepaisa_http::{cursor, ApiError, Caller};
use settlepaisa_store::disputes::{self, Partition};
use settlepaisa_store::Context;

/// Queries one page may make.
const MAX_QUERIES: usize = 8;
/// "Due within" reaches at most this far.
pub const MAX_DUE_DAYS: u32 = 90;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListQuery {
    pub merchant_id: Option<String>,
    pub status: Option<String>,
    pub stage: Option<String>,
    /// Disputes due within this many days from now (0: overdue or due today... now).
    pub due_within_days: Option<u32>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

pub struct Filter {
    pub status: Option<Status>,
    pub stage: Option<Stage>,
    pub due_by: Option<i64>,
}

impl Filter {
    pub fn from_query(q: &ListQuery, now: i64) -> Result<Filter, ApiError> {
        let status = q
            .status
            .as_deref()
            .map(|s| {
                Status::parse(s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "status `{s}` is not needs_response, under_review, won, lost, accepted or expired"
                    ))
                })
            })
            .transpose()?;
        let stage = q
            .stage
            .as_deref()
            .map(|s| {
                Stage::parse(s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "stage `{s}` is not retrieval, chargeback, pre_arbitration or arbitration"
                    ))
                })
            })
            .transpose()?;
        let due_by = match q.due_within_days {
            Some(n) if n > MAX_DUE_DAYS => {
                return Err(ApiError::bad_request(format!("dueWithinDays must be 0 to {MAX_DUE_DAYS}")))
            }
            Some(n) => Some(now + i64::from(n) * 86_400),
            None => None,
        };
        Ok(Filter { status, stage, due_by })
    }

    fn keeps(&self, d: &Dispute) -> bool {
        self.status.is_none_or(|s| d.status == s) && self.stage.is_none_or(|s| d.stage == s)
    }
}

pub async fn page(
    ctx: &Context,
    scope: &cursor::Scope,
    partition: &Partition<'_>,
    filter: &Filter,
    limit: u32,
    cursor_text: Option<&str>,
) -> Result<(Vec<Dispute>, Option<String>), ApiError> {
    let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
    let mut key = match cursor_text {
        Some(c) => Some(cursor::open(scope, c)?.get("k").and_then(key_from_json).ok_or_else(bad)?),
        None => None,
    };
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.disputes_table);
    let mut out = Vec::new();
    for _ in 0..MAX_QUERIES {
        let want = (limit as usize - out.len()) as i32;
        let page = disputes::page(db, table, partition, filter.due_by, want, key.take()).await?;
        out.extend(page.disputes.into_iter().filter(|d| filter.keeps(d)));
        key = page.next;
        if key.is_none() || out.len() >= limit as usize {
            break;
        }
    }
    let next = match key {
        Some(k) => Some(cursor::seal(scope, &json!({ "k": key_to_json(&k) }))?),
        None => None,
    };
    Ok((out, next))
}

/// A list route's answer: a page of `partition` under `filter`, with a cursor signed for the
/// caller, the route and the query's filters.
pub async fn answer(
    ctx: &Context,
    caller: &Caller,
    route: &str,
    partition: &Partition<'_>,
    q: &ListQuery,
    filter: &Filter,
) -> Result<Json<Value>, ApiError> {
    let limit = page_limit(q.limit)?;
    let scope = cursor::Scope::new(caller, route)
        .filter("merchantId", q.merchant_id.as_deref())
        .filter("status", q.status.as_deref())
        .filter("stage", q.stage.as_deref())
        .filter("dueWithinDays", q.due_within_days);
    let (found, next) = page(ctx, &scope, partition, filter, limit, q.cursor.as_deref()).await?;
    Ok(Json(json!({
        "disputes": found.iter().map(crate::views::summary).collect::<Vec<_>>(),
        "nextCursor": next,
    })))
}
