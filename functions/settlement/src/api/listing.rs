//! Settlement pages, shared by the ops list and the merchant portal: newest first, filtered by
//! merchant, status and cycle dates, with a bounded amount of work per request and a signed
//! cursor to go on.
//!
//! With a merchant, one partition is read (its batches sort by cycle date); without, the
//! `by-cycle-date` index is read day by day from the last date back to the first.

use serde_json::Value;
use settlepaisa_aws::dynamo::{key_from_json, key_to_json, Item};
use settlepaisa_http::{cursor, ApiError};
use settlepaisa_payout::payout_response::BatchStatus;
use settlepaisa_recon::date::Date;
use settlepaisa_store::settlements::{self, BatchRecord};
use settlepaisa_store::Context;

/// Queries one page may make (a day with no batches is one).
const MAX_QUERIES: usize = 32;

pub struct Filter<'a> {
    pub merchant: Option<&'a str>,
    pub status: Option<BatchStatus>,
    pub from: Date,
    pub to: Date,
}

pub fn status(text: Option<&str>) -> Result<Option<BatchStatus>, ApiError> {
    text.map(|s| {
        BatchStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("status `{s}` is not PENDING_PAYOUT, SENT_TO_BANK, CREDITED or FAILED"))
        })
    })
    .transpose()
}

/// Where a page goes on: the day being read (no merchant) and the key after which.
fn position(scope: &cursor::Scope, text: &str, f: &Filter<'_>) -> Result<(Date, Option<Item>), ApiError> {
    let value = cursor::open(scope, text)?;
    let bad = || ApiError::bad_request("cursor is not one this API returned; start again without it");
    let day = value.get("d").and_then(Value::as_str).and_then(Date::parse_iso).ok_or_else(bad)?;
    if day < f.from || day > f.to {
        return Err(bad());
    }
    let key = match value.get("k") {
        None | Some(Value::Null) => None,
        Some(k) => Some(key_from_json(k).ok_or_else(bad)?),
    };
    Ok((day, key))
}

pub async fn page(
    ctx: &Context,
    scope: &cursor::Scope,
    f: &Filter<'_>,
    limit: u32,
    cursor_text: Option<&str>,
) -> Result<(Vec<BatchRecord>, Option<String>), ApiError> {
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.settlements_table);
    let (mut day, mut key) = match cursor_text {
        Some(c) => position(scope, c, f)?,
        None => (f.to, None),
    };
    let mut out = Vec::new();
    let mut done = false;
    for _ in 0..MAX_QUERIES {
        let want = (limit as usize - out.len()) as i32;
        let page = match f.merchant {
            Some(m) => {
                settlements::merchant_batches(db, table, m, &f.from.to_string(), &f.to.to_string(), want, key.take())
                    .await?
            }
            None => settlements::day_batches(db, table, &day.to_string(), want, key.take()).await?,
        };
        out.extend(page.batches.into_iter().filter(|b| f.status.is_none_or(|s| b.status == s)));
        match page.next {
            Some(k) => key = Some(k),
            None if f.merchant.is_none() && day > f.from => day = day.add_days(-1),
            None => {
                done = true;
                break;
            }
        }
        if out.len() >= limit as usize {
            break;
        }
    }
    let next = if done {
        None
    } else {
        let position = serde_json::json!({ "d": day.to_string(), "k": key.as_ref().map(key_to_json) });
        Some(cursor::seal(scope, &position)?)
    };
    Ok((out, next))
}

/// One page of a batch's lines (its lines file), from line `offset`.
pub async fn lines(
    ctx: &Context,
    batch: &BatchRecord,
    offset: usize,
    limit: usize,
) -> Result<(Vec<Value>, usize), ApiError> {
    let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &batch.lines_key)
        .await
        .map_err(ApiError::store)?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().skip(1).collect();
    let shown =
        all.iter().skip(offset).take(limit).map(|l| super::views::line(&l.split(',').collect::<Vec<_>>())).collect();
    Ok((shown, all.len()))
}

/// A batch with a page of its lines: `cursor` carries the offset.
pub async fn batch_with_lines(
    ctx: &Context,
    scope: &cursor::Scope,
    batch: &BatchRecord,
    limit: u32,
    cursor_text: Option<&str>,
) -> Result<Value, ApiError> {
    let offset = match cursor_text {
        None => 0,
        Some(c) => cursor::open(scope, c)?
            .get("o")
            .and_then(Value::as_u64)
            .ok_or_else(|| ApiError::bad_request("cursor is not one this API returned; start again without it"))?
            as usize,
    };
    let (lines, total) = lines(ctx, batch, offset, limit as usize).await?;
    let end = offset + lines.len();
    let next = if end < total { Some(cursor::seal(scope, &serde_json::json!({ "o": end }))?) } else { None };
    let mut view = super::views::batch(batch);
    view["lines"] = Value::from(lines);
    view["linesTotal"] = Value::from(total);
    view["nextCursor"] = next.map_or(Value::Null, Value::from);
    Ok(view)
}
