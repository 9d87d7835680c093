//! One connector's run: read its secret, list the bank's side, take each new file once, push the
//! payout files the bank has not had. Every remote step is tried up to
//! [`settlepaisa_connector::backoff::ATTEMPTS`] times with full-jitter backoff (an SFTP connection
//! that failed is opened again), and nothing starts past the run's deadline (the function's
//! timeout, less a margin to record the outcome). A file is recorded as taken only after its
//! object in the uploads bucket is complete and its byte count is the listing's: a cut mid-file
//! leaves nothing visible (the multipart upload is abandoned) and the file is fetched again,
//! whole, on the retry or the next run.
//!
//! What fails: the **endpoint** (secret, connect, login, host key, listing, the deadline, or every
//! file attempted) fails the run, and the breaker counts it; a **file** that failed every attempt
//! while others came is reported and fetched again next run, and the breaker does not count it
//! (one bad file must not stop the bank's other statements for a cool-down).

use crate::error::ConnectorError;
use crate::secret::{self, ConnectorSecret};
use crate::sftp::Sftp;
use settlepaisa_aws::s3::PartWriter;
use settlepaisa_connector::backoff::{Backoff, ATTEMPTS};
use settlepaisa_connector::config::{ConnectorConfig, Kind};
use settlepaisa_connector::remote::{s3_key, to_take, RemoteFile};
use settlepaisa_recon::date::{ist_date, Date};
use settlepaisa_store::{connectors, Context};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Parts of a streamed upload (S3's minimum is 5 MiB).
const PART_BYTES: usize = 8 << 20;

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    /// S3 keys of the files taken.
    pub taken: Vec<String>,
    /// S3 keys of the payout files pushed.
    pub pushed: Vec<String>,
    /// Attempts that failed and were tried again.
    pub retries: u32,
    /// Why the run failed (the endpoint: the breaker counts it), if it did.
    pub error: Option<String>,
    /// Files or pushes that failed every attempt while the endpoint worked (not counted).
    pub file_errors: Vec<String>,
}

