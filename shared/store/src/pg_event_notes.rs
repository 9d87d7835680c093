//! Where a PG file export and the webhooks meet: once a file holds a transaction's id, the
//! webhook row is hidden (the file's row is the one listed, reconciled and settled) and the two
//! are compared, differences kept as a conflict ([`settlepaisa_pg_events::file_check`]).
//!
//! Either may come first, and both may land at once, so each side writes its own fact and then
//! looks for the other's, with reads that see the latest writes:
//! - a file's claim step writes its claim sets (S3, read-after-write consistent) and pages, then
//!   queries its (day, id group) partitions — and the days either side, as claims do — for
//!   webhook rows with a consistent read ([`webhook_rows_held`]); the pairs it finds are noted
//!   by `apply-pg-events` off the events queue, so a large export's claim step stays bounded;
//! - the events function writes the webhook row, then reads the claim sets of its capture day
//!   and the days either side, and the holder's pages with a consistent read ([`file_row_of`]);
//!   it does so whenever the stored state has a payment and no file yet, so a redelivery after
//!   a failure between the two steps still does it.
//!
//! Whichever ran second sees the other; when both do, noting is the same change twice (no-op).

use crate::error::StoreError;
use crate::pg_events::{load, save, webhook_ids_in, Tables};
use crate::txn_pages::{claim_set_key, day_partition, group_of};
use settlepaisa_aws::dynamo::sv;
use settlepaisa_pg_events::file_check::FileRow;
use settlepaisa_pg_events::txn_state::note_file;
use settlepaisa_recon::pg_file::PgTxn;

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
        if save(client, tables, Some(&stored), &applied.state, &applied.deductions, &applied.reversals).await? {
            return Ok(());
        }
    }
    Err(StoreError::Inconsistent(format!("webhook transaction {txn_id}: still changing after {ATTEMPTS} attempts")))
}

/// A file's claim step, after its claim sets and pages are written: its kept rows of the claim
/// group `group` that webhooks also know (a webhook row on the row's day or a day either side),
/// each with the file's row, to note.
pub async fn webhook_rows_held(
    client: &aws_sdk_dynamodb::Client,
    transactions_table: &str,
    file_id: &str,
    group: u32,
    kept: &[PgTxn<'_>],
) -> Result<Vec<(String, FileRow)>, StoreError> {
    let mut days = std::collections::BTreeSet::new();
    for t in kept {
        for d in [-1, 0, 1] {
            days.insert(t.date.add_days(d).to_string());
        }
    }
    let mut known = std::collections::HashSet::new();
    for day in days {
        known.extend(webhook_ids_in(client, transactions_table, &day_partition(&day, group)).await?);
    }
    Ok(kept.iter().filter(|t| known.contains(t.txn_id)).map(|t| (t.txn_id.to_string(), file_row(file_id, t))).collect())
}

/// Rows per message of the events queue: ~200 bytes each, well inside SQS's 256 KiB, and one
/// message's notes well inside `apply-pg-events`' timeout.
pub const ROWS_PER_MESSAGE: usize = 200;

/// The events queue's messages noting `rows` (`{"file_rows": [[txn_id, row], …]}`).
pub fn note_messages(rows: &[(String, FileRow)]) -> Vec<String> {
    rows.chunks(ROWS_PER_MESSAGE).map(|c| serde_json::json!({ "file_rows": c }).to_string()).collect()
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
    let day = settlepaisa_recon::date::Date::parse_iso(day)
        .ok_or_else(|| StoreError::Inconsistent(format!("capture day `{day}` of {txn_id}")))?;
    // A claim holds across the day either side (an export in another time zone, a capture
    // corrected across midnight): so does the meeting.
    for day in [day, day.add_days(-1), day.add_days(1)].map(|d| d.to_string()) {
        let key = claim_set_key("incoming", &day, group);
        let bytes = match settlepaisa_aws::s3::get_bytes(s3, artifacts_bucket, &key).await {
            Ok(b) => b,
            Err(e) if settlepaisa_aws::s3::is_missing(&e) => continue,
            Err(e) => return Err(e.into()),
        };
        let text = String::from_utf8_lossy(&bytes);
        let Some((file_id, line)) = text.lines().find_map(|l| {
            let mut f = l.split('\t');
            (f.next() == Some(txn_id)).then(|| (f.next().unwrap_or("").to_string(), f.next().unwrap_or("").to_string()))
        }) else {
            continue;
        };
        let line: u32 =
            line.parse().map_err(|_| StoreError::Inconsistent(format!("{key}: line `{line}` of {txn_id}")))?;
        // Consistent: pages written just before this read must be seen (module comment).
        let query = dynamodb
            .query()
            .table_name(transactions_table)
            .key_condition_expression("pk = :pk")
            .filter_expression("file_id = :f")
            .expression_attribute_values(":pk", sv(day_partition(&day, group)))
            .expression_attribute_values(":f", sv(&file_id))
            .consistent_read(true);
        for item in settlepaisa_aws::dynamo::all_pages(query).await? {
            let page = crate::txn_pages::Page::from_item(&item)?;
            if let Some(t) = page.decode()?.iter().find(|t| t.txn_id == txn_id && t.line == line) {
                return Ok(Some(file_row(&file_id, t)));
            }
        }
        // Claimed, pages not written yet: the file's claim step is still running, and finds
        // the webhook row itself once its pages are in.
        return Ok(None);
    }
    Ok(None)
}
