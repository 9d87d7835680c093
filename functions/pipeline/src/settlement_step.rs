//! Acquirer settlement reports in a sharded job (issue 11 §2). Ingestion keeps each report's bytes
//! (`normalized/{file_id}/settlement.csv`) and the transactions its rows name
//! (`…/settlement-txns.txt`). A UTR shard sends the residual shard the records it placed that a
//! row names, each with its own credit (`work/{job}/closed/{shard}.tsv` and `.own`); the residual
//! shard runs the settlement step over everything left open with those as context
//! ([`reconcile_residual`]) and writes the settlement outcome beside the job's results
//! (`results/{job}/settlements.csv`, `settlement_exceptions.csv`, `settlement_rejects.csv`,
//! `settlement_summary.json`, and for the API `settlements.jsonl`, `settlement_checks.jsonl`).

use crate::error::PipelineError;
use crate::job::{self, Job, JobFile};
use crate::Context;
use settlepaisa_aws::s3 as objects;
use settlepaisa_recon::date::Date;
use settlepaisa_recon::engine::{reconcile_residual, ClosedRecords, ShardOutcome};
use settlepaisa_recon::settlement::report::{
    line_check_views, settlement_views, write_settlement_exceptions, write_settlements, SettlementTotals,
};
use settlepaisa_recon::settlement::report_file::parse_settlement_file;
use settlepaisa_recon::settlement::{FeeSchedule, SettlementRecon};
use settlepaisa_recon::shard::{decode, encode_bank, encode_pg};
use settlepaisa_recon::{BankRow, PgTxn, Reconciliation};
use std::collections::HashSet;

pub fn report_key(file_id: &str) -> String {
    format!("normalized/{file_id}/settlement.csv")
}

pub fn txns_key(file_id: &str) -> String {
    format!("normalized/{file_id}/settlement-txns.txt")
}

fn closed_key(job_id: &str, shard: &str, ext: &str) -> String {
    format!("work/{job_id}/closed/{shard}.{ext}")
}

/// Where ops keep the contracted acquirer rates, in the artifacts bucket: the same TOML as
/// `settlepaisa recon --fees` (`gst_bps`, `[mdr_bps]` keyed `UPI`, `CARD`, `NETBANKING`, `WALLET`).
pub const FEES_KEY: &str = "config/settlement-fees.toml";

/// The rates a job about to be planned is held to: the fees object, or the defaults when there
/// is none. `Ok(Err(why))` when the object is there but wrong — the job fails with that, rather
/// than prove settlements against rates nobody contracted.
pub async fn contracted_rates(ctx: &Context) -> Result<Result<FeeSchedule, String>, PipelineError> {
    match objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, FEES_KEY).await {
        Ok(bytes) => Ok(String::from_utf8(bytes)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(|text| FeeSchedule::from_toml(&text).map_err(|e| e.to_string()))
            .map_err(|e| format!("{FEES_KEY}: {e}; fix the rates and plan the job again"))),
        Err(e) if objects::is_missing(&e) => Ok(Ok(FeeSchedule::default())),
        Err(e) => Err(e.into()),
    }
}

/// The job's settlement reports, by name.
pub fn reports(job: &Job) -> Vec<&JobFile> {
    job.files.iter().filter(|f| f.kind == "settlement").collect()
}

async fn text(ctx: &Context, key: &str) -> Result<String, PipelineError> {
    let bytes = objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key).await?;
    String::from_utf8(bytes).map_err(|_| PipelineError::Data { key: key.into(), message: "not UTF-8".into() })
}

/// After a UTR shard of a job with settlement reports: the records it placed that a report's row
/// names, for the residual shard (both objects written, empty or not).
pub async fn write_closed(ctx: &Context, job: &Job, shard: &str, out: &ShardOutcome<'_>) -> Result<(), PipelineError> {
    let mut lists = Vec::new();
    for f in reports(job) {
        lists.push(text(ctx, &txns_key(&f.file_id)).await?);
    }
    let named: HashSet<&str> = lists.iter().flat_map(|l| l.lines()).filter(|l| !l.is_empty()).collect();
    let closed = out.closed_named(&|t| named.contains(t));
    let (mut records, mut own) = (Vec::new(), String::new());
    let mut credits = HashSet::new();
    for (p, credit) in closed {
        let t = &out.settled.pg[p as usize];
        encode_pg(t, &mut records);
        own.push_str(t.txn_id);
        if let Some(b) = credit {
            let b = &out.settled.bank[b as usize];
            own.push_str(&format!("\t{}\t{}", b.file, b.line));
            if credits.insert((b.file, b.line)) {
                encode_bank(b, &mut records);
            }
        }
        own.push('\n');
    }
    let bucket = &ctx.resources.artifacts_bucket;
    objects::put(&ctx.clients.s3, bucket, &closed_key(&job.job_id, shard, "tsv"), records).await?;
    objects::put(&ctx.clients.s3, bucket, &closed_key(&job.job_id, shard, "own"), own.into_bytes()).await?;
    Ok(())
}