/// Runs `step` until it succeeds, at most `ATTEMPTS` times, waiting between tries; no attempt
/// starts, and none runs, past `deadline`.
async fn retried<T, F, Fut>(
    backoff: Backoff,
    deadline: Instant,
    what: &str,
    retries: &mut u32,
    mut step: F,
) -> Result<T, ConnectorError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ConnectorError>>,
{
    let mut attempt = 0;
    loop {
        if Instant::now() >= deadline {
            return Err(ConnectorError::Deadline(what.to_string()));
        }
        let result = tokio::time::timeout_at(deadline, step())
            .await
            .unwrap_or_else(|_| Err(ConnectorError::Deadline(what.to_string())));
        match result {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable() && attempt + 1 < ATTEMPTS => {
                let wait = backoff.delay(attempt, fastrand::f64());
                tracing::warn!(what, attempt, error = %e, wait_ms = wait.as_millis() as u64, "connector step failed; retrying");
                *retries += 1;
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The longest a `{date}` window reaches back, whatever happened before.
const MAX_WINDOW_DAYS: i32 = 7;

/// The days `{date}` stands for: today (IST) and the configured days before it — and back to
/// the last successful run's day (at most a week), so files published while the bank or we were
/// down are still taken.
pub fn days(cfg: &ConnectorConfig, now: i64, last_success: Option<i64>) -> Vec<Date> {
    let today = ist_date(now);
    let configured = cfg.lookback_days() as i32;
    let since_success = last_success.map_or(0, |t| ist_date(t).days_until(today) + 1);
    let n = configured.max(since_success).clamp(1, MAX_WINDOW_DAYS);
    (0..n).map(|i| today.add_days(-i)).collect()
}

/// What a run works from.
pub struct RunContext<'a> {
    pub ctx: &'a Context,
    pub bank: &'a str,
    pub cfg: &'a ConnectorConfig,
    pub now: i64,
    pub last_success: Option<i64>,
    /// Nothing starts after it.
    pub deadline: Instant,
}

pub async fn run(rc: &RunContext<'_>) -> RunOutcome {
    let mut out = RunOutcome::default();
    if let Err(e) = run_inner(rc, &mut out).await {
        out.error = Some(e.to_string());
    }
    out
}

async fn run_inner(rc: &RunContext<'_>, out: &mut RunOutcome) -> Result<(), ConnectorError> {
    let secret = secret::read(&rc.ctx.clients, &rc.cfg.secret_name).await?;
    match rc.cfg.kind {
        Kind::Sftp => run_sftp(rc, &secret, out).await,
        Kind::Https => run_https(rc, &secret, out).await,
    }
}

fn settings(ctx: &Context) -> (Backoff, Duration) {
    (Backoff { base_ms: ctx.connectors.backoff_base_ms }, Duration::from_secs(ctx.connectors.timeout_secs))
}

async fn run_sftp(rc: &RunContext<'_>, secret: &ConnectorSecret, out: &mut RunOutcome) -> Result<(), ConnectorError> {
    let (ctx, bank, cfg, now, deadline) = (rc.ctx, rc.bank, rc.cfg, rc.now, rc.deadline);
    let (backoff, timeout) = settings(ctx);
    let table = &ctx.resources.bank_connectors_table;
    let db = &ctx.clients.dynamodb;
    let dir = cfg.remote_dir.clone().unwrap_or_default();
    // One connection, opened again after any failure.
    let conn: Conn = tokio::sync::Mutex::new(None);
    let open = || session(&conn, cfg, secret, timeout);
    let mut retries = 0;
    let listing = retried(backoff, deadline, "list", &mut retries, || async {
        let guard = open().await?;
        let r = guard.as_ref().expect("opened").list(&dir).await;
        drop(guard);
        if r.is_err() {
            *conn.lock().await = None;
        }
        r
    })
    .await?;
    let taken = connectors::taken(db, table, bank).await?;
    let days = days(cfg, now, rc.last_success);
    let pattern = cfg.file_pattern.as_deref().unwrap_or("*");
    let new = to_take(&listing, pattern, &days, &taken, now, ctx.connectors.settle_secs);
    let attempted = new.len();
    let mut failed: Vec<String> = Vec::new();
    for file in new {
        let key = s3_key(cfg.folder(bank), file);
        let path = format!("{}/{}", dir.trim_end_matches('/'), file.name);
        let fetched = retried(backoff, deadline, "fetch", &mut retries, || async {
            let guard = open().await?;
            let r = fetch_to_s3(ctx, guard.as_ref().expect("opened"), &path, file, &key).await;
            drop(guard);
            if r.is_err() {
                *conn.lock().await = None;
            }
            r
        })
        .await;
        match fetched {
            Ok(()) => {
                connectors::record_taken(db, table, bank, file, &key, now).await?;
                tracing::info!(bank, key, size = file.size, "bank file taken");
                out.taken.push(key);
            }
            Err(e @ ConnectorError::Deadline(_)) => {
                out.retries += retries;
                out.file_errors = failed;
                return Err(e);
            }
            Err(e) => failed.push(format!("{}: {e}", file.name)),
        }
    }
    if attempted > 0 && out.taken.is_empty() {
        // Not one file came: the endpoint, not a file, is the trouble.
        out.retries += retries;
        return Err(ConnectorError::Remote(failed.join("; ")));
    }
    if let Some(payout_dir) = &cfg.payout_dir {
        let link = Link { conn: &conn, cfg, secret, timeout };
        push_payouts(rc, payout_dir, backoff, &mut retries, &link, out, &mut failed).await?;
    }
    out.retries += retries;
    out.file_errors = failed;
    Ok(())
}

/// Streams one file into a multipart upload; completes it only when every listed byte came.
async fn fetch_to_s3(
    ctx: &Context,
    sftp: &Sftp,
    path: &str,
    file: &RemoteFile,
    key: &str,
) -> Result<(), ConnectorError> {
    let bucket = &ctx.resources.uploads_bucket;
    let writer = tokio::sync::Mutex::new(PartWriter::new(&ctx.clients.s3, bucket, key));
    let mut pending: Option<Vec<u8>> = None;
    let pending_ref = &mut pending;
    let read = sftp
        .fetch(path, PART_BYTES, |chunk| {
            // Hold one chunk back: the last goes with `finish`, whatever its size.
            let previous = pending_ref.replace(chunk);
            let writer = &writer;
            async move {
                if let Some(p) = previous {
                    writer.lock().await.part(p).await?;
                }
                Ok(())
            }
        })
        .await?;
    // A listing without sizes (size 0) trusts the stream's end.
    if read != file.size && !(file.size == 0 && read > 0) {
        // The file changed (or the stream ended early): nothing is completed, so nothing shows.
        return Err(ConnectorError::Remote(format!("{path}: read {read} bytes of the {} listed", file.size)));
    }
    writer.into_inner().finish(pending.unwrap_or_default()).await?;
    Ok(())
}

type Conn = tokio::sync::Mutex<Option<Sftp>>;

/// The run's SFTP connection, opened if it is not.
async fn session<'a>(
    conn: &'a Conn,
    cfg: &ConnectorConfig,
    secret: &ConnectorSecret,
    timeout: Duration,
) -> Result<tokio::sync::MutexGuard<'a, Option<Sftp>>, ConnectorError> {
    let mut guard = conn.lock().await;
    if guard.is_none() {
        *guard = Some(Sftp::connect(cfg, secret, timeout).await?);
    }
    Ok(guard)
}

/// What opens the connection again.
struct Link<'a> {
    conn: &'a Conn,
    cfg: &'a ConnectorConfig,
    secret: &'a ConnectorSecret,
    timeout: Duration,
}

