//! `apply-dispute-file`: an acquirer's or NPCI's dispute file (`incoming/disputes/{source}/`,
//! forwarded by `ingest-file` through the dispute file queue) applied row by row, in file order.
//!
//! A row opens a dispute (its transaction found, [`crate::txn_lookup`]), moves it to a later
//! stage, or records the network's outcome. A bad row, an unknown transaction, a dispute larger
//! than its transaction, a row that contradicts its dispute: each a reject with its line and
//! reason, the other rows applied all the same. A re-delivered file changes nothing; a row its
//! dispute has gone past is recorded and moves nothing ([`settlepaisa_dispute::network`]). Every delivery's outcome,
//! row by row, is written to `disputes/{source}/{name}.outcome-{time}.csv` (artifacts bucket).

use crate::change::{change, now, Changed};
use crate::error::DisputeError;
use crate::txn_lookup::{self, Wanted};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures_util::{stream, StreamExt, TryStreamExt};
use settlepaisa_aws::s3;
use settlepaisa_dispute::file::{parse, FileRow};
use settlepaisa_dispute::lifecycle::{apply_row, opening_window, Context as Rules};
use settlepaisa_dispute::model::Dispute;
use settlepaisa_recon::date::format_utc;
use settlepaisa_store::{disputes, Context};
use std::collections::BTreeMap;

pub const PREFIX: &str = "incoming/disputes/";

/// Rows one delivery applies (a GetItem and a transaction each, well within the function's
/// 300 s); the rest are rejected with a reason: split the file.
pub const MAX_ROWS: usize = 5_000;

/// How far back a new dispute's transaction is searched, whatever a row says: the longest raise
/// window and a year of late files.
const MAX_LOOKBACK_DAYS: i32 = 120 + 365;

/// The object a message names (`ingest-file` forwards the S3 event's bucket and key).
pub use settlepaisa_aws::forwarded::ForwardedFile as DisputeFile;

#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileOutcome {
    pub key: String,
    pub report: String,
    pub rows: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub rejected: usize,
}

/// The folder a dispute file came from: `incoming/disputes/{source}/…`.
pub fn source_of(key: &str) -> Option<&str> {
    key.strip_prefix(PREFIX)?.split_once('/').map(|(s, _)| s).filter(|s| !s.is_empty())
}

