//! Where a PG file export and the webhooks meet: once a file holds a transaction's id, the
//! webhook row is hidden (the file's row is the one listed, reconciled and settled) and the two
//! are compared, differences kept as a conflict ([`settlepaisa_pg_events::file_check`]).
//!
//! Either may come first, and both may land at once, so each side writes its own fact and then
//! looks for the other's, with reads that see the latest writes:
//! - a file's claim step writes its claim sets (S3, read-after-write consistent), then queries
//!   each of its (day, id group) partitions for webhook rows with a consistent read
//!   ([`note_file_rows`]);
//! - the events function writes the webhook row, then reads the (day, group)'s claim set
//!   ([`file_row_of`]).
//!
//! Whichever ran second sees the other; when both do, noting is the same change twice (no-op).

use crate::error::StoreError;
use crate::pg_events::{load, save, webhook_ids_in, Tables, WEBHOOK_FILE_ID};
use crate::txn_pages::{claim_set_key, day_partition, group_of};
use settlepaisa_aws::dynamo::sv;
use settlepaisa_pg_events::file_check::FileRow;
use settlepaisa_pg_events::txn_state::note_file;
use settlepaisa_recon::pg_file::PgTxn;
use std::collections::HashMap;

/// Attempts of one note against concurrent changes before giving up (the caller retries).
const ATTEMPTS: usize = 8;

pub fn file_row(file_id: &str, t: &PgTxn<'_>) -> FileRow {
    FileRow {
        file_id: file_id.to_string(),
        merchant_id: t.merchant_id.to_string(),
        merchant_ref: t.merchant_ref.to_string(),
        method: t.method.as_str().to_string(),
        amount_paise: t.amount.0,
        status: t.status.to_string(),
        utr: t.utr.map(|u| u.to_string()),
        captured_secs: t.captured_at,
    }
}

/// Notes that a file holds `txn_id` with `row` (nothing when no webhook knows the transaction).
pub async fn note(
    client: &aws_sdk_dynamodb::Client,
    tables: &Tables<'_>,
    txn_id: &str,
    row: &FileRow,
) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        let Some(stored) = load(client, tables.events, txn_id).await? else { return Ok(()) };
        let applied = note_file(&stored.state, row);
        if !applied.changed {
            return Ok(());
        }
        if save(client, tables, Some(&stored), &applied.state, &applied.deductions).await? {
            return Ok(());
        }
    }
    Err(StoreError::Inconsistent(format!("webhook transaction {txn_id}: still changing after {ATTEMPTS} attempts")))
}

/// A file's claim step, after its claim sets and pages are written: notes each of its kept
/// rows of the claim group `group` that webhooks also know.
pub async fn note_file_rows(
    client: &aws_sdk_dynamodb::Client,
    tables: &Tables<'_>,
    file_id: &str,
    group: u32,
    kept: &[PgTxn<'_>],
) -> Result<usize, StoreError> {
    let mut by_day: HashMap<String, Vec<&PgTxn<'_>>> = HashMap::new();
    for t in kept {
        by_day.entry(t.date.to_string()).or_default().push(t);
    }
    let mut noted = 0;
    for (day, rows) in by_day {
        let known: std::collections::HashSet<String> =
            webhook_ids_in(client, tables.transactions, &day_partition(&day, group)).await?.into_iter().collect();
        for t in rows.into_iter().filter(|t| known.contains(t.txn_id)) {
            note(client, tables, t.txn_id, &file_row(file_id, t)).await?;
            noted += 1;
        }
    }
    Ok(noted)
}

/// The file row that holds `txn_id` (captured on `day`), if a file export does: the claim set
/// names the file and line, the file's pages of the partition hold the row.
pub async fn file_row_of(
    dynamodb: &aws_sdk_dynamodb::Client,
    s3: &aws_sdk_s3::Client,
    artifacts_bucket: &str,
    transactions_table: &str,
    txn_id: &str,
    day: &str,
) -> Result<Option<FileRow>, StoreError> {
    let group = group_of(txn_id);
    let key = claim_set_key("incoming", day, group);
    let bytes = match settlepaisa_aws::s3::get_bytes(s3, artifacts_bucket, &key).await {
        Ok(b) => b,
        Err(e) if settlepaisa_aws::s3::is_missing(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8_lossy(&bytes);
    let Some((file_id, line)) = text.lines().find_map(|l| {
        let mut f = l.split('\t');
        (f.next() == Some(txn_id)).then(|| (f.next().unwrap_or("").to_string(), f.next().unwrap_or("").to_string()))
    }) else {
        return Ok(None);
    };
    if file_id == WEBHOOK_FILE_ID {
        return Ok(None);
    }
    let line: u32 = line.parse().map_err(|_| StoreError::Inconsistent(format!("{key}: line `{line}` of {txn_id}")))?;
    let query = dynamodb
        .query()
        .table_name(transactions_table)
        .key_condition_expression("pk = :pk")
        .filter_expression("file_id = :f")
        .expression_attribute_values(":pk", sv(day_partition(day, group)))
        .expression_attribute_values(":f", sv(&file_id));
    for item in settlepaisa_aws::dynamo::all_pages(query).await? {
        let page = crate::txn_pages::Page::from_item(&item)?;
        if let Some(t) = page.decode()?.iter().find(|t| t.txn_id == txn_id && t.line == line) {
            return Ok(Some(file_row(&file_id, t)));
        }
    }
    // The claim is written before the pages: the file's claim step is still running, and it
    // notes the row itself once its pages are in.
    Ok(None)
}