/// Pushes the payout files of `payoutsSince` and later that the bank has not had. Each push is
/// recorded as begun before its first byte and as done after the rename: a push begun and never
/// recorded done (the function stopped between) is finished only if the bank has the whole file
/// in place, and otherwise reported for ops — never pushed again blind, which could pay twice.
async fn push_payouts(
    rc: &RunContext<'_>,
    payout_dir: &str,
    backoff: Backoff,
    retries: &mut u32,
    link: &Link<'_>,
    out: &mut RunOutcome,
    failed: &mut Vec<String>,
) -> Result<(), ConnectorError> {
    let (ctx, bank, now) = (rc.ctx, rc.bank, rc.now);
    let conn = link.conn;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let artifacts = &ctx.resources.artifacts_bucket;
    let prefix = format!("outgoing/payouts/{bank}/");
    let since = rc.cfg.payouts_since.clone().unwrap_or_default();
    let recorded = connectors::payouts(db, table, bank).await?;
    for key in settlepaisa_aws::s3::list(&ctx.clients.s3, artifacts, &prefix).await? {
        // `outgoing/payouts/{bank}/{date}/payouts-{run}.csv` → `{date}_payouts-{run}.csv`.
        let rest = &key[prefix.len()..];
        let date = rest.split('/').next().unwrap_or_default();
        if !key.ends_with(".csv") || date < since.as_str() || recorded.get(&key) == Some(&true) {
            continue;
        }
        let name = rest.replace('/', "_");
        let remote_path = format!("{}/{name}", payout_dir.trim_end_matches('/'));
        let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, artifacts, &key).await?;
        if recorded.get(&key) == Some(&false) {
            // Begun before and never recorded done: finish only what the bank visibly has.
            let there = retried(backoff, rc.deadline, "check a push", retries, || async {
                let guard = session(conn, link.cfg, link.secret, link.timeout).await?;
                let r = guard.as_ref().expect("opened").size_of(&remote_path).await;
                drop(guard);
                if r.is_err() {
                    *conn.lock().await = None;
                }
                r
            })
            .await?;
            if there == Some(bytes.len() as u64) {
                let audit = pushed_audit(rc, &key, "found whole at the bank after an unfinished push");
                connectors::finish_push(db, table, bank, &key, now, audit).await?;
                out.pushed.push(key);
            } else {
                failed.push(format!(
                    "payout {key}: a push began and was not recorded done, and the bank does not show the file in \
                     {payout_dir}; ask the bank whether it had it before pushing it again"
                ));
            }
            continue;
        }
        connectors::begin_push(db, table, bank, &key, &remote_path, now).await?;
        let result = retried(backoff, rc.deadline, "push", retries, || async {
            let guard = session(conn, link.cfg, link.secret, link.timeout).await?;
            let r = guard.as_ref().expect("opened").push(payout_dir, &name, &bytes).await;
            drop(guard);
            if r.is_err() {
                *conn.lock().await = None;
            }
            r
        })
        .await;
        match result {
            Ok(remote_path) => {
                let audit = pushed_audit(rc, &key, &format!("pushed to {remote_path}"));
                connectors::finish_push(db, table, bank, &key, now, audit).await?;
                tracing::info!(bank, key, remote_path, "payout file pushed");
                out.pushed.push(key);
            }
            Err(e @ ConnectorError::Deadline(_)) => return Err(e),
            Err(e) => failed.push(format!("push {name}: {e}")),
        }
    }
    Ok(())
}

