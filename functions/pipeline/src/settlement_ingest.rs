//! Ingesting an acquirer's settlement report (`incoming/settlements/{acquirer}/…`, issue 11 §2):
//! read whole (reports are a day's settlements of one acquirer, far smaller than the PG export),
//! every row checked as `settlepaisa recon --settlement` checks it, bad rows kept as rejects with
//! their line and reason. What counts is kept for the jobs: the report's bytes and the
//! transactions its rows name ([`crate::settlement_step`]); the file record carries the counts,
//! the acquirer and the `settled_on` dates, so a job planned over those dates takes the report.

use crate::ingest::{dates, present, Failure, RejectsSpill};
use crate::settlement_step::{report_key, txns_key};
use crate::Context;
use settlepaisa_aws::{s3 as objects, AwsError};
use settlepaisa_recon::settlement::report_file::parse_settlement_file;
use settlepaisa_store::file_record::FileRecord;
use std::collections::BTreeSet;

/// The largest report read (whole, in one invocation).
const MAX_REPORT_BYTES: u64 = 256 << 20;

pub(crate) async fn normalize(
    ctx: &Context,
    file: &mut FileRecord,
    acquirer: &str,
    version: Option<&str>,
) -> Result<(), Failure> {
    let mut obj = present(file, objects::open(&ctx.clients.s3, &file.bucket, &file.key, version).await)?;
    if obj.size > MAX_REPORT_BYTES {
        return Err(Failure::Rejected(format!(
            "a settlement report is read whole and this one is {} MiB (at most {} MiB): split it by settlement date",
            obj.size >> 20,
            MAX_REPORT_BYTES >> 20
        )));
    }
    let mut bytes = Vec::with_capacity(obj.size as usize);
    while let Some(part) = obj.body.next().await.transpose().map_err(|e| AwsError::new("GetObject", e))? {
        bytes.extend_from_slice(&part);
    }
    // Rows are `NAME:LINE`: the name is the key under `incoming/settlements/` (the acquirer's
    // folder and the file), so an acquirer's file of the same name every day is a new report.
    file.name = file.key.strip_prefix("incoming/settlements/").unwrap_or(&file.key).to_string();
    let name = file.name.clone();
    let parsed = parse_settlement_file(&name, &bytes).map_err(|e| Failure::Rejected(e.to_string()))?;
    let (rows, rejected) = (parsed.rows.len(), parsed.rejects.len());
    let mut rejects = RejectsSpill::new(ctx, &file.file_id, None, &name);
    rejects.add(parsed.rejects).await?;
    rejects.finish().await?;
    if rows == 0 {
        return Err(Failure::Rejected(format!(
            "no settlement row reads ({rejected} rejected, each with its reason in rejects/{}.csv): nothing to reconcile",
            file.file_id
        )));
    }
    let named: BTreeSet<&str> = parsed.rows.iter().map(|r| r.txn_id).filter(|t| !t.is_empty()).collect();
    let mut txns = String::with_capacity(named.len() * 24);
    for t in named {
        txns.push_str(t);
        txns.push('\n');
    }
    let on = parsed.rows.iter().map(|r| r.settled_on);
    let span = on.clone().min().zip(on.max());
    let s = &parsed.stats;
    (file.lines_read, file.data_rows, file.rejected_rows, file.non_data_lines, file.records) =
        (s.lines_read, s.data_rows, s.rejected_rows, s.non_data_lines, rows as u64);
    (file.first_date, file.last_date) = dates(span);
    file.kind = "settlement".into();
    file.layout = Some(acquirer.to_string());
    let bucket = &ctx.resources.artifacts_bucket;
    objects::put(&ctx.clients.s3, bucket, &txns_key(&file.file_id), txns.into_bytes()).await?;
    objects::put(&ctx.clients.s3, bucket, &report_key(&file.file_id), bytes).await?;
    Ok(())
}
