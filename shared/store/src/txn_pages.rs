//! The transactions table: counted PG rows packed in pages of up to [`ROWS_PER_PAGE`], in two
//! orders, never one item per row (a row of ~80 bytes would cost a whole write unit, and an index
//! entry one more each; see `docs/cost-design.md`).
//!
//! - `T#{day}#{gg}`: a capture day's rows, spread over [`GROUPS`] claim groups by `txn_id` (the
//!   staff list walks a day's groups one after another);
//! - `M#{merchant}#{day}`: one merchant's rows of a day.
//!
//! A page holds rows of one file and one claim group, sorted by capture time then id. Its sort key
//! starts with its first row's capture time, so a partition's pages come back in time order; it
//! then names the file, the group and the page's place. A (file, group)'s pages hold all of its
//! rows, with the lines that lost their ids to another file in `lost`, so their keys are fixed by
//! the file alone: a claim step written again (even deciding otherwise, a holder having been
//! deleted meanwhile) writes the same items, never a second set beside the first.

use crate::error::StoreError;
use settlepaisa_aws::dynamo::{nv, sv, Fields, Item, Malformed};
use settlepaisa_recon::pg_file::PgTxn;
use settlepaisa_recon::shard::{decode, encode_pg};

/// Claim groups per capture day: a `txn_id` is claimed within its (day, group), one file at a time,
/// and a day's pages spread over this many partition keys.
pub const GROUPS: u32 = 16;

/// Rows per page: ~8 KB, 8 write units, a tenth of a unit per row and order.
pub const ROWS_PER_PAGE: usize = 100;

/// The claim group of a transaction id (stable across releases).
pub fn group_of(txn_id: &str) -> u32 {
    txn_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % GROUPS
}

/// A (day, group) as an alphanumeric name, usable as a segment entry's name: `d20261001g07`.
pub fn group_name(day: &str, group: u32) -> String {
    format!("d{}g{group:02}", day.replace('-', ""))
}

/// The day (`YYYY-MM-DD`) and group of a [`group_name`].
pub fn parse_group_name(name: &str) -> Option<(String, u32)> {
    let rest = name.strip_prefix('d')?;
    let (day, group) = rest.split_once('g')?;
    if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) || group.len() != 2 {
        return None;
    }
    let group: u32 = group.parse().ok().filter(|g| *g < GROUPS)?;
    Some((format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..]), group))
}

/// The claim set of a scope (`incoming`, or `job:{id}`), capture day and id group: who holds
/// each id (`txn_id`, file, line per line, sorted by id), in the artifacts bucket.
pub fn claim_set_key(scope: &str, day: &str, group: u32) -> String {
    format!("claims/{scope}/{day}/g{group:02}.tsv")
}

/// The staff list's partition of a day's group.
pub fn day_partition(day: &str, group: u32) -> String {
    format!("T#{day}#{group:02}")
}

/// A merchant's partition of a day.
pub fn merchant_partition(merchant_id: &str, day: &str) -> String {
    format!("M#{merchant_id}#{day}")
}

/// One page: rows of one file in one partition, as normalized lines (`shard::encode_pg`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub pk: String,
    pub sk: String,
    pub file_id: String,
    pub count: u32,
    pub rows: String,
    /// Lines of the file, among this page's rows, whose ids another file holds: not shown.
    pub lost: Vec<u32>,
    /// A webhook transaction's row ([`crate::pg_events`]): the refunds deducted from it.
    pub refunded_paise: Option<i64>,
    /// A webhook transaction's row: the PG export that holds the id (the row is hidden while
    /// that file counts).
    pub held_by: Option<String>,
}

impl Page {
    pub fn to_item(&self) -> Item {
        let mut item = Item::from([
            ("pk".to_string(), sv(&self.pk)),
            ("sk".to_string(), sv(&self.sk)),
            ("file_id".to_string(), sv(&self.file_id)),
            ("count".to_string(), nv(self.count)),
            ("rows".to_string(), sv(&self.rows)),
        ]);
        if !self.lost.is_empty() {
            let lost: Vec<String> = self.lost.iter().map(u32::to_string).collect();
            item.insert("lost".to_string(), sv(lost.join(",")));
        }
        if let Some(r) = self.refunded_paise {
            item.insert("refunded_paise".to_string(), nv(r));
        }
        if let Some(f) = &self.held_by {
            item.insert("held_by".to_string(), sv(f));
        }
        item
    }

