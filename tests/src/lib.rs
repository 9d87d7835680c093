//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::Path;

/// Reads a CSV report into rows of fields (header dropped), honouring quotes.
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().skip(1).filter(|l| !l.is_empty()).map(split_csv_line).collect()
}

/// Splits one CSV line with RFC 4180 quoting.
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// What happened to one record: its outcome and its counterpart (or group), as truth.csv says it.
pub type Outcomes = BTreeMap<String, (String, String)>;

/// Outcomes as the recon reports tell them: matches, exceptions (a group's counterpart is its
/// sorted member list) and rejects.
pub fn outcomes_from_reports(dir: &Path) -> Outcomes {
    let mut out = Outcomes::new();
    let mut put = |record: &str, outcome: &str, counterpart: String| {
        let previous = out.insert(record.to_string(), (outcome.to_string(), counterpart));
        assert!(previous.is_none(), "{record} appears twice in the reports");
    };
    for row in read_csv(&dir.join("matches.csv")) {
        put(&row[0], "MATCHED", row[1].clone());
        put(&row[1], "MATCHED", row[0].clone());
    }
    for row in read_csv(&dir.join("exceptions.csv")) {
        let category = row[1].as_str();
        let members: Vec<&str> = row[2].split(';').chain(row[3].split(';')).filter(|m| !m.is_empty()).collect();
        match (category, members.as_slice()) {
            ("DUPLICATE_UTR", _) => {
                let mut sorted = members.clone();
                sorted.sort_unstable();
                for m in &members {
                    put(m, category, sorted.join(";"));
                }
            }
            (_, [a, b]) => {
                put(a, category, b.to_string());
                put(b, category, a.to_string());
            }
            (_, [a]) => put(a, category, String::new()),
            _ => panic!("unexpected exception row {row:?}"),
        }
    }
    for row in read_csv(&dir.join("rejects.csv")) {
        put(&format!("{}:{}", row[0], row[1]), "REJECTED", String::new());
    }
    out
}

/// truth.csv, with duplicate groups rewritten to their sorted member lists, and the outcomes the
/// reports do not list (withdrawals, non-captured transactions) counted apart.
pub fn outcomes_from_truth(path: &Path) -> (Outcomes, BTreeMap<String, usize>) {
    let rows = read_csv(path);
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows.iter().filter(|r| r[1] == "DUPLICATE_UTR") {
        groups.entry(row[2].clone()).or_default().push(row[0].clone());
    }
    let mut out = Outcomes::new();
    let mut unlisted = BTreeMap::new();
    for row in rows {
        match row[1].as_str() {
            "WITHDRAWAL" | "NOT_CAPTURED" => *unlisted.entry(row[1].clone()).or_insert(0) += 1,
            "DUPLICATE_UTR" => {
                let mut members = groups[&row[2]].clone();
                members.sort_unstable();
                out.insert(row[0].clone(), (row[1].clone(), members.join(";")));
            }
            _ => {
                out.insert(row[0].clone(), (row[1].clone(), row[2].clone()));
            }
        }
    }
    (out, unlisted)
}