/// Each message a file; a failed one is retried by the queue and then dead-lettered.
pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    settlepaisa_aws::forwarded::each_file(&event, "dispute file", |f| async move {
        apply_file(ctx, &f).await.map(|o| tracing::info!(outcome = ?o, "dispute file applied"))
    })
    .await
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub async fn apply_file(ctx: &Context, file: &DisputeFile) -> Result<FileOutcome, DisputeError> {
    let source = source_of(&file.key)
        .ok_or_else(|| DisputeError::BadEvent(format!("{} is not under {PREFIX}{{source}}/", file.key)))?;
    let bytes = s3::get_bytes(&ctx.clients.s3, &file.bucket, &file.key).await?;
    let at = now();
    let report_key = format!(
        "disputes/{}.outcome-{}-{:06x}.csv",
        file.key.strip_prefix(PREFIX).unwrap_or(&file.key),
        format_utc(at).replace(':', ""),
        fastrand::u32(..1 << 24)
    );
    let mut out = FileOutcome { key: file.key.clone(), report: report_key.clone(), ..FileOutcome::default() };
    let mut report = String::from("line,dispute_ref,outcome,detail\n");
    let (mut rows, mut rejects) = match String::from_utf8(bytes) {
        Ok(text) => parse(&text),
        Err(_) => (
            Vec::new(),
            vec![settlepaisa_dispute::file::Reject { line: 1, reason: "not UTF-8 text".into(), raw: String::new() }],
        ),
    };
    if rows.len() > MAX_ROWS {
        for r in rows.split_off(MAX_ROWS) {
            let reason = format!(
                "the file has more than {MAX_ROWS} rows: this one is not applied; send it again in another file"
            );
            rejects.push(settlepaisa_dispute::file::Reject { line: r.line, reason, raw: String::new() });
        }
    }
    let mut lines: BTreeMap<usize, String> = BTreeMap::new();
    for r in &rejects {
        lines.insert(r.line, format!("{},,rejected,{}\n", r.line, csv_field(&r.reason)));
    }
    let found = transactions_for(ctx, &rows).await?;
    let by = |row: &FileRow| format!("{}#{}", file.key, row.line);
    for row in &rows {
        let who = by(row);
        let txn = found.of(row.txn_id.as_deref(), row.rrn.as_deref());
        let mut before = None;
        let draft = settlepaisa_store::audit::by_function(
            "apply-dispute-file",
            "dispute.file_row",
            ("dispute", &row.dispute_ref),
            &who,
        );
        let result = change(ctx, &row.dispute_ref, draft, |current| {
            before = current.map(|c| (c.stage, c.status, c.raised_on, c.respond_by));
            let txn = match (&txn, current) {
                (Err(ambiguous), None) => return Err(ambiguous.clone()),
                (Err(_), Some(_)) => None,
                (Ok(t), _) => t.clone(),
            };
            let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now: at, by: &who };
            apply_row(current, row, txn, source, &cx)
        })
        .await;
        let (outcome, detail) = match result {
            // A fact the dispute's state already reflected (an earlier stage's row come late):
            // recorded, for the order of what comes next, and nothing moved.
            Ok(Changed::Written(d)) if before == Some((d.stage, d.status, d.raised_on, d.respond_by)) => {
                out.unchanged += 1;
                ("recorded", summary(&d))
            }
            Ok(Changed::Written(d)) => {
                out.applied += 1;
                ("applied", summary(&d))
            }
            Ok(Changed::Unchanged(_, why)) => {
                out.unchanged += 1;
                ("unchanged", why)
            }
            Err(DisputeError::Refused(why)) => {
                out.rejected += 1;
                ("rejected", why)
            }
            Err(e) => return Err(e),
        };
        lines.insert(row.line, format!("{},{},{outcome},{}\n", row.line, row.dispute_ref, csv_field(&detail)));
    }
    out.rows = rows.len() + rejects.len();
    out.rejected += rejects.len();
    for l in lines.values() {
        report.push_str(l);
    }
    s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &report_key, report.into_bytes()).await?;
    Ok(out)
}

fn summary(d: &Dispute) -> String {
    format!("{} {}", d.stage.as_str(), d.status.as_str())
}

/// The transactions of the rows whose disputes are not known yet, searched over their networks'
/// raise windows.
async fn transactions_for(ctx: &Context, rows: &[FileRow]) -> Result<txn_lookup::Found, DisputeError> {
    let refs: Vec<&str> = {
        let mut r: Vec<&str> = rows.iter().map(|r| r.dispute_ref.as_str()).collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.disputes_table);
    let known: Vec<Option<Dispute>> = stream::iter(refs.iter().copied())
        .map(|id| async move { disputes::get(db, table, id).await })
        .buffered(8)
        .try_collect()
        .await?;
    let known: std::collections::HashSet<&str> =
        refs.iter().zip(&known).filter(|(_, d)| d.is_some()).map(|(r, _)| *r).collect();
    let new: Vec<&FileRow> = rows.iter().filter(|r| !known.contains(r.dispute_ref.as_str())).collect();
    let mut wanted = Wanted::default();
    for r in &new {
        if let Some(t) = &r.txn_id {
            wanted.txn_ids.insert(t.clone());
        } else if let Some(rrn) = &r.rrn {
            wanted.rrns.insert(rrn.clone());
        }
    }
    // Bounded whatever the rows say: a row raised in the future or long ago opens nothing anyway.
    let today = settlepaisa_recon::date::ist_date(now());
    let Some(to) = new.iter().map(|r| r.raised_on).max().map(|d| d.min(today)) else {
        return Ok(txn_lookup::Found::default());
    };
    let from = new
        .iter()
        .map(|r| r.raised_on.add_days(-opening_window(&ctx.dispute_rules, r.network, r.step)))
        .min()
        .unwrap_or(to)
        .max(today.add_days(-MAX_LOOKBACK_DAYS));
    txn_lookup::find(ctx, &wanted, from, to).await
}