/// What the residual shard reads beyond its usual records: every UTR shard's closed records and
/// the reports' bytes.
pub struct Inputs {
    closed: Vec<(String, String)>,
    own: Vec<String>,
    reports: Vec<(String, String)>,
}

pub async fn read_inputs(ctx: &Context, job: &Job) -> Result<Inputs, PipelineError> {
    let mut inputs = Inputs { closed: Vec::new(), own: Vec::new(), reports: Vec::new() };
    for i in 0..job.shards {
        let shard = job::shard_name(Some(i));
        let key = closed_key(&job.job_id, &shard, "tsv");
        let missing = |e: PipelineError| match e {
            PipelineError::Aws(a) if objects::is_missing(&a) => PipelineError::Data {
                key: key.clone(),
                message: "a UTR shard left no closed records: it ran without the settlement step; plan the job again"
                    .into(),
            },
            other => other,
        };
        inputs.closed.push((key.clone(), text(ctx, &key).await.map_err(missing)?));
        inputs.own.push(text(ctx, &closed_key(&job.job_id, &shard, "own")).await.map_err(missing)?);
    }
    for f in reports(job) {
        inputs.reports.push((f.name.clone(), text(ctx, &report_key(&f.file_id)).await?));
    }
    Ok(inputs)
}

/// What the residual shard's settlement step works on: its open records (in the job's range),
/// the closed ones the UTR shards placed, and the reports' rows.
pub struct Prepared<'a> {
    pg: Vec<PgTxn<'a>>,
    bank: Vec<BankRow<'a>>,
    closed: ClosedRecords<'a>,
    rows: Vec<settlepaisa_recon::settlement::SettlementRow<'a>>,
}

/// How far before a report's settlement date its rows' transactions may have been captured,
/// looked up outside the job's range.
pub const SETTLEMENT_LOOKBACK_DAYS: i32 = 7;

impl<'a> Prepared<'a> {
    /// The ids the job holds: captured in its range (open or closed).
    pub fn held(&self) -> HashSet<&'a str> {
        self.pg.iter().filter(|t| t.is_captured()).map(|t| t.txn_id).collect()
    }

    /// The transactions rows name that the job does not hold, and the capture days they may be
    /// of: from [`SETTLEMENT_LOOKBACK_DAYS`] before the earliest settlement to the latest.
    pub fn not_held(&self, held: &HashSet<&'a str>) -> (HashSet<&'a str>, Option<(Date, Date)>) {
        let ids: HashSet<&str> = self
            .rows
            .iter()
            .filter(|r| r.kind.names_a_transaction() && !r.txn_id.is_empty() && !held.contains(r.txn_id))
            .map(|r| r.txn_id)
            .collect();
        let first = self.rows.iter().map(|r| r.settled_on).min();
        let last = self.rows.iter().map(|r| r.settled_on).max();
        (ids, first.zip(last).map(|(f, l)| (f.add_days(-SETTLEMENT_LOOKBACK_DAYS), l)))
    }
}

pub fn prepare<'a>(
    mut pg: Vec<PgTxn<'a>>,
    mut bank: Vec<BankRow<'a>>,
    inputs: &'a Inputs,
) -> Result<Prepared<'a>, PipelineError> {
    let mut closed = ClosedRecords::default();
    for (key, records) in &inputs.closed {
        let (p, b) = decode(records).map_err(|e| PipelineError::Data { key: key.clone(), message: e.to_string() })?;
        pg.extend(p);
        bank.extend(b);
    }
    for own in &inputs.own {
        for line in own.lines().filter(|l| !l.is_empty()) {
            let mut f = line.split('\t');
            let txn = f.next().unwrap_or_default();
            let credit = match (f.next(), f.next().and_then(|l| l.parse::<u32>().ok())) {
                (Some(file), Some(line)) => Some((file, line)),
                _ => None,
            };
            closed.pg.insert(txn, credit);
        }
    }
    let mut rows = Vec::new();
    for (name, text) in &inputs.reports {
        let file = parse_settlement_file(name, text.as_bytes())
            .map_err(|e| PipelineError::Data { key: name.clone(), message: e.to_string() })?;
        rows.extend(file.rows);
    }
    Ok(Prepared { pg, bank, closed, rows })
}

