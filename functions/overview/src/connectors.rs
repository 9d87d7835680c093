//! Connector health from what ingestion recorded: per bank, the last file received, files and
//! rows rejected, and how long since the last drop (one Query on the files table's
//! `by-kind-last-date` index, `kind = bank`, last date in the range); and for a bank with a
//! configured connector (issue 14), its breaker, last run, success and error, lag and next run
//! (one Query of the bank connectors table).

use serde_json::{json, Value};
use settlepaisa_http::time_filter::DayRange;
use settlepaisa_store::file_record::bank_files;
use std::collections::BTreeMap;

/// A drop that could not be used, or whose ingestion failed on its last attempt.
fn is_failing(status: &str) -> bool {
    status == "REJECTED" || status == "FAILED"
}

/// A bank with no drop for this long is `stale`.
pub const STALE_AFTER_SECS: i64 = 36 * 3600;

/// What the health needs of one file record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drop {
    pub bank: String,
    pub name: String,
    pub status: String,
    pub received_at: i64,
    pub data_rows: u64,
    pub rejected_rows: u64,
    pub error: Option<String>,
}

pub async fn bank_drops(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    range: DayRange,
) -> Result<Vec<Drop>, settlepaisa_store::StoreError> {
    let files = bank_files(client, table, &range.from.to_string(), Some(&range.to.to_string())).await?;
    Ok(files
        .into_iter()
        .map(|f| Drop {
            bank: f.layout.unwrap_or_else(|| "UNKNOWN".into()),
            name: f.name,
            status: f.status.map(|s| s.as_str().to_string()).unwrap_or_default(),
            received_at: settlepaisa_recon::date::parse_rfc3339(&f.received_at).unwrap_or(0),
            data_rows: f.data_rows,
            rejected_rows: f.rejected_rows,
            error: f.error,
        })
        .collect())
}

/// A configured connector's pull state (issue 14), as the health shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pull {
    pub kind: String,
    pub enabled: bool,
    pub breaker: String,
    pub retry_at: Option<i64>,
    pub last_run_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub next_run_at: Option<i64>,
}

/// The configured connectors' pull states, by the folder their files go to (lowercase: a
/// statement template's name).
pub async fn pulls(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    now: i64,
) -> Result<BTreeMap<String, Pull>, settlepaisa_store::StoreError> {
    use settlepaisa_connector::breaker::Breaker;
    let all = settlepaisa_store::connectors::all(client, table).await?;
    Ok(all
        .into_iter()
        .map(|(bank, (c, s))| {
            let cfg = &c.config;
            let pull = Pull {
                kind: format!("{:?}", cfg.kind).to_lowercase(),
                enabled: cfg.enabled,
                breaker: s.breaker.name().to_string(),
                retry_at: match s.breaker {
                    Breaker::Open { retry_at, .. } => Some(retry_at),
                    _ => None,
                },
                last_run_at: s.last_run_at,
                last_success_at: s.last_success_at,
                last_error: s.last_error,
                last_error_at: s.last_error_at,
                next_run_at: cfg.enabled.then(|| cfg.schedule().next_after(now)).flatten(),
            };
            (cfg.folder(&bank).to_lowercase(), pull)
        })
        .collect())
}

fn utc(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| json!(settlepaisa_recon::date::format_utc(t)))
}

