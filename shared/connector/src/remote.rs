//! A bank's side: the files a listing shows, which of them are the connector's (its pattern),
//! which are new (a file is taken once, remembered by name, size and modification time — or
//! ETag over HTTPS — so a file the bank rewrites is taken again and a file seen before is not),
//! and where each goes in the uploads bucket.

use serde::{Deserialize, Serialize};
use settlepaisa_recon::date::Date;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteFile {
    pub name: String,
    pub size: u64,
    /// Unix seconds (SFTP's `mtime`).
    pub modified: Option<i64>,
    /// HTTPS's ETag (quotes kept: they are part of it).
    pub etag: Option<String>,
}

impl RemoteFile {
    /// What the connector remembers a taken file by.
    pub fn fingerprint(&self) -> String {
        let version = match (&self.modified, &self.etag) {
            (_, Some(etag)) => format!("etag:{etag}"),
            (Some(m), None) => format!("mtime:{m}"),
            (None, None) => String::new(),
        };
        format!("{}|{}|{version}", self.name, self.size)
    }
}

/// A name the connector will write to S3 as is: letters, digits, `.`, `-`, `_`, at most 200
/// (no path, no `..`, nothing a key or a log would misread).
pub fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `{date}` (`YYYY-MM-DD`) and `{yyyymmdd}` of `day`.
pub fn with_date(template: &str, day: Date) -> String {
    let iso = day.to_string();
    template.replace("{date}", &iso).replace("{yyyymmdd}", &iso.replace('-', ""))
}

fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&pattern[1..], name) || (!name.is_empty() && glob(pattern, &name[1..])),
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &name[1..]),
        (Some(p), Some(n)) if p == n => glob(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// Whether `name` is the connector's: `pattern` is a glob (`*`, `?`), with `{date}` /
/// `{yyyymmdd}` standing for any of `days`.
pub fn matches(pattern: &str, name: &str, days: &[Date]) -> bool {
    if pattern.contains('{') {
        days.iter().any(|d| glob(with_date(pattern, *d).as_bytes(), name.as_bytes()))
    } else {
        glob(pattern.as_bytes(), name.as_bytes())
    }
}

/// FNV-1a's offset basis: the start of [`fnv1a`].
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a (64 bit) over `bytes` from `h`: stable across platforms and releases, and it can be
/// carried on over pieces of a stream.
pub fn fnv1a(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// The name a file is stored under: itself when [`safe_name`], else its characters outside
/// `[A-Za-z0-9._-]` as `_`, cut to 150, and a hash of the original (two names never meet).
pub fn stored_name(name: &str) -> String {
    if safe_name(name) {
        return name.to_string();
    }
    let mut clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
        .collect::<String>()
        .trim_start_matches('.')
        .chars()
        .take(150)
        .collect();
    if clean.is_empty() {
        clean.push_str("file");
    }
    let h = fnv1a(FNV_START, name.as_bytes());
    format!("{clean}-{:08x}", h as u32)
}

/// The files of `listing` to take now, oldest first: the connector's, not taken before, and not
/// modified within `settle_secs` of `now` (a file still being written is taken on a later run,
/// whole). Names are not filtered: each is stored under [`stored_name`].
pub fn to_take<'a>(
    listing: &'a [RemoteFile],
    pattern: &str,
    days: &[Date],
    taken: &std::collections::HashSet<String>,
    now: i64,
    settle_secs: i64,
) -> Vec<&'a RemoteFile> {
    let mut out: Vec<&RemoteFile> = listing
        .iter()
        .filter(|f| matches(pattern, &f.name, days) && !f.name.contains('/') && f.name != "." && f.name != "..")
        .filter(|f| !taken.contains(&f.fingerprint()))
        .filter(|f| f.modified.is_none_or(|m| m <= now - settle_secs))
        .collect();
    out.sort_by(|a, b| (a.modified, &a.name).cmp(&(b.modified, &b.name)));
    out
}

/// Where a taken file goes: `incoming/{folder}/{name}` — the folder's statement template reads
/// it. A file the bank rewrites under the same name is a later version of the same key, which
/// ingestion takes in place of the earlier.
pub fn s3_key(folder: &str, f: &RemoteFile) -> String {
    format!("incoming/{folder}/{}", stored_name(&f.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64, m: i64) -> RemoteFile {
        RemoteFile { name: name.into(), size, modified: Some(m), etag: None }
    }

    #[test]
    fn patterns_with_dates_and_globs() {
        let d = Date::from_ymd(2026, 10, 1).unwrap();
        assert!(matches("HDFC_*.csv", "HDFC_20261001.csv", &[d]));
        assert!(!matches("HDFC_*.csv", "ICICI_20261001.csv", &[d]));
        assert!(matches("stmt_{yyyymmdd}.csv", "stmt_20261001.csv", &[d.add_days(-1), d]));
        assert!(!matches("stmt_{yyyymmdd}.csv", "stmt_20261003.csv", &[d.add_days(-1), d]));
        assert!(matches("?tmt-{date}*", "stmt-2026-10-01-a.csv", &[d]));
        assert_eq!(with_date("/v1/statements/{date}.csv", d), "/v1/statements/2026-10-01.csv");
    }

    #[test]
    fn new_settled_safe_files_oldest_first_and_a_rewrite_is_new() {
        let listing = vec![
            file("b.csv", 10, 100),
            file("a.csv", 10, 50),
            file("c.csv", 10, 995),
            file("../x.csv", 10, 10),
            file("notes.txt", 10, 10),
        ];
        let mut taken = std::collections::HashSet::new();
        let names = |t: &std::collections::HashSet<String>| -> Vec<String> {
            to_take(&listing, "*.csv", &[], t, 1_000, 60).iter().map(|f| f.name.clone()).collect()
        };
        assert_eq!(names(&taken), ["a.csv", "b.csv"], "c.csv still being written; ../x.csv never");
        let odd = file("HDFC Statement (01).csv", 1, 1);
        assert!(to_take(std::slice::from_ref(&odd), "HDFC*", &[], &Default::default(), 1_000, 60).len() == 1);
        let key = s3_key("HDFC", &odd);
        assert!(
            key.starts_with("incoming/HDFC/HDFC_Statement__01_.csv-") && safe_name(key.rsplit('/').next().unwrap()),
            "{key}"
        );
        taken.insert(listing[1].fingerprint());
        assert_eq!(names(&taken), ["b.csv"]);
        let rewritten = file("a.csv", 12, 60);
        assert_ne!(rewritten.fingerprint(), listing[1].fingerprint(), "the same name rewritten is new");
        let etagged = RemoteFile { name: "a.csv".into(), size: 10, modified: None, etag: Some("\"v1\"".into()) };
        assert_ne!(etagged.fingerprint(), RemoteFile { etag: Some("\"v2\"".into()), ..etagged.clone() }.fingerprint());
        assert_eq!(s3_key("HDFC", &listing[0]), "incoming/HDFC/b.csv");
        assert!(!safe_name(".hidden") && !safe_name("a/b.csv") && safe_name("HDFC_STMT-01.csv"));
    }
}
