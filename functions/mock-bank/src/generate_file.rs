//! `POST /admin/generate-file`: the statement a bank would send for one value date — a credit
//! for each captured PG transaction of that date that settles through this bank — written in the
//! bank's layout to `incoming/{bank}/`, where it triggers ingestion like a real drop.

use crate::AppState;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;
use settlepaisa_aws::dynamo::{all_pages, n, s, sv, Item};
use settlepaisa_aws::AwsError;
use settlepaisa_http::input::Body;
use settlepaisa_http::{ApiError, Caller};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::gen::{statement, StatementCredit, STATEMENT_BANKS};
use settlepaisa_recon::money::Paise;
use settlepaisa_store::transactions::DAY_BUCKETS;

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

async fn captured_on(state: &AppState, day: Date) -> Result<Vec<Item>, AwsError> {
    let ctx = state.ctx;
    let mut out = Vec::new();
    for bucket in 0..DAY_BUCKETS {
        let query = ctx
            .clients
            .dynamodb
            .query()
            .table_name(&ctx.resources.transactions_table)
            .index_name("by-day-bucket-time")
            .key_condition_expression("day_bucket = :b")
            .filter_expression("#st = :captured")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":b", sv(format!("{day}#{bucket:02}")))
            .expression_attribute_values(":captured", AttributeValue::S("captured".into()));
        out.extend(all_pages(query).await?);
    }
    Ok(out)
}

/// `POST /admin/generate-file`: 202, ingestion runs on the S3 event.
pub async fn generate_bank_file(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(req): Body<GenerateRequest>,
) -> Result<Response, ApiError> {
    let bank = STATEMENT_BANKS.iter().find(|b| b.eq_ignore_ascii_case(&req.bank)).ok_or_else(|| {
        let bank = settlepaisa_http::error::fit(&req.bank, 40);
        ApiError::bad_request(format!("bank `{bank}` is not one of {}", STATEMENT_BANKS.join(", ")))
    })?;
    let day = settlepaisa_http::input::business_date("date", &req.date)?;
    let mut txns: Vec<Item> = captured_on(&state, day)
        .await
        .map_err(ApiError::store)?
        .into_iter()
        .filter(|t| s(t, "txn_id").is_some_and(|id| settling_bank(&id) == *bank))
        .collect();
    if txns.is_empty() {
        return Err(ApiError::conflict(format!(
            "no captured transactions of {day} settle through {bank}; seed some with POST /admin/seed"
        )));
    }
    txns.sort_by_key(|t| (n(t, "captured_at"), s(t, "txn_id")));
    let credits: Vec<StatementCredit> = txns
        .iter()
        .map(|t| {
            let utr = s(t, "utr").filter(|u| !u.is_empty());
            StatementCredit {
                value_date: day,
                amount: Paise(n(t, "amount_paise").unwrap_or(0)),
                neft: utr.as_ref().is_some_and(|u| u.len() == 16),
                utr,
                merchant_ref: s(t, "merchant_ref"),
            }
        })
        .collect();
    let total: i64 = credits.iter().map(|c| c.amount.0).sum();
    let bytes = statement(bank, &credits, u64::from(day.0 as u32))
        .ok_or_else(|| ApiError::internal("no writer for the bank"))?;
    let key = format!("incoming/{}/{bank}_{}.csv", bank.to_ascii_lowercase(), day.to_string().replace('-', ""));
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