    pub fn from_item(item: &Item) -> Result<Page, Malformed> {
        let f = Fields::new("transaction page", item);
        let lost = match f.opt_s("lost")? {
            None => Vec::new(),
            Some(text) => text.split(',').map(str::parse).collect::<Result<_, _>>().map_err(|_| Malformed {
                what: "transaction page",
                problem: format!("lost lines `{text}` are not line numbers"),
            })?,
        };
        let page = Page {
            pk: f.s("pk")?,
            sk: f.s("sk")?,
            file_id: f.s("file_id")?,
            count: f.n("count")?,
            rows: f.s("rows")?,
            lost,
            refunded_paise: f.opt_n("refunded_paise")?,
            held_by: f.opt_s("held_by")?,
        };
        let rows = page.decode()?;
        if rows.len() != page.count as usize {
            return Err(Malformed {
                what: "transaction page",
                problem: format!("{} holds {} rows, not the {} it says", page.sk, rows.len(), page.count),
            });
        }
        Ok(page)
    }

    /// The rows that hold their ids, in time order: what lists show.
    pub fn shown(&self) -> Result<Vec<PgTxn<'_>>, Malformed> {
        let mut rows = self.decode()?;
        rows.retain(|t| !self.lost.contains(&t.line));
        Ok(rows)
    }

    /// Every row of the page, in time order.
    pub fn decode(&self) -> Result<Vec<PgTxn<'_>>, Malformed> {
        decode(&self.rows)
            .map(|(pg, _)| pg)
            .map_err(|e| Malformed { what: "transaction page", problem: format!("{}: {e}", self.sk) })
    }
}

