//! HTTPS pulls: a day's statement at the connector's URL template, with the bank API key from
//! Secrets Manager (`x-api-key`). 404 is "no file for that day"; another error status, a cut or a
//! timeout is a failure the run retries.

use crate::error::ConnectorError;
use settlepaisa_connector::config::ConnectorConfig;
use settlepaisa_connector::remote::{with_date, RemoteFile};
use settlepaisa_outbound::{Client, Method, StatusCode};
use settlepaisa_recon::date::Date;
use std::time::Duration;

/// A statement larger than this is refused (read whole before it goes to S3).
pub const MAX_BYTES: usize = 512 << 20;

/// The URL of `day`'s statement.
pub fn url(cfg: &ConnectorConfig, day: Date) -> String {
    let scheme = if cfg.tls { "https" } else { "http" };
    format!("{scheme}://{}:{}{}", cfg.host, cfg.port(), with_date(cfg.url_template.as_deref().unwrap_or("/"), day))
}

/// The day's file and its bytes, or `None` when the bank has none (404).
pub async fn fetch(
    client: &Client,
    cfg: &ConnectorConfig,
    api_key: &str,
    day: Date,
    timeout: Duration,
) -> Result<Option<(RemoteFile, Vec<u8>)>, ConnectorError> {
    let url = url(cfg, day);
    let res = client
        .send(Method::GET, &url, &[("x-api-key", api_key), ("accept", "text/csv, */*")], Vec::new(), timeout, MAX_BYTES)
        .await
        .map_err(|e| ConnectorError::Remote(e.to_string()))?;
    if res.status == StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !res.status.is_success() {
        return Err(ConnectorError::Remote(format!("GET {url}: {}", res.status)));
    }
    // The day leads the name: a template whose last segment is the same every day
    // (`/statements/{date}/statement.csv`, `?date={date}`) must not make one key of every day.
    let last = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default();
    let last = if last.is_empty() { "statement" } else { last };
    let compact = day.to_string().replace('-', "");
    let name = if last.contains(&compact) || last.contains(&day.to_string()) {
        last.to_string()
    } else {
        format!("{compact}_{last}")
    };
    let etag = res.headers.get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
    // Without an ETag, the content names the version.
    let etag = etag.or_else(|| Some(format!("len:{}:{:016x}", res.body.len(), fnv(&res.body))));
    let file = RemoteFile { name, size: res.body.len() as u64, modified: None, etag };
    Ok(Some((file, res.body.to_vec())))
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}
