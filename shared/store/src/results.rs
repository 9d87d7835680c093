//! Matches and exceptions as items of the results table (`job_part`, `item`).
//!
//! A job's results are spread over [`RESULT_PARTITIONS`] partition keys `{job_id}#{nn}`: one key
//! per job would take every match page and exception of a 10M-transaction job (~500,000 items in
//! minutes) at DynamoDB's ~1,000 write units a second per partition. A match page's partition
//! follows from its shard's number, an exception's from its id (so the id alone finds it), and the
//! category index's key carries the same number (`{job_id}#{category}#{nn}`), since an index
//! partition has the same limit. Readers of a whole job walk the 16 partitions.
//!
//! Matches are stored in pages: `M#<shard>#<page>` holds up to [`MATCHES_PER_PAGE`] matches as
//! lines of `matches.csv`'s columns. DynamoDB bills writes per KB, so a page costs about 0.11 write
//! units per match instead of one — the difference between a job costing more or less than a dollar
//! per million transactions. Exceptions, which people resolve one by one (with optimistic locking),
//! are one item each: `E#<exception_id>`, also indexed by `job_id#category`. Keys come from the
//! records and the canonical order, so a redelivered shard overwrites the same items with the same
//! values.

use aws_sdk_dynamodb::types::AttributeValue;
use settlepaisa_aws::dynamo::{lv, n, nv, s, str_list, sv, Item};
use settlepaisa_recon::bank_file::BankRow;
use settlepaisa_recon::config::format_fixed;
use settlepaisa_recon::pg_file::PgTxn;
use settlepaisa_recon::settlement::exceptions::SettlementException;
use settlepaisa_recon::{Exception, Match, Reconciliation};

pub const MATCHES_PER_PAGE: usize = 100;

/// Partition keys per job in the results table.
pub const RESULT_PARTITIONS: u32 = 16;

/// The partition (0..16) of a name: FNV-1a, fixed forever (stored keys depend on it).
pub fn partition_of(name: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h % RESULT_PARTITIONS
}

/// The partition of a shard's match pages: a UTR shard's number modulo 16, so that any count of
/// shards up to 16 puts each on its own partition and more spread evenly; the residual shard by
/// its name's hash.
pub fn match_partition(shard: &str) -> u32 {
    match shard.parse::<u32>() {
        Ok(n) => n % RESULT_PARTITIONS,
        Err(_) => partition_of(shard),
    }
}

/// The partition key `{job_id}#{nn}`.
pub fn job_part(job_id: &str, partition: u32) -> String {
    format!("{job_id}#{partition:02}")
}

/// The key of an exception's item (`E#…`, and `R#…` for the pair a resolution made).
pub fn exception_key(job_id: &str, exception_id: &str, prefix: &str) -> Item {
    Item::from([
        ("job_part".into(), sv(job_part(job_id, partition_of(exception_id)))),
        ("item".into(), sv(format!("{prefix}{exception_id}"))),
    ])
}

/// The category index's partition key of an exception.
pub fn job_category(job_id: &str, category: &str, exception_id: &str) -> String {
    format!("{job_id}#{category}#{:02}", partition_of(exception_id))
}

/// The shard's matches as page items, in `txn_id` order.
pub fn match_pages(job_id: &str, shard: &str, rec: &Reconciliation<'_>) -> Vec<Item> {
    // The engine's matches, then the transactions paid through a settlement's bulk credit (the
    // credit, the settlement's UTR, confidence 1, rule `settlement`), as matches.csv has them.
    let engine = rec.matches.iter().map(|m| match_fields(rec, m));
    let settled = rec.settled.iter().map(|m| {
        let p = &rec.pg[m.pg as usize];
        [
            p.txn_id.to_string(),
            rec.bank[m.bank as usize].bank_ref(),
            m.utr.to_string(),
            p.amount.0.to_string(),
            "1".to_string(),
            "settlement".to_string(),
        ]
    });
    let all: Vec<[String; 6]> = engine.chain(settled).collect();
    all.chunks(MATCHES_PER_PAGE)
        .enumerate()
        .map(|(page, chunk)| {
            let mut rows = String::with_capacity(chunk.len() * 112);
            for fields in chunk {
                rows.push_str(&fields.join("\t"));
                rows.push('\n');
            }
            let mut item = Item::new();
            item.insert("job_part".into(), sv(job_part(job_id, match_partition(shard))));
            item.insert("job_id".into(), sv(job_id));
            item.insert("item".into(), sv(format!("M#{shard}#{page:05}")));
            item.insert("count".into(), nv(chunk.len()));
            item.insert("rows".into(), sv(rows));
            item
        })
        .collect()
}