/// Every page of a partition (a whole day's group: for jobs that read all of it, not listings).
pub async fn pages_in(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> Result<Vec<Page>, StoreError> {
    let query = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", sv(pk));
    let items = settlepaisa_aws::dynamo::all_pages(query).await?;
    Ok(items.iter().map(Page::from_item).collect::<Result<_, _>>()?)
}

/// The pages of one file's rows of one claim group (all of one capture day), in both orders, the
/// lines in `lost` marked as such. Rows are sorted by capture time, then id.
pub fn pages_of(file_id: &str, group: u32, rows: &mut [PgTxn<'_>], lost: &std::collections::HashSet<u32>) -> Vec<Page> {
    rows.sort_by(|a, b| (a.captured_at, a.txn_id, a.line).cmp(&(b.captured_at, b.txn_id, b.line)));
    let mut pages = Vec::new();
    let mut by_merchant: std::collections::BTreeMap<(&str, String), Vec<&PgTxn<'_>>> = Default::default();
    let mut by_day: std::collections::BTreeMap<String, Vec<&PgTxn<'_>>> = Default::default();
    for t in rows.iter() {
        by_day.entry(t.date.to_string()).or_default().push(t);
        by_merchant.entry((t.merchant_id, t.date.to_string())).or_default().push(t);
    }
    for (day, list) in &by_day {
        paginate(&day_partition(day, group), file_id, group, list, lost, &mut pages);
    }
    for ((merchant, day), list) in &by_merchant {
        paginate(&merchant_partition(merchant, day), file_id, group, list, lost, &mut pages);
    }
    pages
}

fn paginate(
    pk: &str,
    file_id: &str,
    group: u32,
    rows: &[&PgTxn<'_>],
    lost: &std::collections::HashSet<u32>,
    out: &mut Vec<Page>,
) {
    for (i, part) in rows.chunks(ROWS_PER_PAGE).enumerate() {
        let mut text = Vec::with_capacity(part.len() * 96);
        for t in part {
            encode_pg(t, &mut text);
        }
        out.push(Page {
            pk: pk.to_string(),
            sk: format!("{:011}#{file_id}#{group:02}#{i:05}", part[0].captured_at.max(0)),
            file_id: file_id.to_string(),
            count: part.len() as u32,
            // Encoded from `&str` fields: valid UTF-8.
            rows: String::from_utf8_lossy(&text).into_owned(),
            lost: part.iter().map(|t| t.line).filter(|l| lost.contains(l)).collect(),
            refunded_paise: None,
            held_by: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_recon::date::ist_date;
    use settlepaisa_recon::money::Paise;
    use settlepaisa_recon::pg_file::Method;

    fn txn<'a>(id: &'a str, merchant: &'a str, at: i64, line: u32) -> PgTxn<'a> {
        PgTxn {
            line,
            txn_id: id,
            merchant_id: merchant,
            merchant_ref: "",
            method: Method::Upi,
            amount: Paise(100),
            status: "captured",
            utr: None,
            captured_at: at,
            date: ist_date(at),
        }
    }

    #[test]
    fn group_names_read_back() {
        assert_eq!(group_name("2026-10-01", 7), "d20261001g07");
        assert_eq!(parse_group_name("d20261001g07"), Some(("2026-10-01".into(), 7)));
        for bad in ["20261001g07", "d2026101g07", "d20261001g16", "d20261001g7", "d20261001"] {
            assert_eq!(parse_group_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_row_lands_once_in_each_order_and_pages_read_back() {
        let ids: Vec<String> = (0..250).map(|i| format!("T{i:04}")).collect();
        let mut rows: Vec<PgTxn<'_>> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| txn(id, if i % 3 == 0 { "M1" } else { "M2" }, 1_790_000_000 - i as i64, i as u32 + 2))
            .collect();
        let pages = pages_of("F1", 3, &mut rows, &Default::default());
        let mut day_ids = Vec::new();
        let mut merchant_ids = Vec::new();
        for p in &pages {
            let back = Page::from_item(&p.to_item()).unwrap();
            assert_eq!(&back, p);
            let rows = back.decode().unwrap();
            assert!(rows.len() <= ROWS_PER_PAGE);
            assert!(rows.windows(2).all(|w| w[0].captured_at <= w[1].captured_at), "time order in a page");
            let target = if p.pk.starts_with("T#") { &mut day_ids } else { &mut merchant_ids };
            target.extend(rows.iter().map(|t| t.txn_id.to_string()));
        }
        day_ids.sort();
        merchant_ids.sort();
        assert_eq!(day_ids, ids, "each row once among the day's pages");
        assert_eq!(merchant_ids, ids, "each row once among the merchants' pages");
        // Pages of a partition sort by time.
        let mut t_pages: Vec<&Page> = pages.iter().filter(|p| p.pk.starts_with("T#")).collect();
        t_pages.sort_by(|a, b| a.sk.cmp(&b.sk));
        let firsts: Vec<i64> = t_pages.iter().map(|p| p.decode().unwrap()[0].captured_at).collect();
        assert!(firsts.windows(2).all(|w| w[0] <= w[1]));
        // The same rows in another order make the same pages.
        rows.reverse();
        assert_eq!(pages_of("F1", 3, &mut rows, &Default::default()), pages);
    }

    #[test]
    fn lost_lines_are_kept_in_the_page_and_left_out_of_what_it_shows() {
        let ids = ["A", "B", "C"];
        let mut rows: Vec<PgTxn<'_>> =
            ids.iter().enumerate().map(|(i, id)| txn(id, "M", 1_790_000_000 + i as i64, i as u32 + 2)).collect();
        let all = pages_of("F", 0, &mut rows, &Default::default());
        let some_lost = pages_of("F", 0, &mut rows, &[3u32].into_iter().collect());
        let keys = |p: &[Page]| p.iter().map(|p| (p.pk.clone(), p.sk.clone())).collect::<Vec<_>>();
        assert_eq!(keys(&all), keys(&some_lost), "the same keys whatever was lost");
        for page in &some_lost {
            let back = Page::from_item(&page.to_item()).unwrap();
            assert_eq!(back.lost, vec![3]);
            let shown: Vec<&str> = back.shown().unwrap().iter().map(|t| t.txn_id).collect();
            assert_eq!(shown, ["A", "C"]);
            assert_eq!(back.decode().unwrap().len(), 3);
        }
    }

    #[test]
    fn a_page_that_does_not_hold_its_count_is_malformed() {
        let ids = ["A", "B"];
        let mut rows: Vec<PgTxn<'_>> = ids.iter().map(|id| txn(id, "M", 1_790_000_000, 2)).collect();
        let page = &pages_of("F", 0, &mut rows, &Default::default())[0];
        let mut item = page.to_item();
        item.insert("count".into(), nv(3));
        assert!(Page::from_item(&item).is_err());
    }
}
