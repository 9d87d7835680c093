//! Each captured transaction of a listing page with where it stands on its way to its merchant
//! and, until credited, its turnaround aging (`settlepaisa_payout::txn_stage`). Per page: one
//! BatchGetItem of the page's merchants' ledger heads, each merchant's ledger object (once per warm
//! instance and version: ledger objects are never overwritten), one BatchGetItem of the batches
//! that took the page's payments.

use serde_json::{json, Value};
use settlepaisa_payout::cycle::Ledger;
use settlepaisa_payout::txn_stage::stage;
use settlepaisa_recon::date::Date;
use settlepaisa_store::{ledgers, settlements, Context, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Ledgers fetched at once.
const PARALLEL_READS: usize = 8;

/// Sets `settlement` on every item: null for a transaction not captured.
pub async fn add(ctx: &'static Context, items: &mut [Value], today: Date) -> Result<(), StoreError> {
    let captured = |v: &Value| v["status"] == settlepaisa_recon::pg_file::CAPTURED;
    let merchants: Vec<String> = items
        .iter()
        .filter(|v| captured(v))
        .filter_map(|v| v["merchantId"].as_str().map(str::to_string))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let ledgers = if merchants.is_empty() { BTreeMap::new() } else { ledgers_of(ctx, &merchants).await? };
    let batch_ids: Vec<String> = items
        .iter()
        .filter(|v| captured(v))
        .filter_map(|v| {
            let ledger = ledgers.get(v["merchantId"].as_str()?)?;
            ledger.payments.get(v["txnId"].as_str()?).cloned()
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let statuses: BTreeMap<String, _> = if batch_ids.is_empty() {
        BTreeMap::new()
    } else {
        settlements::batches_by_id(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &batch_ids)
            .await?
            .into_iter()
            .map(|b| (b.settlement_id, b.status))
            .collect()
    };
    let calendar = &ctx.settlement.calendar;
    for v in items.iter_mut() {
        let on = v["captureDate"].as_str().and_then(Date::parse_iso);
        let (Some(txn), Some(merchant), Some(on), true) =
            (v["txnId"].as_str(), v["merchantId"].as_str(), on, captured(v))
        else {
            v["settlement"] = Value::Null;
            continue;
        };
        let ledger = ledgers.get(merchant).map(|l| l.as_ref());
        let s = stage(txn, on, ledger, |b| statuses.get(b).copied(), today, calendar);
        v["settlement"] = json!(s);
    }
    Ok(())
}

/// The current ledger of each merchant that has one.
async fn ledgers_of(ctx: &'static Context, merchants: &[String]) -> Result<BTreeMap<String, Arc<Ledger>>, StoreError> {
    let heads = settlements::heads_of(&ctx.clients.dynamodb, &ctx.resources.settlements_table, merchants).await?;
    let keyed: Vec<(String, String)> = heads.into_iter().filter_map(|(m, h)| h.ledger_key.map(|k| (m, k))).collect();
    let mut out = BTreeMap::new();
    for chunk in keyed.chunks(PARALLEL_READS) {
        let reads = chunk.iter().map(|(m, key)| async move {
            let ledger = ledgers::read_cached(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key).await?;
            Ok::<_, StoreError>((m.clone(), ledger))
        });
        for read in futures_util::future::join_all(reads).await {
            let (m, ledger) = read?;
            out.insert(m, ledger);
        }
    }
    Ok(out)
}