fn match_fields(rec: &Reconciliation<'_>, m: &Match) -> [String; 6] {
    let p = &rec.pg[m.pg as usize];
    let b = &rec.bank[m.bank as usize];
    [
        p.txn_id.to_string(),
        b.bank_ref(),
        p.utr.or(b.utr).map(|u| u.to_string()).unwrap_or_default(),
        p.amount.0.to_string(),
        format_fixed(m.score.confidence()),
        m.score.explain(&rec.config),
    ]
}

/// What every exception item holds, the engine's and the settlement step's alike: its key and
/// category (with the category index's key), its records (PG and bank, with the bank's source),
/// the PG amount and merchant, the delta, the reason, and the day whose KPI items a resolution
/// adjusts; `OPEN` at version 1.
#[allow(clippy::too_many_arguments)]
fn open_exception(
    job_id: &str,
    id: &str,
    category: &str,
    pg: &[&PgTxn<'_>],
    bank: &[&BankRow<'_>],
    amount_delta: i64,
    reason: &str,
    day: Option<settlepaisa_recon::date::Date>,
    source_of: &dyn Fn(&str) -> String,
) -> Item {
    let mut item = exception_key(job_id, id, "E#");
    item.insert("job_id".into(), sv(job_id));
    item.insert("exception_id".into(), sv(id));
    item.insert("category".into(), sv(category));
    item.insert("job_category".into(), sv(job_category(job_id, category, id)));
    item.insert("txn_ids".into(), lv(pg.iter().map(|p| p.txn_id.to_string())));
    item.insert("bank_refs".into(), lv(bank.iter().map(|b| b.bank_ref())));
    item.insert("amount_delta_paise".into(), nv(amount_delta));
    let pg_records: Vec<_> = pg.iter().map(|p| pg_json(p)).collect();
    let bank_records: Vec<_> = bank.iter().map(|b| bank_json(b, source_of)).collect();
    item.insert("pg_records".into(), sv(serde_json::Value::from(pg_records).to_string()));
    item.insert("bank_records".into(), sv(serde_json::Value::from(bank_records).to_string()));
    let pg_amount: i64 = pg.iter().map(|p| p.amount.0).sum();
    item.insert("pg_amount_paise".into(), nv(pg_amount));
    if let Some(p) = pg.first() {
        item.insert("merchant_id".into(), sv(p.merchant_id));
    }
    item.insert("reason".into(), sv(reason));
    item.insert("status".into(), sv("OPEN"));
    item.insert("version".into(), AttributeValue::N("1".into()));
    if let Some(d) = day {
        item.insert("day".into(), sv(d.to_string()));
    }
    item
}

/// One exception with everything the API shows and a resolution needs: its records, the
/// suggested counterpart, and the merchant and day whose KPI items a resolution adjusts.
pub fn exception_item(
    job_id: &str,
    rec: &Reconciliation<'_>,
    e: &Exception,
    source_of: &dyn Fn(&str) -> String,
) -> Item {
    let pg: Vec<&PgTxn<'_>> = e.pg.iter().map(|&i| &rec.pg[i as usize]).collect();
    let bank: Vec<&BankRow<'_>> = e.bank.iter().map(|&i| &rec.bank[i as usize]).collect();
    let day = pg.first().map(|p| p.date).or(bank.first().map(|b| b.date));
    let id = rec.exception_id(e);
    let mut item =
        open_exception(job_id, &id, e.category.as_str(), &pg, &bank, e.amount_delta, &rec.reason(e), day, source_of);
    if let Some(sug) = e.suggestion {
        item.insert("suggestion_confidence".into(), sv(format_fixed(sug.score.confidence())));
        item.insert("suggestion_txn_id".into(), sv(rec.pg[sug.pg as usize].txn_id));
        item.insert("suggestion_bank_ref".into(), sv(rec.bank[sug.bank as usize].bank_ref()));
        item.insert("suggestion_explain".into(), sv(sug.score.explain(&rec.config)));
        let counterpart = if e.pg.contains(&sug.pg) {
            bank_json(&rec.bank[sug.bank as usize], source_of)
        } else {
            pg_json(&rec.pg[sug.pg as usize])
        };
        item.insert("suggestion_record".into(), sv(counterpart.to_string()));
    }
    item
}

/// A settlement exception (a settlement not `SETTLED`, or a line check) as an item beside the
/// engine's: the same attributes, so the exceptions API lists, filters, ages and resolves it
/// like any other, plus the settlement it is about, its report row, the figures compared and
/// the money at stake (`at_stake_paise`, what a resolution takes off the open exposure).
pub fn settlement_exception_item(
    job_id: &str,
    rec: &Reconciliation<'_>,
    e: &SettlementException<'_>,
    source_of: &dyn Fn(&str) -> String,
) -> Item {
    let pg: Vec<&PgTxn<'_>> = e.pg.iter().map(|&i| &rec.pg[i as usize]).collect();
    let bank: Vec<&BankRow<'_>> = e.bank.iter().map(|&i| &rec.bank[i as usize]).collect();
    let category = e.category.as_str();
    let mut item =
        open_exception(job_id, &e.id(), category, &pg, &bank, e.delta.0, &e.reason, Some(e.settled_on), source_of);
    item.insert("at_stake_paise".into(), nv(e.at_stake.0));
    item.insert("settlement_id".into(), sv(e.settlement_id));
    if let Some((file, line)) = e.row {
        item.insert("settlement_row".into(), sv(format!("{file}:{line}")));
    }
    if let Some(x) = e.expected {
        item.insert("expected_paise".into(), nv(x.0));
    }
    item.insert("actual_paise".into(), nv(e.actual.0));
    item
}

fn pg_json(p: &PgTxn<'_>) -> serde_json::Value {
    serde_json::json!({
        "kind": "pg",
        "txnId": p.txn_id,
        "merchantId": p.merchant_id,
        "merchantRef": p.merchant_ref,
        "method": p.method.as_str(),
        "amountPaise": p.amount.0,
        "utr": p.utr.map(|u| u.to_string()),
        "date": p.date.to_string(),
    })
}

fn bank_json(b: &BankRow<'_>, source_of: &dyn Fn(&str) -> String) -> serde_json::Value {
    serde_json::json!({
        "kind": "bank",
        "bankRef": b.bank_ref(),
        "source": source_of(b.file),
        "amountPaise": b.amount.0,
        "utr": b.utr.map(|u| u.to_string()),
        "date": b.date.to_string(),
        "narration": b.narration,
    })
}

/// The matches of a page item, as `matches.csv` writes them:
/// `txn_id,bank_ref,utr,amount_paise,confidence,rules`.
pub fn match_rows(item: &Item) -> Vec<Vec<String>> {
    s(item, "rows").unwrap_or_default().lines().map(|l| l.split('\t').map(str::to_string).collect()).collect()
}

/// Every transaction id a job matched: its match pages (`M#`) and the pairs resolutions added
/// (`R#`), over all its partitions. What the settlement cycle pays.
pub async fn matched_ids(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
) -> Result<std::collections::HashSet<String>, crate::StoreError> {
    let mut ids = std::collections::HashSet::new();
    for partition in 0..RESULT_PARTITIONS {
        for prefix in ["M#", "R#"] {
            let query = client
                .query()
                .table_name(table)
                .key_condition_expression("job_part = :p AND begins_with(#item, :prefix)")
                .expression_attribute_names("#item", "item")
                .expression_attribute_values(":p", sv(job_part(job_id, partition)))
                .expression_attribute_values(":prefix", sv(prefix))
                .projection_expression("#item, #rows")
                .expression_attribute_names("#rows", "rows");
            for item in settlepaisa_aws::dynamo::all_pages(query).await? {
                for line in s(&item, "rows").unwrap_or_default().lines() {
                    if let Some(id) = line.split(['\t', ',']).next().filter(|id| !id.is_empty()) {
                        ids.insert(id.to_string());
                    }
                }
            }
        }
    }
    Ok(ids)
}

/// An exception as `exceptions.csv` writes it:
/// `exception_id,category,txn_ids,bank_refs,amount_delta_paise,suggestion_confidence,reason`.
pub fn exception_row(item: &Item) -> [String; 7] {
    [
        s(item, "exception_id").unwrap_or_default(),
        s(item, "category").unwrap_or_default(),
        str_list(item, "txn_ids").join(";"),
        str_list(item, "bank_refs").join(";"),
        n(item, "amount_delta_paise").unwrap_or(0).to_string(),
        s(item, "suggestion_confidence").unwrap_or_default(),
        s(item, "reason").unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_fixed_and_spread() {
        // Stored keys depend on these values: they must never change.
        assert_eq!(["000", "001", "002", "003"].map(partition_of), [7, 4, 13, 10]);
        assert_eq!(partition_of("residual"), 6);
        assert_eq!(partition_of("EXC-0123456789abcdef"), 0);
        let used: std::collections::BTreeSet<u32> = (0..64).map(|i| partition_of(&format!("{i:03}"))).collect();
        assert_eq!(used.len(), RESULT_PARTITIONS as usize, "64 shards reach every partition");
        let pages: std::collections::BTreeSet<u32> = (0..16).map(|i| match_partition(&format!("{i:03}"))).collect();
        assert_eq!(pages.len(), 16, "16 shards' match pages on 16 partitions");
        assert_eq!(match_partition("residual"), partition_of("residual"));
        let key = exception_key("JOB-1", "EXC-0123456789abcdef", "E#");
        assert_eq!(s(&key, "job_part").as_deref(), Some("JOB-1#00"));
        assert_eq!(job_category("JOB-1", "UNMATCHED_PG", "EXC-0123456789abcdef"), "JOB-1#UNMATCHED_PG#00");
    }
}
