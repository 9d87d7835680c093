//! `POST /admin/generate-file`: the statement a bank would send for one value date — a credit
//! for each captured PG transaction of that date that settles through this bank — written in the
//! bank's layout to `incoming/{bank}/`, where it triggers ingestion like a real drop.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use settlepaisa_http::input::Body;
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::gen::{statement, StatementCredit, STATEMENT_BANKS};
use settlepaisa_store::{file_record, txn_pages};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GenerateRequest {
    /// `HDFC`, `ICICI` or `AXIS`.
    pub bank: String,
    /// The value date (`YYYY-MM-DD`).
    pub date: String,
}

/// Which bank a transaction settles through: a stable split of the PG's volume over the three.
pub fn settling_bank(txn_id: &str) -> &'static str {
    let h = txn_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    STATEMENT_BANKS[(h % STATEMENT_BANKS.len() as u64) as usize]
}

/// A credit for each captured transaction of the day that settles through `bank`, from files that
/// count: every page of the day's claim groups.
async fn captured_on(
    state: &AppState,
    day: Date,
    bank: &str,
) -> Result<Vec<StatementCredit>, settlepaisa_store::StoreError> {
    let ctx = state.ctx;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.transactions_table);
    let mut pages = Vec::new();
    for group in 0..txn_pages::GROUPS {
        pages.extend(txn_pages::pages_in(db, table, &txn_pages::day_partition(&day.to_string(), group)).await?);
    }
    let files = pages.iter().map(|p| p.file_id.clone()).collect();
    let counting = file_record::that_count(db, &ctx.resources.files_table, &files).await?;
    let mut rows = Vec::new();
    for page in pages.iter().filter(|p| counting.contains(&p.file_id)) {
        rows.extend(page.shown()?.into_iter().filter(|t| t.is_captured()));
    }
    rows.sort_by_key(|t| (t.captured_at, t.txn_id));
    Ok(rows
        .iter()
        .filter(|t| settling_bank(t.txn_id) == bank)
        .map(|t| StatementCredit {
            value_date: day,
            amount: t.amount,
            neft: t.utr.is_some_and(|u| u.to_string().len() == 16),
            utr: t.utr.map(|u| u.to_string()),
            merchant_ref: (!t.merchant_ref.is_empty()).then(|| t.merchant_ref.to_string()),
        })
        .collect())
}

/// `POST /admin/generate-file`: 202, ingestion runs on the S3 event.
pub async fn generate_bank_file(
    State(state): State<AppState>,
    acting: Acting,
    Body(req): Body<GenerateRequest>,
) -> Result<Response, ApiError> {
    let caller = &acting.caller;
    let bank = STATEMENT_BANKS.iter().find(|b| b.eq_ignore_ascii_case(&req.bank)).ok_or_else(|| {
        let bank = settlepaisa_http::error::fit(&req.bank, 40);
        ApiError::bad_request(format!("bank `{bank}` is not one of {}", STATEMENT_BANKS.join(", ")))
    })?;
    let day = settlepaisa_http::input::business_date("date", &req.date)?;
    let credits = captured_on(&state, day, bank).await.map_err(ApiError::from)?;
    if credits.is_empty() {
        return Err(ApiError::conflict(format!(
            "no captured transactions of {day} settle through {bank}; seed some with POST /admin/seed"
        )));
    }
    let total: i64 = credits.iter().map(|c| c.amount.0).sum();
    let bytes = statement(bank, &credits, u64::from(day.0 as u32))
        .ok_or_else(|| ApiError::internal("no writer for the bank"))?;
    let key = format!("incoming/{}/{bank}_{}.csv", bank.to_ascii_lowercase(), day.to_string().replace('-', ""));
    // Recorded before the object is written: S3 is outside any DynamoDB transaction.
    let draft = acting.draft("mock_bank.statement", ("statement", &key)).change(
        serde_json::Value::Null,
        json!({ "bank": bank, "date": day.to_string(), "credits": credits.len(), "amountPaise": total }),
    );
    settlepaisa_store::audit::append(&state.ctx.clients.dynamodb, &state.ctx.resources.audit_table, draft)
        .await
        .map_err(ApiError::store)?;
    settlepaisa_aws::s3::put(&state.ctx.clients.s3, &state.ctx.resources.uploads_bucket, &key, bytes)
        .await
        .map_err(ApiError::store)?;
    tracing::info!(key, credits = credits.len(), user = caller.user_id, "generated bank statement");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "bank": bank,
            "date": day.to_string(),
            "key": key,
            "credits": credits.len(),
            "amountPaise": total,
            "message": "the statement is in the uploads bucket; ingestion records it under GET /api/statements",
        })),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_transaction_settles_through_one_known_bank() {
        let banks: std::collections::BTreeSet<_> =
            (0..300).map(|i| super::settling_bank(&format!("TXN{i:010}"))).collect();
        assert_eq!(banks.len(), 3, "the split uses every bank");
        assert_eq!(super::settling_bank("TXN1"), super::settling_bank("TXN1"));
    }
}
