//! The day's payout files: one bulk instruction per paying bank at
//! `outgoing/payouts/{bank}/{date}/payouts-{run}.csv`, every batch in exactly one file.
//!
//! A pending batch is first claimed for a file (its `payout_key`, set once), then the file is
//! written from the batches claimed for it, then each is marked `SENT_TO_BANK`. A run that stopped
//! between those steps leaves batches claimed but pending; the next run finishes them: if their
//! file exists, those in it are marked sent and any not in it are claimed for a new file; if it
//! does not, it is written from them.

use crate::error::SettleError;
use settlepaisa_aws::s3;
use settlepaisa_payout::cycle::{Batch, Totals};
use settlepaisa_payout::merchant::Merchant;
use settlepaisa_payout::payout_file::{paying_bank, payout_file};
use settlepaisa_payout::payout_response::BatchStatus;
use settlepaisa_recon::date::Date;
use settlepaisa_store::settlements::{self, BatchRecord};
use settlepaisa_store::{job::now_rfc3339, Context};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub files: Vec<String>,
    pub sent: usize,
    /// Pending batches no file could take (no merchant record, no paying bank).
    pub left_pending: usize,
}

fn as_batch(r: &BatchRecord) -> Batch {
    Batch {
        settlement_id: r.settlement_id.clone(),
        merchant_id: r.merchant_id.clone(),
        cycle_date: Date::parse_iso(&r.cycle_date).unwrap_or(Date(0)),
        totals: Totals { ..r.totals },
        lines: vec![],
    }
}

/// The references a payout file carries (its first column).
fn references(text: &str) -> BTreeSet<String> {
    text.lines().skip(1).filter_map(|l| l.split(',').next()).map(str::to_string).collect()
}

/// Sends every pending batch (those this run made, and any an earlier run left, whatever its
/// date) in files named for `day`.
pub async fn send(
    ctx: &Context,
    day: Date,
    merchants: &[Merchant],
    committed: Vec<BatchRecord>,
) -> Result<Sent, SettleError> {
    let db = &ctx.clients.dynamodb;
    let (table, kpi) = (&ctx.resources.settlements_table, &ctx.resources.kpi_table);
    let bucket = &ctx.resources.artifacts_bucket;
    let mut pending: BTreeMap<String, BatchRecord> =
        committed.into_iter().map(|b| (b.settlement_id.clone(), b)).collect();
    // The index is eventually consistent: a batch it does not show yet is swept next run.
    for b in settlements::pending_batches(db, table).await? {
        if b.status == BatchStatus::PendingPayout {
            pending.entry(b.settlement_id.clone()).or_insert(b);
        }
    }
    let by_id: BTreeMap<&str, &Merchant> = merchants.iter().map(|m| (m.merchant_id.as_str(), m)).collect();
    let run = crate::ledger_store::nonce();
    let mut files: BTreeMap<String, Vec<BatchRecord>> = BTreeMap::new();
    let mut unclaimed = Vec::new();
    for b in pending.into_values() {
        match &b.payout_key {
            Some(k) => files.entry(k.clone()).or_default().push(b),
            None => unclaimed.push(b),
        }
    }
    // Files an earlier run claimed batches for and may have written.
    let mut out = Sent::default();
    for (key, batches) in std::mem::take(&mut files) {
        match s3::get_bytes(&ctx.clients.s3, bucket, &key).await {
            Ok(bytes) => {
                let inside = references(&String::from_utf8_lossy(&bytes));
                for b in batches {
                    if inside.contains(&b.settlement_id) {
                        let audit = sent_audit(ctx, &b, &key);
                        out.sent +=
                            usize::from(settlements::mark_sent(db, table, kpi, &b, &key, &now_rfc3339(), audit).await?);
                    } else if settlements::release_payout_claim(db, table, &b, &key).await? {
                        unclaimed.push(BatchRecord { payout_key: None, payout_bank: None, ..b });
                    }
                }
            }
            Err(e) if s3::is_missing(&e) => {
                files.insert(key, batches);
            }
            Err(e) => return Err(e.into()),
        }
    }
    for b in unclaimed {
        let Some(m) = by_id.get(b.merchant_id.as_str()) else {
            tracing::error!(batch = %b.settlement_id, "no merchant record: left pending, swept again next run");
            out.left_pending += 1;
            continue;
        };
        let Some(bank) = paying_bank(&m.ifsc, &ctx.settlement.payout_banks) else {
            tracing::error!(batch = %b.settlement_id, "no paying bank configured: left pending");
            out.left_pending += 1;
            continue;
        };
        let key = format!("outgoing/payouts/{bank}/{day}/payouts-{run}.csv");
        if settlements::claim_payout(db, table, &b, &key, bank).await? {
            files.entry(key.clone()).or_default().push(BatchRecord { payout_key: Some(key), ..b });
        }
    }
    for (key, batches) in files {
        let text = payout_file(&batches.iter().map(as_batch).collect::<Vec<_>>(), merchants);
        // A file is never replaced: if another run wrote it meanwhile, its own lines are the truth.
        let inside = if s3::put_new(&ctx.clients.s3, bucket, &key, text.into_bytes()).await? {
            batches.iter().map(|b| b.settlement_id.clone()).collect()
        } else {
            references(&String::from_utf8_lossy(&s3::get_bytes(&ctx.clients.s3, bucket, &key).await?))
        };
        for b in &batches {
            if inside.contains(&b.settlement_id) {
                let audit = sent_audit(ctx, b, &key);
                out.sent += usize::from(settlements::mark_sent(db, table, kpi, b, &key, &now_rfc3339(), audit).await?);
            } else {
                // Claimed for a file that was written without it: the next run claims it again.
                settlements::release_payout_claim(db, table, b, &key).await?;
            }
        }
        out.files.push(key);
    }
    Ok(out)
}

/// A batch's payout file written: the cycle's decision, audited with the move.
fn sent_audit<'c>(ctx: &'c Context, b: &BatchRecord, key: &str) -> (&'c str, settlepaisa_audit::Draft) {
    let draft =
        settlepaisa_store::audit::by_function("settle-cycle", "payout.sent", ("settlement", &b.settlement_id), key);
    (ctx.resources.audit_table.as_str(), draft)
}
