//! A bank connector as ops configure it (`PUT /api/connectors/{bank}`): how to reach the bank,
//! which files are ours, when to look, and the *name* of the secret that opens the door — never
//! the secret itself (the key or password lives in Secrets Manager under
//! `settlepaisa/connectors/…`, the one prefix the pull function may read).

use crate::cron::Schedule;
use serde::{Deserialize, Serialize};

/// The Secrets Manager names a connector may use (the pull function's policy allows these only).
pub const SECRET_PREFIX: &str = "settlepaisa/connectors/";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Sftp,
    Https,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectorConfig {
    pub kind: Kind,
    /// A host name or address, no scheme.
    pub host: String,
    /// Default 22 (SFTP) or 443 (HTTPS).
    #[serde(default)]
    pub port: Option<u16>,
    /// SFTP: the login.
    #[serde(default)]
    pub username: Option<String>,
    /// SFTP: the server's host key, pinned (`ssh-ed25519 AAAA…`, as in `known_hosts`): a server
    /// presenting another key is refused.
    #[serde(default)]
    pub host_key: Option<String>,
    /// SFTP: the directory the bank drops statements in.
    #[serde(default)]
    pub remote_dir: Option<String>,
    /// SFTP: which files there are ours (`*`, `?`, `{date}`, `{yyyymmdd}`).
    #[serde(default)]
    pub file_pattern: Option<String>,
    /// HTTPS: the path (and query) of a day's statement, with `{date}` or `{yyyymmdd}`.
    #[serde(default)]
    pub url_template: Option<String>,
    /// HTTPS only: `false` allows plain HTTP to a loopback host (a test server), nothing else.
    #[serde(default = "yes")]
    pub tls: bool,
    /// The Secrets Manager secret (`settlepaisa/connectors/…`): SFTP `{"privateKey": …}` (OpenSSH
    /// format) or `{"password": …}`; HTTPS `{"apiKey": …}`, sent as `x-api-key`.
    pub secret_name: String,
    /// When to look, as cron in Asia/Kolkata (`30 6,18 * * 1-5`).
    pub schedule: String,
    /// The statement layout: the `incoming/{template}/` folder files go to (default: the bank).
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// SFTP: where the bank takes payout instruction files (pushed from
    /// `outgoing/payouts/{bank}/`); none: the bank does not take them by SFTP.
    #[serde(default)]
    pub payout_dir: Option<String>,
    /// SFTP with `payoutDir`: push payout files of this date (`YYYY-MM-DD`, the file's folder) and
    /// later only — the files before it went to the bank some other way, and pushing them again
    /// could pay twice.
    #[serde(default)]
    pub payouts_since: Option<String>,
    /// How many days `{date}` covers: today and the days before (default 2, at most 7).
    #[serde(default)]
    pub lookback_days: Option<u32>,
}

impl ConnectorConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.kind {
            Kind::Sftp => 22,
            Kind::Https => 443,
        })
    }

    pub fn folder<'a>(&'a self, bank: &'a str) -> &'a str {
        self.template.as_deref().unwrap_or(bank)
    }

    pub fn lookback_days(&self) -> u32 {
        self.lookback_days.unwrap_or(2)
    }

    pub fn schedule(&self) -> Schedule {
        // Checked by `validate` before it is stored.
        Schedule::parse(&self.schedule).unwrap_or_else(|_| Schedule::parse("0 0 1 1 *").expect("a valid schedule"))
    }
}

