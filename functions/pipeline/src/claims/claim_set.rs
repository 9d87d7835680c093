//! A claim set: who holds each `txn_id` of one scope, capture day and id group
//! (`claims/{scope}/{day}/gNN.tsv`: id, file, line, sorted by id), and the rule that decides
//! whether a row keeps its id.

use crate::error::PipelineError;
use crate::file_record::{FileRecord, FileStatus};
use crate::Context;
use settlepaisa_aws::s3 as objects;
use std::collections::HashMap;

/// The ids one (scope, day, group) holds.
pub struct ClaimSet {
    key: String,
    pub holders: HashMap<String, (String, u32)>,
    pub changed: bool,
}

impl ClaimSet {
    pub fn key(scope: &str, day: &str, group: u32) -> String {
        settlepaisa_store::txn_pages::claim_set_key(scope, day, group)
    }

    pub async fn read(ctx: &Context, scope: &str, day: &str, group: u32) -> Result<ClaimSet, PipelineError> {
        let key = ClaimSet::key(scope, day, group);
        let bytes = match objects::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await {
            Ok(b) => b,
            Err(e) if objects::is_missing(&e) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let bad = |m: &str| PipelineError::Data { key: key.clone(), message: m.to_string() };
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let mut holders = HashMap::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let mut f = line.split('\t');
            let (Some(id), Some(file), Some(n), None) = (f.next(), f.next(), f.next(), f.next()) else {
                return Err(bad("a line is not txn_id, file, line"));
            };
            let n: u32 = n.parse().map_err(|_| bad("a line number is not a number"))?;
            holders.insert(id.to_string(), (file.to_string(), n));
        }
        Ok(ClaimSet { key, holders, changed: false })
    }

    /// Writes the set back if a row changed it.
    pub async fn write(&self, ctx: &Context) -> Result<(), PipelineError> {
        if !self.changed {
            return Ok(());
        }
        let mut entries: Vec<(&String, &(String, u32))> = self.holders.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::with_capacity(entries.len() * 48);
        for (id, (file, line)) in entries {
            out.extend_from_slice(id.as_bytes());
            out.push(b'\t');
            out.extend_from_slice(file.as_bytes());
            out.push(b'\t');
            out.extend_from_slice(itoa::Buffer::new().format(*line).as_bytes());
            out.push(b'\n');
        }
        objects::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &self.key, out).await?;
        Ok(())
    }
}

/// Someone holding an id a row brings: a file and its line, and whether on the row's own capture
/// day (the day before and after are looked at too, so an export in another time zone or one
/// corrected across midnight still meets the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding<'h> {
    pub file_id: &'h str,
    pub line: u32,
    pub same_day: bool,
}