async fn run_https(rc: &RunContext<'_>, secret: &ConnectorSecret, out: &mut RunOutcome) -> Result<(), ConnectorError> {
    let (ctx, bank, cfg, now) = (rc.ctx, rc.bank, rc.cfg, rc.now);
    let (backoff, timeout) = settings(ctx);
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let api_key = secret.api_key.as_deref().ok_or_else(|| ConnectorError::Config("the secret has no apiKey".into()))?;
    let client = settlepaisa_outbound::Client::new().map_err(|e| ConnectorError::Config(e.to_string()))?;
    let taken = connectors::taken(db, table, bank).await?;
    let mut retries = 0;
    let mut failed = Vec::new();
    // Oldest day first, as a bank publishes them.
    let days = days(cfg, now, rc.last_success);
    let folder = cfg.folder(bank);
    let (s3, bucket) = (&ctx.clients.s3, &ctx.resources.uploads_bucket);
    let mut answered = 0;
    for day in days.iter().rev().copied() {
        let got = retried(backoff, rc.deadline, "get", &mut retries, || {
            crate::https::fetch(&client, s3, bucket, folder, cfg, api_key, day, timeout, &taken)
        })
        .await;
        match got {
            Ok(crate::https::Fetched::None | crate::https::Fetched::Known) => answered += 1,
            Ok(crate::https::Fetched::Taken { file, key }) => {
                answered += 1;
                connectors::record_taken(db, table, bank, &file, &key, now).await?;
                tracing::info!(bank, key, size = file.size, "bank file taken");
                out.taken.push(key);
            }
            Err(e @ ConnectorError::Deadline(_)) => return Err(e),
            Err(e) => failed.push(format!("{day}: {e}")),
        }
    }
    out.retries += retries;
    if answered == 0 {
        // Not one day answered: the endpoint is down.
        return Err(ConnectorError::Remote(failed.join("; ")));
    }
    out.file_errors = failed;
    Ok(())
}

/// A payout file's push recorded done: money instructions reached the bank.
fn pushed_audit<'c>(rc: &RunContext<'c>, key: &str, how: &str) -> (&'c str, settlepaisa_audit::Draft) {
    let draft = settlepaisa_store::audit::by_function(
        "pull-connectors",
        "payout.pushed",
        ("payout_file", key),
        &format!("run-{}", rc.now),
    )
    .reason(how.to_string())
    .change(serde_json::json!({ "state": "pushing" }), serde_json::json!({ "state": "pushed", "bank": rc.bank }));
    (rc.ctx.resources.audit_table.as_str(), draft)
}
