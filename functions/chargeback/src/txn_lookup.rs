//! Finds disputed transactions by `txn_id` or RRN. PG rows are kept in pages by capture day and
//! claim group, not one item a transaction (`docs/cost-design.md`), and a dispute file names no
//! capture day. So the search reads the capture days a dispute may be about — from the raise
//! window of its network back from when it was raised — that have rows, and of each only the
//! claim groups of the ids asked for (every group when only an RRN is known).
//!
//! The cost grows with the window's transactions, not the file's rows: fine for the disputes of
//! a few thousand transactions a day; `docs/disputes.md#finding-the-transaction` has the limit
//! and the index that lifts it.

use crate::error::DisputeError;
use futures_util::{stream, StreamExt, TryStreamExt};
use settlepaisa_dispute::model::Txn;
use settlepaisa_recon::date::Date;
use settlepaisa_store::txn_pages::{self, group_of, GROUPS};
use settlepaisa_store::{txn_days, Context};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Partitions read at once.
const CONCURRENCY: usize = 8;

/// What to look for.
#[derive(Default)]
pub struct Wanted {
    pub txn_ids: HashSet<String>,
    pub rrns: HashSet<String>,
}

/// What was found: every captured transaction with an id or RRN asked for.
#[derive(Default)]
pub struct Found {
    pub by_id: HashMap<String, Vec<Txn>>,
    pub by_rrn: HashMap<String, Vec<Txn>>,
}

impl Found {
    /// The transaction a row names: by id when it has one (and then its RRN must agree), else
    /// by RRN. An RRN that several captured transactions carry (card RRNs repeat across days and
    /// terminals) names none of them: `Err` says so, and the row needs its `txn_id`.
    pub fn of(&self, txn_id: Option<&str>, rrn: Option<&str>) -> Result<Option<Txn>, String> {
        let (found, what) = match (txn_id, rrn) {
            (Some(id), _) => (self.by_id.get(id), format!("txn_id {id}")),
            (None, Some(r)) => (self.by_rrn.get(r), format!("rrn {r}")),
            (None, None) => return Ok(None),
        };
        let candidates: Vec<&Txn> = found
            .into_iter()
            .flatten()
            .filter(|t| txn_id.is_none() || rrn.is_none() || t.rrn.as_deref() == rrn)
            .collect();
        match candidates.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some((*one).clone())),
            many => Err(format!("{what} names {} captured transactions; give the txn_id", many.len())),
        }
    }
}

/// Searches capture days `from..=to`.
pub async fn find(ctx: &Context, wanted: &Wanted, from: Date, to: Date) -> Result<Found, DisputeError> {
    let mut found = Found::default();
    if wanted.txn_ids.is_empty() && wanted.rrns.is_empty() || from > to {
        return Ok(found);
    }
    let all_days: Vec<String> = (0..=from.days_until(to)).map(|i| from.add_days(i).to_string()).collect();
    let mut days = BTreeSet::new();
    for chunk in all_days.chunks(100) {
        days.extend(txn_days::with_rows(&ctx.clients.dynamodb, &ctx.resources.kpi_table, chunk).await?);
    }
    let groups: BTreeSet<u32> = if wanted.rrns.is_empty() {
        wanted.txn_ids.iter().map(|id| group_of(id)).collect()
    } else {
        (0..GROUPS).collect()
    };
    let partitions: Vec<String> =
        days.iter().flat_map(|d| groups.iter().map(move |g| txn_pages::day_partition(d, *g))).collect();
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.transactions_table);
    let pages: Vec<Vec<txn_pages::Page>> = stream::iter(partitions)
        .map(|pk| async move { txn_pages::pages_in(db, table, &pk).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    // The PG's file exports only: a webhook row is not yet a transaction the aggregator holds a
    // record of (issue 14), and once an export holds it, it is the export's row.
    for page in pages.iter().flatten().filter(|p| p.file_id != settlepaisa_store::pg_events::WEBHOOK_FILE_ID) {
        for t in page.shown().map_err(settlepaisa_store::StoreError::from)? {
            let rrn = t.utr.map(|u| u.to_string());
            let by_id = wanted.txn_ids.contains(t.txn_id);
            let by_rrn = rrn.as_ref().is_some_and(|r| wanted.rrns.contains(r));
            if !(by_id || by_rrn) || !t.is_captured() {
                continue;
            }
            let txn = Txn {
                txn_id: t.txn_id.to_string(),
                merchant_id: t.merchant_id.to_string(),
                merchant_ref: t.merchant_ref.to_string(),
                method: t.method.as_str().to_string(),
                amount_paise: t.amount.0,
                rrn: rrn.clone(),
                captured_at: t.captured_at,
                capture_day: t.date,
            };
            if by_rrn {
                found.by_rrn.entry(rrn.unwrap_or_default()).or_default().push(txn.clone());
            }
            if by_id {
                found.by_id.entry(txn.txn_id.clone()).or_default().push(txn);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(id: &str, rrn: &str) -> Txn {
        Txn {
            txn_id: id.into(),
            merchant_id: format!("M-{id}"),
            merchant_ref: String::new(),
            method: "CARD".into(),
            amount_paise: 100,
            rrn: Some(rrn.into()),
            captured_at: 0,
            capture_day: Date(0),
        }
    }

    #[test]
    fn an_rrn_two_transactions_carry_names_neither() {
        let mut found = Found::default();
        for t in [txn("T1", "612345678901"), txn("T2", "612345678901"), txn("T3", "699999999999")] {
            found.by_id.entry(t.txn_id.clone()).or_default().push(t.clone());
            found.by_rrn.entry(t.rrn.clone().unwrap()).or_default().push(t);
        }
        assert!(found.of(None, Some("612345678901")).unwrap_err().contains("2 captured transactions"));
        assert_eq!(found.of(Some("T2"), Some("612345678901")).unwrap().unwrap().txn_id, "T2");
        assert_eq!(found.of(None, Some("699999999999")).unwrap().unwrap().txn_id, "T3");
        assert!(found.of(Some("T1"), Some("699999999999")).unwrap().is_none(), "an id whose RRN disagrees");
        assert!(found.of(Some("T9"), None).unwrap().is_none());
    }
}