/// Whether a row of `me` at `line` keeps its id: `None` it does, `Some(reason)` it is a reject
/// naming who has it. `records` holds the holders' file records (`None`: no such record).
pub fn verdict(
    me: &FileRecord,
    line: u32,
    txn_id: &str,
    holdings: &[Holding<'_>],
    records: &HashMap<String, Option<FileRecord>>,
) -> Option<String> {
    if holdings.iter().any(|h| h.file_id == me.file_id && h.line == line && h.same_day) {
        // Its own already: a step written again.
        return None;
    }
    if let Some(h) = holdings.iter().find(|h| h.file_id == me.file_id) {
        return Some(format!("txn_id `{txn_id}` already came from {} line {}", me.name, h.line));
    }
    for h in holdings {
        match records.get(h.file_id).and_then(Option::as_ref) {
            Some(holder) if passes_on(holder, me) => {}
            Some(holder) => {
                return Some(format!("txn_id `{txn_id}` already came from {} line {}", holder.name, h.line))
            }
            None => return Some(format!("txn_id `{txn_id}` already came from file {}", h.file_id)),
        }
    }
    None
}

/// Whether a holder's ids pass to the claimant: the holder never counts (deleted, a duplicate,
/// rejected), was replaced by a later version of its key, or is an older version of the
/// claimant's key, which the claimant supersedes. Never backwards: a late event for an old version
/// takes nothing back. (Claim sets are per scope: a job's uploads and `incoming/` never meet.)
pub fn passes_on(holder: &FileRecord, me: &FileRecord) -> bool {
    matches!(holder.status, Some(FileStatus::Deleted | FileStatus::Duplicate | FileStatus::Rejected))
        || holder.superseded_by.is_some()
        || (holder.key == me.key && holder.received_at < me.received_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(id: &str, key: &str, at: &str, status: FileStatus) -> FileRecord {
        FileRecord {
            file_id: id.into(),
            key: key.into(),
            name: key.rsplit('/').next().unwrap().into(),
            received_at: at.into(),
            status: Some(status),
            ..FileRecord::default()
        }
    }

    fn records(files: &[&FileRecord]) -> HashMap<String, Option<FileRecord>> {
        files.iter().map(|f| (f.file_id.clone(), Some((*f).clone()))).collect()
    }

    const T1: &str = "2026-10-02T06:00:00+00:00";
    const T2: &str = "2026-10-02T07:00:00+00:00";

    #[test]
    fn the_first_file_keeps_an_id_and_a_second_gets_a_reject_naming_it() {
        let me = file("F2", "incoming/pg/b.csv", T2, FileStatus::Received);
        let first = file("F1", "incoming/pg/a.csv", T1, FileStatus::Normalized);
        let h = [Holding { file_id: "F1", line: 7, same_day: true }];
        assert_eq!(verdict(&me, 2, "T", &[], &records(&[&first])), None, "a new id is kept");
        assert_eq!(
            verdict(&me, 2, "T", &h, &records(&[&first])).as_deref(),
            Some("txn_id `T` already came from a.csv line 7")
        );
        // The day before or after holds it just as well.
        let h = [Holding { file_id: "F1", line: 7, same_day: false }];
        assert!(verdict(&me, 2, "T", &h, &records(&[&first])).is_some());
        let unknown = [Holding { file_id: "F9", line: 1, same_day: true }];
        assert_eq!(
            verdict(&me, 2, "T", &unknown, &HashMap::from([("F9".into(), None)])).as_deref(),
            Some("txn_id `T` already came from file F9")
        );
    }

    #[test]
    fn a_file_keeps_its_own_line_and_loses_a_repeat_of_it() {
        let me = file("F1", "incoming/pg/a.csv", T1, FileStatus::Received);
        let mine = [Holding { file_id: "F1", line: 5, same_day: true }];
        assert_eq!(verdict(&me, 5, "T", &mine, &HashMap::new()), None, "written again");
        assert_eq!(
            verdict(&me, 9, "T", &mine, &HashMap::new()).as_deref(),
            Some("txn_id `T` already came from a.csv line 5")
        );
        let other_day = [Holding { file_id: "F1", line: 5, same_day: false }];
        assert!(verdict(&me, 5, "T", &other_day, &HashMap::new()).is_some(), "one id on two days of one file");
    }

    #[test]
    fn ids_pass_on_from_files_that_no_longer_count_and_from_older_versions_of_the_key() {
        let me = file("F2", "incoming/pg/a.csv", T2, FileStatus::Received);
        let h = [Holding { file_id: "F1", line: 3, same_day: true }];
        for status in [FileStatus::Deleted, FileStatus::Duplicate, FileStatus::Rejected] {
            let gone = file("F1", "incoming/pg/other.csv", T1, status);
            assert_eq!(verdict(&me, 3, "T", &h, &records(&[&gone])), None, "{status:?}");
        }
        let older = file("F1", "incoming/pg/a.csv", T1, FileStatus::Normalized);
        assert_eq!(verdict(&me, 3, "T", &h, &records(&[&older])), None, "a corrected re-upload");
        let mut replaced = file("F1", "incoming/pg/other.csv", T1, FileStatus::Normalized);
        replaced.superseded_by = Some("F0".into());
        assert_eq!(verdict(&me, 3, "T", &h, &records(&[&replaced])), None, "a replaced version");
        // Never backwards: an older version's late event takes nothing from the newer.
        let late = file("F0", "incoming/pg/a.csv", T1, FileStatus::Received);
        let newer = file("F2", "incoming/pg/a.csv", T2, FileStatus::Normalized);
        let h = [Holding { file_id: "F2", line: 3, same_day: true }];
        assert!(verdict(&late, 3, "T", &h, &records(&[&newer])).is_some());
    }
}