/// Of `ids`, those the PG exported on a capture day of `days` outside the job's range: the
/// ingestion's claim sets (`claims/incoming/{day}/gNN.tsv`, every exported id of a day and id
/// group), only the groups of the ids, each read and dropped in turn keeping only the hits.
pub async fn exported_elsewhere(
    ctx: &Context,
    job: &Job,
    ids: &HashSet<&str>,
    days: Option<(Date, Date)>,
) -> Result<HashSet<String>, PipelineError> {
    use futures_util::{stream, StreamExt, TryStreamExt};
    let (Some((first, last)), false) = (days, ids.is_empty()) else { return Ok(HashSet::new()) };
    let (from, to) = (Date::parse_iso(&job.from), Date::parse_iso(&job.to));
    let outside = |d: &Date| from.is_none_or(|f| *d < f) || to.is_none_or(|t| *d > t);
    let groups: std::collections::BTreeSet<u32> =
        ids.iter().map(|id| settlepaisa_store::txn_pages::group_of(id)).collect();
    let keys: Vec<String> = (0..=first.days_until(last))
        .map(|i| first.add_days(i))
        .filter(outside)
        .flat_map(|d| {
            groups.iter().map(move |g| settlepaisa_store::txn_pages::claim_set_key("incoming", &d.to_string(), *g))
        })
        .collect();
    let (s3, bucket) = (&ctx.clients.s3, ctx.resources.artifacts_bucket.as_str());
    stream::iter(keys)
        .map(|key| async move {
            match objects::get_bytes(s3, bucket, &key).await {
                Ok(bytes) => Ok(bytes),
                // No export of that day and group.
                Err(e) if objects::is_missing(&e) => Ok(Vec::new()),
                Err(e) => Err(PipelineError::from(e)),
            }
        })
        .buffer_unordered(8)
        .try_fold(HashSet::new(), |mut found, bytes| async move {
            for line in bytes.split(|&b| b == b'\n') {
                let id = line.split(|&b| b == b'\t').next().and_then(|id| std::str::from_utf8(id).ok());
                if let Some(id) = id.filter(|id| ids.contains(id)) {
                    found.insert(id.to_string());
                }
            }
            Ok(found)
        })
        .await
}

/// The residual shard's reconciliation with the settlement step; `exported_elsewhere` are the
/// ids rows name that another capture day's job holds.
pub fn reconcile<'a>(
    prepared: Prepared<'a>,
    exported_elsewhere: HashSet<String>,
    fees: &FeeSchedule,
    cfg: &settlepaisa_recon::config::MatchConfig,
) -> (Reconciliation<'a>, SettlementRecon<'a>) {
    let Prepared { pg, bank, mut closed, rows } = prepared;
    closed.exported_elsewhere = exported_elsewhere;
    reconcile_residual(pg, bank, &closed, rows, fees, cfg)
}

/// The settlement outcome beside the job's results, as `settlepaisa recon` writes it.
pub async fn write_outcome(
    ctx: &Context,
    job: &Job,
    rec: &Reconciliation<'_>,
    settled: &SettlementRecon<'_>,
) -> Result<(), PipelineError> {
    let bad = |e: std::io::Error| PipelineError::Data { key: job.job_id.clone(), message: e.to_string() };
    let mut settlements = Vec::new();
    write_settlements(settled, &rec.bank, &mut settlements).map_err(bad)?;
    let mut exceptions = Vec::new();
    write_settlement_exceptions(settled, &mut exceptions).map_err(bad)?;
    let mut rejects = Vec::new();
    let mut by_file: Vec<(&str, Vec<settlepaisa_recon::reject::Reject>)> = Vec::new();
    for (file, r) in &settled.rejects {
        match by_file.last_mut() {
            Some((f, rs)) if f == file => rs.push(r.clone()),
            _ => by_file.push((file, vec![r.clone()])),
        }
    }
    settlepaisa_recon::report::write_rejects(by_file.iter().map(|(f, r)| (*f, r.as_slice())), &mut rejects)
        .map_err(bad)?;
    // For the API: one JSON object a line, read and filtered a page at a time.
    let mut settlement_lines = Vec::new();
    for v in settlement_views(settled, &rec.bank) {
        serde_json::to_writer(&mut settlement_lines, &v).map_err(|e| bad(e.into()))?;
        settlement_lines.push(b'\n');
    }
    let mut check_lines = Vec::new();
    for v in line_check_views(settled) {
        serde_json::to_writer(&mut check_lines, &v).map_err(|e| bad(e.into()))?;
        check_lines.push(b'\n');
    }
    let totals = SettlementTotals::of(settled)
        .map_err(|_| PipelineError::Data { key: job.job_id.clone(), message: "settlement totals overflow".into() })?;
    let summary = serde_json::to_vec(&totals).unwrap_or_default();
    let bucket = &ctx.resources.artifacts_bucket;
    for (name, body) in [
        ("settlements.csv", settlements),
        ("settlement_exceptions.csv", exceptions),
        ("settlement_rejects.csv", rejects),
        ("settlement_summary.json", summary),
        ("settlements.jsonl", settlement_lines),
        ("settlement_checks.jsonl", check_lines),
    ] {
        objects::put(&ctx.clients.s3, bucket, &format!("results/{}/{name}", job.job_id), body).await?;
    }
    Ok(())
}