/// One entry per known bank (and any other bank seen or configured), worst first.
pub fn health(known: &[String], drops: &[Drop], pulls: &BTreeMap<String, Pull>, now: i64) -> Value {
    let mut banks: BTreeMap<String, Vec<&Drop>> = known.iter().map(|b| (b.clone(), Vec::new())).collect();
    for d in drops {
        banks.entry(d.bank.clone()).or_default().push(d);
    }
    for bank in pulls.keys() {
        if !banks.keys().any(|b| b.eq_ignore_ascii_case(bank)) {
            banks.insert(bank.clone(), Vec::new());
        }
    }
    let mut rows: Vec<(u8, Value)> = banks
        .into_iter()
        .map(|(bank, files)| {
            let last = files.iter().max_by_key(|d| (d.received_at, &d.name)).copied();
            let rejected_files = files.iter().filter(|d| is_failing(&d.status)).count();
            let rows_rejected: u64 = files.iter().map(|d| d.rejected_rows).sum();
            let rows_normalized: u64 = files.iter().map(|d| d.data_rows).sum();
            let lag = last.map(|d| (now - d.received_at).max(0));
            let pull = pulls.get(&bank.to_lowercase());
            let (rank, status) = match (last, lag) {
                // The bank's endpoint is down: its files are not coming, whatever arrived before.
                _ if pull.is_some_and(|p| p.breaker == "open") => (0, "circuit_open"),
                // Its last run failed (breaker still closed): said, not hidden by older files.
                _ if pull.is_some_and(|p| {
                    p.last_error_at.unwrap_or(i64::MIN) >= p.last_success_at.unwrap_or(i64::MIN)
                        && p.last_error_at.is_some()
                }) =>
                {
                    (3, "pull_failing")
                }
                (None, _) => (1, "no_data"),
                (Some(_), Some(l)) if l > STALE_AFTER_SECS => (2, "stale"),
                (Some(d), _) if is_failing(&d.status) => (3, "failing"),
                _ if rejected_files > 0 || rows_rejected > 0 => (4, "degraded"),
                _ => (5, "healthy"),
            };
            let value = json!({
                "connector": bank,
                "status": status,
                "lastFile": last.map(|d| json!({
                    "name": d.name,
                    "status": d.status,
                    "receivedAt": settlepaisa_recon::date::format_utc(d.received_at),
                    "error": d.error,
                })),
                "lagSeconds": lag,
                "filesReceived": files.len(),
                "filesRejected": rejected_files,
                "rowsNormalized": rows_normalized,
                "rowsRejected": rows_rejected,
                "pull": pull.map(|p| json!({
                    "kind": p.kind,
                    "enabled": p.enabled,
                    "breaker": p.breaker,
                    "retryAt": utc(p.retry_at),
                    "lastRunAt": utc(p.last_run_at),
                    "lastSuccessAt": utc(p.last_success_at),
                    "lastError": p.last_error,
                    "lastErrorAt": utc(p.last_error_at),
                    "lagSeconds": p.last_success_at.map(|t| (now - t).max(0)),
                    "nextRunAt": utc(p.next_run_at),
                })),
            });
            (rank, value)
        })
        .collect();
    rows.sort_by_key(|(rank, _)| *rank);
    Value::from(rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drop(bank: &str, status: &str, at: i64, rejected_rows: u64) -> Drop {
        Drop {
            bank: bank.into(),
            name: format!("{bank}-{at}.csv"),
            status: status.into(),
            received_at: at,
            data_rows: 10,
            rejected_rows,
            error: None,
        }
    }

    #[test]
    fn each_bank_gets_a_status_worst_first() {
        let now = 1_000_000;
        let known = ["AXIS".to_string(), "HDFC".to_string(), "ICICI".to_string(), "SBI".to_string()];
        let drops = [
            drop("HDFC", "NORMALIZED", now - 600, 0),
            drop("ICICI", "NORMALIZED", now - 900, 2),
            drop("SBI", "REJECTED", now - 60, 0),
        ];
        let v = health(&known, &drops, &BTreeMap::new(), now);
        let statuses: Vec<_> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["connector"].as_str().unwrap().to_string(), r["status"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(
            statuses,
            [("AXIS", "no_data"), ("SBI", "failing"), ("ICICI", "degraded"), ("HDFC", "healthy")]
                .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert_eq!(v[3]["lagSeconds"], 600);
        assert_eq!(v[2]["rowsRejected"], 2);
        let stale =
            health(&known[1..2], &[drop("HDFC", "NORMALIZED", now - STALE_AFTER_SECS - 1, 0)], &BTreeMap::new(), now);
        assert_eq!(stale[0]["status"], "stale");
        // A configured connector whose breaker is open is reported first, with its pull state.
        let open = Pull {
            kind: "sftp".into(),
            breaker: "open".into(),
            retry_at: Some(now + 600),
            last_success_at: Some(now - 7_200),
            ..Pull::default()
        };
        let v = health(&known, &drops, &BTreeMap::from([("hdfc".to_string(), open)]), now);
        assert_eq!(v[0]["connector"], "HDFC");
        assert_eq!(v[0]["status"], "circuit_open");
        assert_eq!(v[0]["pull"]["lagSeconds"], 7_200);
    }
}
