//! `GET /api/statements` and `GET /api/statements/{date}`: bank statements as ingestion recorded
//! them (files table, `by-kind-last-date` index, `kind = bank`).

use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use settlepaisa_http::input::Query;
use settlepaisa_http::time_filter::{today, TimeFilter};
use settlepaisa_http::ApiError;
use settlepaisa_store::file_record::{self, FileRecord};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub range: Option<String>,
    /// A bank (template name).
    pub bank: Option<String>,
}

async fn bank_files(state: &AppState, from: &str, to: Option<&str>) -> Result<Vec<FileRecord>, ApiError> {
    let ctx = state.ctx;
    Ok(file_record::bank_files(&ctx.clients.dynamodb, &ctx.resources.files_table, from, to).await?)
}

fn view(f: &FileRecord) -> Value {
    json!({
        "fileId": f.file_id,
        "name": f.name,
        "bank": f.layout,
        "key": f.key,
        "status": f.status.map(|s| s.as_str()),
        "error": f.error,
        "firstDate": f.first_date,
        "lastDate": f.last_date,
        "credits": f.records,
        "dataRows": f.data_rows,
        "rejectedRows": f.rejected_rows,
        "linesRead": f.lines_read,
        "size": f.size,
        "receivedAt": f.received_at,
    })
}

fn sorted(mut files: Vec<FileRecord>) -> Vec<FileRecord> {
    files.sort_by(|a, b| {
        (&a.last_date, &a.layout, &a.name, &a.received_at).cmp(&(&b.last_date, &b.layout, &b.name, &b.received_at))
    });
    files
}

/// `GET /api/statements` (default: the last 7 days).
pub async fn list_statements(
    State(state): State<AppState>,
    Query(q): Query<StatementQuery>,
) -> Result<Json<Value>, ApiError> {
    if q.bank.as_deref().is_some_and(|b| b.is_empty() || b.chars().count() > 64) {
        return Err(ApiError::bad_request("bank must be 1 to 64 characters (a template name: HDFC, ICICI, AXIS)"));
    }
    let range =
        if q.from.is_none() && q.to.is_none() && q.range.is_none() { Some("7d".into()) } else { q.range.clone() };
    let range = TimeFilter { from: q.from.clone(), to: q.to.clone(), range, merchant_id: None }.resolve(today())?;
    let files = bank_files(&state, &range.from.to_string(), Some(&range.to.to_string())).await?;
    let files: Vec<_> = sorted(files)
        .into_iter()
        .filter(|f| q.bank.as_deref().is_none_or(|b| f.layout.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(b))))
        .collect();
    Ok(Json(json!({
        "range": { "from": range.from.to_string(), "to": range.to.to_string() },
        "statements": files.iter().map(view).collect::<Vec<_>>(),
    })))
}

/// `GET /api/statements/{date}`: the statements whose value dates cover `date`.
pub async fn get_statements_for_date(
    State(state): State<AppState>,
    Path(date): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let day = settlepaisa_http::input::business_date("date", &date)?;
    let day = day.to_string();
    let files = bank_files(&state, &day, None).await?;
    let covering: Vec<_> =
        sorted(files).into_iter().filter(|f| f.first_date.as_deref().is_some_and(|d| d <= day.as_str())).collect();
    let credits: u64 =
        covering.iter().filter(|f| f.status.is_some_and(|s| s.as_str() == "NORMALIZED")).map(|f| f.records).sum();
    Ok(Json(json!({
        "date": day,
        "statements": covering.iter().map(view).collect::<Vec<_>>(),
        "credits": credits,
    })))
}