/// A bank's id: the connector's key and its default folder.
pub fn valid_bank(bank: &str) -> bool {
    (2..=16).contains(&bank.len()) && bank.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn loopback(host: &str) -> bool {
    host == "localhost" || host == "127.0.0.1" || host == "::1"
}

fn path_ok(p: &str) -> bool {
    !p.is_empty() && p.len() <= 256 && !p.split('/').any(|s| s == "..") && !p.chars().any(char::is_control)
}

/// Checks a configuration; the error says what to fix. `folders` are the statement templates'
/// banks (a folder ingestion knows how to read).
pub fn validate(bank: &str, c: &ConnectorConfig, folders: &[String]) -> Result<(), String> {
    if !valid_bank(bank) {
        return Err(format!("bank `{bank}` is not 2–16 uppercase letters or digits"));
    }
    if c.host.is_empty()
        || c.host.len() > 253
        || !c.host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
    {
        return Err("host is a name or address: letters, digits, `.`, `-`, `:`".into());
    }
    if c.port == Some(0) {
        return Err("port is 1–65535".into());
    }
    Schedule::parse(&c.schedule)?;
    let secret_ok = c.secret_name.starts_with(SECRET_PREFIX)
        && c.secret_name.len() <= 256
        && c.secret_name[SECRET_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
        && c.secret_name.len() > SECRET_PREFIX.len();
    if !secret_ok {
        return Err(format!(
            "secretName is the name of a Secrets Manager secret under `{SECRET_PREFIX}` (the value never goes here)"
        ));
    }
    let folder = c.folder(bank);
    if !folders.iter().any(|f| f.eq_ignore_ascii_case(folder)) {
        return Err(format!("template `{folder}` is not a statement layout ingestion knows ({})", folders.join(", ")));
    }
    if c.lookback_days.is_some_and(|d| !(1..=7).contains(&d)) {
        return Err("lookbackDays is 1–7".into());
    }
    match c.kind {
        Kind::Sftp => {
            let user_ok = c.username.as_deref().is_some_and(|u| {
                (1..=64).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            });
            if !user_ok {
                return Err("sftp needs username (1–64 letters, digits, ._-)".into());
            }
            let key_ok = c.host_key.as_deref().is_some_and(|k| {
                let mut parts = k.split_whitespace();
                matches!((parts.next(), parts.next()), (Some(t), Some(b)) if t.starts_with("ssh-") || t.starts_with("ecdsa-") && !b.is_empty())
            });
            if !key_ok {
                return Err(
                    "sftp needs hostKey, the server's public key as in known_hosts (`ssh-ed25519 AAAA…`)".into()
                );
            }
            if !c.remote_dir.as_deref().is_some_and(path_ok) {
                return Err("sftp needs remoteDir, a path without `..`".into());
            }
            if !c.file_pattern.as_deref().is_some_and(|p| path_ok(p) && !p.contains('/')) {
                return Err("sftp needs filePattern, a file name glob (`*.csv`, `STMT_{yyyymmdd}.csv`)".into());
            }
            if c.payout_dir.as_deref().is_some_and(|p| !path_ok(p)) {
                return Err("payoutDir is a path without `..`".into());
            }
            let since_ok =
                c.payouts_since.as_deref().is_some_and(|d| settlepaisa_recon::date::Date::parse_iso(d).is_some());
            if c.payout_dir.is_some() != since_ok {
                return Err(
                    "payoutDir needs payoutsSince (YYYY-MM-DD): the first payout date this connector pushes".into()
                );
            }
            if c.url_template.is_some() || !c.tls {
                return Err("urlTemplate and tls are for https connectors".into());
            }
        }
        Kind::Https => {
            if !c.url_template.as_deref().is_some_and(|u| u.starts_with('/') && path_ok(u) && u.contains('{')) {
                return Err(
                    "https needs urlTemplate, a path with {date} or {yyyymmdd} (`/v1/statements/{date}.csv`)".into()
                );
            }
            if !c.tls && !loopback(&c.host) {
                return Err("tls may be false only for a loopback host (a test server)".into());
            }
            if c.username.is_some()
                || c.host_key.is_some()
                || c.remote_dir.is_some()
                || c.file_pattern.is_some()
                || c.payout_dir.is_some()
            {
                return Err("username, hostKey, remoteDir, filePattern and payoutDir are for sftp connectors".into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sftp() -> ConnectorConfig {
        serde_json::from_value(serde_json::json!({
            "kind": "sftp", "host": "sftp.hdfcbank.example", "username": "settlepaisa",
            "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
            "remoteDir": "/outbox", "filePattern": "HDFC_*.csv",
            "secretName": "settlepaisa/connectors/hdfc", "schedule": "*/30 6-22 * * *",
        }))
        .unwrap()
    }

    #[test]
    fn a_good_configuration_and_what_each_check_refuses() {
        let folders = vec!["HDFC".to_string(), "ICICI".to_string()];
        assert_eq!(validate("HDFC", &sftp(), &folders), Ok(()));
        assert_eq!(sftp().port(), 22);
        let refuse = |c: ConnectorConfig, bank: &str, says: &str| {
            let e = validate(bank, &c, &folders).unwrap_err();
            assert!(e.contains(says), "{says}: {e}");
        };
        refuse(sftp(), "hdfc", "uppercase");
        refuse(ConnectorConfig { secret_name: "my-password".into(), ..sftp() }, "HDFC", "secretName");
        refuse(ConnectorConfig { host_key: None, ..sftp() }, "HDFC", "hostKey");
        refuse(ConnectorConfig { remote_dir: Some("/a/../etc".into()), ..sftp() }, "HDFC", "remoteDir");
        refuse(ConnectorConfig { schedule: "every day".into(), ..sftp() }, "HDFC", "cron");
        refuse(sftp(), "AXIS", "template");
        refuse(ConnectorConfig { template: Some("NOPE".into()), ..sftp() }, "HDFC", "template");
        let https = ConnectorConfig {
            kind: Kind::Https,
            username: None,
            host_key: None,
            remote_dir: None,
            file_pattern: None,
            url_template: Some("/v1/statements/{date}.csv".into()),
            ..sftp()
        };
        assert_eq!(
            validate("ICICI", &ConnectorConfig { template: Some("ICICI".into()), ..https.clone() }, &folders),
            Ok(())
        );
        refuse(ConnectorConfig { tls: false, ..https.clone() }, "HDFC", "loopback");
        assert_eq!(
            validate("HDFC", &ConnectorConfig { tls: false, host: "127.0.0.1".into(), ..https.clone() }, &folders),
            Ok(())
        );
        refuse(ConnectorConfig { url_template: Some("/static.csv".into()), ..https }, "HDFC", "urlTemplate");
        let unknown = serde_json::json!({"kind": "sftp", "host": "h", "secretName": "s", "schedule": "* * * * *", "password": "x"});
        assert!(serde_json::from_value::<ConnectorConfig>(unknown).is_err(), "a secret value is an unknown field");
    }
}
