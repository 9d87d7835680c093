//! HTTPS pulls: a day's statement at the connector's URL template, with the bank API key from
//! Secrets Manager (`x-api-key`), streamed into a multipart upload as it arrives (a large
//! statement never sits in memory). 404 is "no file for that day"; another error status, a cut
//! or a stall is a failure the run retries. A file is remembered by its ETag (or, without one,
//! its length and a hash of its bytes); one already taken is not read past its headers when the
//! bank sends an ETag.

use crate::error::ConnectorError;
use settlepaisa_aws::s3::PartWriter;
use settlepaisa_connector::config::ConnectorConfig;
use settlepaisa_connector::remote::{fnv1a, with_date, RemoteFile, FNV_START};
use settlepaisa_outbound::{Client, StatusCode};
use settlepaisa_recon::date::Date;
use std::collections::HashSet;
use std::time::Duration;

/// Parts of the streamed upload (S3's minimum is 5 MiB).
const PART_BYTES: usize = 8 << 20;

/// The URL of `day`'s statement.
pub fn url(cfg: &ConnectorConfig, day: Date) -> String {
    let scheme = if cfg.tls { "https" } else { "http" };
    format!("{scheme}://{}:{}{}", cfg.host, cfg.port(), with_date(cfg.url_template.as_deref().unwrap_or("/"), day))
}

/// The stored name of `day`'s statement at `url`: the day leads it, so a template whose last
/// segment is the same every day (`/statements/{date}/statement.csv`, `?date={date}`) does not
/// make one key of every day.
pub fn name_of(url: &str, day: Date) -> String {
    let last = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default();
    let last = if last.is_empty() { "statement" } else { last };
    let compact = day.to_string().replace('-', "");
    if last.contains(&compact) || last.contains(&day.to_string()) {
        last.to_string()
    } else {
        format!("{compact}_{last}")
    }
}

/// What one day's GET came to.
pub enum Fetched {
    /// 404: the bank has none for that day.
    None,
    /// Already taken (its ETag is known): not read.
    Known,
    /// Written to `key`, complete.
    Taken { file: RemoteFile, key: String },
}

/// GETs `day`'s statement and, when it is new, streams it into `incoming/{folder}/…`; the upload
/// completes only when the body ended whole (and, when the bank gave one, at its
/// Content-Length).
#[allow(clippy::too_many_arguments)]
pub async fn fetch(
    client: &Client,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    cfg: &ConnectorConfig,
    api_key: &str,
    day: Date,
    timeout: Duration,
    taken: &HashSet<String>,
) -> Result<Fetched, ConnectorError> {
    let url = url(cfg, day);
    let name = name_of(&url, day);
    let key = settlepaisa_connector::remote::s3_key(
        folder,
        &RemoteFile { name: name.clone(), size: 0, modified: None, etag: None },
    );
    let writer = tokio::sync::Mutex::new(Some(PartWriter::new(s3, bucket, &key)));
    let held: tokio::sync::Mutex<Vec<u8>> = tokio::sync::Mutex::new(Vec::new());
    let hash = std::sync::Mutex::new(FNV_START);
    // The ETag is known once the headers are in; until then nothing is written.
    let headers = [("x-api-key", api_key), ("accept", "text/csv, */*")];
    let streamed = client
        .get_streaming(&url, &headers, timeout, |piece: settlepaisa_outbound::Bytes| {
            let (writer, held, hash) = (&writer, &held, &hash);
            async move {
                if let Ok(mut h) = hash.lock() {
                    *h = fnv1a(*h, &piece);
                }
                let mut buf = held.lock().await;
                buf.extend_from_slice(&piece);
                if buf.len() >= 2 * PART_BYTES {
                    // Keep at least one part back: the last goes with `finish`, whatever its size.
                    let part: Vec<u8> = buf.drain(..PART_BYTES).collect();
                    let mut w = writer.lock().await;
                    w.as_mut().expect("the writer is there until finish").part(part).await?;
                }
                Ok::<(), ConnectorError>(())
            }
        })
        .await
        .map_err(|e| ConnectorError::Remote(e.to_string()))?;
    let streamed = streamed?;
    if streamed.status == StatusCode::NOT_FOUND {
        return Ok(Fetched::None);
    }
    if !streamed.status.is_success() {
        return Err(ConnectorError::Remote(format!("GET {url}: {}", streamed.status)));
    }
    let header = |h: &str| streamed.headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(length) = header("content-length").and_then(|l| l.parse::<u64>().ok()) {
        if length != streamed.bytes {
            return Err(ConnectorError::Remote(format!(
                "GET {url}: {} bytes of the {length} announced",
                streamed.bytes
            )));
        }
    }
    let hash = hash.lock().map(|h| *h).unwrap_or(0);
    let etag = header("etag").unwrap_or_else(|| format!("len:{}:{hash:016x}", streamed.bytes));
    let file = RemoteFile { name, size: streamed.bytes, modified: None, etag: Some(etag) };
    if taken.contains(&file.fingerprint()) {
        // Read to its end and not completed: nothing is written.
        return Ok(Fetched::Known);
    }
    let last = std::mem::take(&mut *held.lock().await);
    let w = writer.lock().await.take().expect("the writer is there until finish");
    w.finish(last).await?;
    Ok(Fetched::Taken { file, key })
}
