//! Each captured transaction of a listing page with where it stands on its way to its merchant
//! and, until credited, its turnaround aging (`settlepaisa_payout::txn_stage`). Per page:
//! BatchGetItem of the page's merchants' ledger heads, each merchant's ledger object (once per warm
//! instance and version: ledger objects are never overwritten), BatchGetItem of the batches that
//! took the page's payments.

use serde_json::{json, Value};
use settlepaisa_payout::cycle::Ledger;
use settlepaisa_payout::txn_stage::{stage, Stage, TxnSettlement};
use settlepaisa_recon::date::Date;
use settlepaisa_store::{ledgers, settlements, Context, StoreError};
use std::collections::{BTreeMap, BTreeSet};

/// Ledgers fetched at once.
const PARALLEL_READS: usize = 8;

/// Sets `settlement` on every item: null for a transaction not captured. `show_batch`: whether
/// the caller may see which settlement batch took a payment (`settlements:read`, or the
/// merchant itself).
pub async fn add(ctx: &'static Context, items: &mut [Value], today: Date, show_batch: bool) -> Result<(), StoreError> {
    let captured = |v: &Value| v["status"] == settlepaisa_recon::pg_file::CAPTURED;
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in items.iter().filter(|v| captured(v)) {
        if let (Some(m), Some(t)) = (v["merchantId"].as_str(), v["txnId"].as_str()) {
            wanted.entry(m.to_string()).or_default().insert(t.to_string());
        }
    }
    let (known, unreadable) = if wanted.is_empty() { Default::default() } else { ledgers_of(ctx, &wanted).await? };
    let batch_ids: Vec<String> =
        known.values().flat_map(|l| l.payments.values().cloned()).collect::<BTreeSet<_>>().into_iter().collect();
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
        let mut s = if unreadable.contains(merchant) {
            TxnSettlement { stage: Stage::Unknown, settlement_id: None, aging: None }
        } else {
            stage(txn, on, known.get(merchant), |b| statuses.get(b).copied(), today, calendar)
        };
        if !show_batch {
            s.settlement_id = None;
        }
        v["settlement"] = json!(s);
    }
    Ok(())
}

/// Of each merchant's current ledger, what the page needs: the wanted transactions' batches,
/// which of them a failed payout gave back, and the horizon. Merchants without a ledger have no
/// entry; those whose ledger cannot be read (logged) are returned apart.
async fn ledgers_of(
    ctx: &'static Context,
    wanted: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(BTreeMap<String, Ledger>, BTreeSet<String>), StoreError> {
    let merchants: Vec<String> = wanted.keys().cloned().collect();
    let heads = settlements::heads_of(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &merchants).await?;
    let keyed: Vec<(String, String)> = heads.into_iter().filter_map(|(m, h)| h.ledger_key.map(|k| (m, k))).collect();
    let (mut known, mut unreadable) = (BTreeMap::new(), BTreeSet::new());
    for chunk in keyed.chunks(PARALLEL_READS) {
        let reads = chunk.iter().map(|(m, key)| async move {
            let read = ledgers::read_cached(&ctx.clients.s3, &ctx.resources.artifacts_bucket, m, key).await;
            (m, key, read)
        });
        for (m, key, read) in futures_util::future::join_all(reads).await {
            match read {
                Ok(full) => {
                    let txns = &wanted[m];
                    let pick = |map: &BTreeMap<String, String>| {
                        txns.iter().filter_map(|t| map.get(t).map(|b| (t.clone(), b.clone()))).collect()
                    };
                    let reopened = txns.iter().map(|t| format!("P:{t}")).filter(|k| full.reopened.contains(k));
                    let part = Ledger {
                        payments: pick(&full.payments),
                        horizon: full.horizon,
                        reopened: reopened.collect(),
                        ..Ledger::default()
                    };
                    known.insert(m.clone(), part);
                }
                Err(e) => {
                    // The listing still answers; these rows say the ledger cannot tell.
                    tracing::error!(merchant = m, key, error = %e, "a merchant's settlement ledger cannot be read");
                    unreadable.insert(m.clone());
                }
            }
        }
    }
    Ok((known, unreadable))
}
