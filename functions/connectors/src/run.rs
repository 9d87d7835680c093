//! One connector's run: read its secret, list the bank's side, take each new file once, push the
//! payout files the bank has not had. Every remote step is tried up to
//! [`settlepaisa_connector::backoff::ATTEMPTS`] times with full-jitter backoff (an SFTP connection
//! that failed is opened again). A file is recorded as taken only after its object in the uploads
//! bucket is complete and its byte count is the listing's: a cut mid-file leaves nothing visible
//! (the multipart upload is abandoned) and the file is fetched again, whole, on the retry or the
//! next run. A file that failed every attempt fails the run (the breaker counts it); the others
//! are taken all the same.

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
    /// Why the run failed (some step failed every attempt), if it did.
    pub error: Option<String>,
}

/// Runs `step` until it succeeds, at most `ATTEMPTS` times, waiting between tries.
async fn retried<T, F, Fut>(backoff: Backoff, what: &str, retries: &mut u32, mut step: F) -> Result<T, ConnectorError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ConnectorError>>,
{
    let mut attempt = 0;
    loop {
        match step().await {
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

/// The days `{date}` stands for: today (IST) and the days before it.
pub fn days(cfg: &ConnectorConfig, now: i64) -> Vec<Date> {
    let today = ist_date(now);
    (0..cfg.lookback_days() as i32).map(|i| today.add_days(-i)).collect()
}

pub async fn run(ctx: &Context, bank: &str, cfg: &ConnectorConfig, now: i64) -> RunOutcome {
    let mut out = RunOutcome::default();
    if let Err(e) = run_inner(ctx, bank, cfg, now, &mut out).await {
        out.error = Some(e.to_string());
    }
    out
}

async fn run_inner(
    ctx: &Context,
    bank: &str,
    cfg: &ConnectorConfig,
    now: i64,
    out: &mut RunOutcome,
) -> Result<(), ConnectorError> {
    let secret = secret::read(&ctx.clients, &cfg.secret_name).await?;
    match cfg.kind {
        Kind::Sftp => run_sftp(ctx, bank, cfg, &secret, now, out).await,
        Kind::Https => run_https(ctx, bank, cfg, &secret, now, out).await,
    }
}

fn settings(ctx: &Context) -> (Backoff, Duration) {
    (Backoff { base_ms: ctx.connectors.backoff_base_ms }, Duration::from_secs(ctx.connectors.timeout_secs))
}

async fn run_sftp(
    ctx: &Context,
    bank: &str,
    cfg: &ConnectorConfig,
    secret: &ConnectorSecret,
    now: i64,
    out: &mut RunOutcome,
) -> Result<(), ConnectorError> {
    let (backoff, timeout) = settings(ctx);
    let table = &ctx.resources.bank_connectors_table;
    let db = &ctx.clients.dynamodb;
    let dir = cfg.remote_dir.clone().unwrap_or_default();
    // One connection, opened again after any failure.
    let conn: Conn = tokio::sync::Mutex::new(None);
    let open = || session(&conn, cfg, secret, timeout);
    let mut retries = 0;
    let listing = retried(backoff, "list", &mut retries, || async {
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
    let new = to_take(
        &listing,
        cfg.file_pattern.as_deref().unwrap_or("*"),
        &days(cfg, now),
        &taken,
        now,
        ctx.connectors.settle_secs,
    );
    let mut failed: Vec<String> = Vec::new();
    for file in new {
        let key = s3_key(cfg.folder(bank), file);
        let path = format!("{}/{}", dir.trim_end_matches('/'), file.name);
        let fetched = retried(backoff, "fetch", &mut retries, || async {
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
            Err(e) => failed.push(format!("{}: {e}", file.name)),
        }
    }
    if let Some(payout_dir) = &cfg.payout_dir {
        let link = Link { conn: &conn, cfg, secret, timeout };
        push_payouts(ctx, bank, payout_dir, backoff, &mut retries, &link, now, out, &mut failed).await?;
    }
    out.retries += retries;
    if !failed.is_empty() {
        return Err(ConnectorError::Remote(failed.join("; ")));
    }
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
    if read != file.size {
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

#[allow(clippy::too_many_arguments)]
async fn push_payouts(
    ctx: &Context,
    bank: &str,
    payout_dir: &str,
    backoff: Backoff,
    retries: &mut u32,
    link: &Link<'_>,
    now: i64,
    out: &mut RunOutcome,
    failed: &mut Vec<String>,
) -> Result<(), ConnectorError> {
    let conn = link.conn;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let artifacts = &ctx.resources.artifacts_bucket;
    let prefix = format!("outgoing/payouts/{bank}/");
    let pushed = connectors::pushed(db, table, bank).await?;
    for key in settlepaisa_aws::s3::list(&ctx.clients.s3, artifacts, &prefix).await? {
        if pushed.contains(&key) || !key.ends_with(".csv") {
            continue;
        }
        // `outgoing/payouts/{bank}/{date}/payouts-{run}.csv` → `{date}_payouts-{run}.csv`.
        let name = key[prefix.len()..].replace('/', "_");
        let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, artifacts, &key).await?;
        let result = retried(backoff, "push", retries, || async {
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
                connectors::record_pushed(db, table, bank, &key, &remote_path, now).await?;
                tracing::info!(bank, key, remote_path, "payout file pushed");
                out.pushed.push(key);
            }
            Err(e) => failed.push(format!("push {name}: {e}")),
        }
    }
    Ok(())
}

async fn run_https(
    ctx: &Context,
    bank: &str,
    cfg: &ConnectorConfig,
    secret: &ConnectorSecret,
    now: i64,
    out: &mut RunOutcome,
) -> Result<(), ConnectorError> {
    let (backoff, timeout) = settings(ctx);
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.bank_connectors_table);
    let api_key = secret.api_key.as_deref().ok_or_else(|| ConnectorError::Config("the secret has no apiKey".into()))?;
    let client = settlepaisa_outbound::Client::new().map_err(|e| ConnectorError::Config(e.to_string()))?;
    let taken = connectors::taken(db, table, bank).await?;
    let mut retries = 0;
    let mut failed = Vec::new();
    // Oldest day first, as a bank publishes them.
    for day in days(cfg, now).into_iter().rev() {
        let got =
            retried(backoff, "get", &mut retries, || crate::https::fetch(&client, cfg, api_key, day, timeout)).await;
        let (file, bytes) = match got {
            Ok(Some(found)) => found,
            Ok(None) => continue,
            Err(e) => {
                failed.push(format!("{day}: {e}"));
                continue;
            }
        };
        if taken.contains(&file.fingerprint()) {
            continue;
        }
        if !settlepaisa_connector::remote::safe_name(&file.name) {
            failed.push(format!("{day}: `{}` is not a file name to store", file.name));
            continue;
        }
        let key = s3_key(cfg.folder(bank), &file);
        settlepaisa_aws::s3::put(&ctx.clients.s3, &ctx.resources.uploads_bucket, &key, bytes).await?;
        connectors::record_taken(db, table, bank, &file, &key, now).await?;
        tracing::info!(bank, key, size = file.size, "bank file taken");
        out.taken.push(key);
    }
    out.retries += retries;
    if !failed.is_empty() {
        return Err(ConnectorError::Remote(failed.join("; ")));
    }
    Ok(())
}
