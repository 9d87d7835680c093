//! Proving bulk credits: each settlement tied to the bank credit that paid it, its arithmetic
//! checked (gross − fees − GST − debits = credited), each row checked against the contract and
//! the PG export, and the PG transactions it paid matched through it.
//!
//! Runs between the engine's UTR stage and its fallback stage, over the records the UTR stage
//! left open: a transaction paired with its own credit by UTR keeps that pairing (a settlement
//! row paying it again is `DOUBLE_SETTLED`), and the transactions a found credit paid, and the
//! credit, never reach the amount and date fallback, where they could otherwise be paired with a
//! stranger's record. (A transaction of a settlement whose credit was not found does reach it.)

use super::fees::FeeSchedule;
use super::report_file::{RowKind, SettlementRow};
use crate::bank_file::BankRow;
use crate::date::Date;
use crate::id_key::IdKey;
use crate::money::Paise;
use crate::pg_file::PgTxn;
use crate::reject::Reject;
use crate::utr::Utr;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashMap;

/// How a settlement stands against its bank credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SettlementStatus {
    /// The credit equals the expected net to the paisa.
    Settled,
    /// The credit is less than the expected net.
    ShortCredit,
    /// The credit is more than the expected net.
    ExcessCredit,
    /// No bank credit could be tied to the settlement.
    CreditMissing,
}

impl SettlementStatus {
    pub const ALL: [SettlementStatus; 4] = [
        SettlementStatus::Settled,
        SettlementStatus::ShortCredit,
        SettlementStatus::ExcessCredit,
        SettlementStatus::CreditMissing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SettlementStatus::Settled => "SETTLED",
            SettlementStatus::ShortCredit => "SHORT_CREDIT",
            SettlementStatus::ExcessCredit => "EXCESS_CREDIT",
            SettlementStatus::CreditMissing => "CREDIT_MISSING",
        }
    }
}

/// Which rule tied a settlement to its credit, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TieRule {
    /// The credit's UTR is the settlement's UTR.
    Utr,
    /// The credit's narration names the settlement id.
    Narration,
    /// The only credit of exactly the expected net within a day of `settled_on`.
    Amount,
}

/// One settlement: its rows' sums and the credit that paid it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement<'a> {
    pub settlement_id: &'a str,
    pub settlement_utr: Utr,
    pub settled_on: Date,
    pub rows: u32,
    /// Payments and positive adjustments.
    pub gross: Paise,
    pub fee: Paise,
    pub tax: Paise,
    /// Refunds, chargebacks and negative adjustments, as a positive amount.
    pub debit: Paise,
    /// gross − fee − tax − debit: what the bank should have credited.
    pub expected_net: Paise,
    /// The tied credit (an index into the run's bank records) and the rule that tied it.
    pub credit: Option<(u32, TieRule)>,
    /// The tied credit's amount (zero when none).
    pub credited: Paise,
    /// credited − expected_net.
    pub delta: Paise,
    pub status: SettlementStatus,
}

/// What a settlement row can be wrong about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LineCategory {
    /// A payment, refund or chargeback of a transaction the PG export has not captured.
    UnknownTxn,
    /// The fee differs from the contracted MDR on the PG amount.
    FeeMismatch,
    /// The tax differs from GST on the row's fee.
    GstMismatch,
    /// A payment row's amount differs from the PG amount.
    AmountDiffers,
    /// A transaction paid again: a second payment row, or one already matched to its own credit.
    DoubleSettled,
}

impl LineCategory {
    pub const ALL: [LineCategory; 5] = [
        LineCategory::UnknownTxn,
        LineCategory::FeeMismatch,
        LineCategory::GstMismatch,
        LineCategory::AmountDiffers,
        LineCategory::DoubleSettled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LineCategory::FeeMismatch => "FEE_MISMATCH",
            LineCategory::GstMismatch => "GST_MISMATCH",
            LineCategory::UnknownTxn => "UNKNOWN_TXN",
            LineCategory::AmountDiffers => "AMOUNT_DIFFERS",
            LineCategory::DoubleSettled => "DOUBLE_SETTLED",
        }
    }
}

/// One finding on one settlement row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineException<'a> {
    pub settlement_id: &'a str,
    /// Empty for an adjustment that names no transaction.
    pub txn_id: &'a str,
    /// The captured PG transaction the row names: an index into the run's PG records.
    pub pg: Option<u32>,
    pub category: LineCategory,
    /// What the row should have said, where there is a figure to compare with.
    pub expected: Option<Paise>,
    pub actual: Paise,
    pub reason: String,
    /// The row: report and line.
    pub file: &'a str,
    pub line: u32,
}

/// A PG transaction paid through a settlement's bulk credit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledMatch {
    /// Indices into the run's PG and bank records, and into [`SettlementRecon::settlements`].
    pub pg: u32,
    pub bank: u32,
    pub settlement: u32,
    /// The settlement's UTR (the bulk credit's, when it was tied by UTR).
    pub utr: Utr,
}

/// The settlement side of a run.
#[derive(Debug, Default)]
pub struct SettlementRecon<'a> {
    /// In (`settled_on`, `settlement_id`) order.
    pub settlements: Vec<Settlement<'a>>,
    /// In (`settled_on`, `settlement_id`, report, line) order, categories in [`LineCategory`]
    /// order within a row.
    pub exceptions: Vec<LineException<'a>>,
    /// Rows the step could not take: per report, in line order.
    pub rejects: Vec<(&'a str, Reject)>,
    /// Σ over rows of (fee + tax) − (contracted fee + GST on it), where positive; `None` only
    /// when the total is beyond what an `i64` of paise holds (no real report comes near).
    pub fee_overcharge: Option<Paise>,
}

/// What the settlement step decided about the engine's records.
pub(crate) struct Settled<'a> {
    pub recon: SettlementRecon<'a>,
    pub matches: Vec<SettledMatch>,
    /// Open PG transactions paid by a settlement whose credit was not found: (PG index,
    /// settlement index), by PG index. Their exception's reason names the settlement.
    pub awaiting: Vec<(u32, u32)>,
    /// Per PG index: paid through a settlement. Per bank index: a settlement's credit.
    pub pg_taken: Vec<bool>,
    pub bank_taken: Vec<bool>,
}

/// The part of the settlement step that needs only the reports and the PG export: the rows
/// grouped into settlements, and each row's transaction found. The engine runs it before its UTR
/// stage, so the export's id keys it joins on are freed before the UTR keys are built.
pub(crate) struct GroupedRows<'a> {
    rows: Vec<SettlementRow<'a>>,
    settlements: Vec<Settlement<'a>>,
    /// (settlement, row index) in check order.
    checked: Vec<(u32, u32)>,
    rejects: Vec<(&'a str, Reject)>,
    /// Per entry of `checked`: the index of its transaction in the PG export, if captured.
    pg_of: Vec<Option<usize>>,
}

/// Groups `rows` and finds their transactions in `pg` (sorted by `txn_id`; `pg_keys[p]` is
/// `pg[p]`'s [`IdKey`]).
pub(crate) fn group_rows<'a>(rows: Vec<SettlementRow<'a>>, pg: &[PgTxn<'a>], pg_keys: &[IdKey]) -> GroupedRows<'a> {
    let (settlements, checked, rejects) = group(&rows);
    let pg_of = pg_indices(&rows, &checked, pg, pg_keys);
    GroupedRows { rows, settlements, checked, rejects, pg_of }
}

/// Ties settlements to credits and checks them. `own_match[p]` is a bank credit the UTR stage
/// paired PG `p` with by UTR, as a match or an exception (`u32::MAX` if none); `open_pg` and
/// `open_bank` are what the UTR stage left.
#[allow(clippy::too_many_arguments)]
pub(crate) fn settle<'a>(
    grouped: GroupedRows<'a>,
    pg: &[PgTxn<'a>],
    bank: &[BankRow<'a>],
    own_match: &[u32],
    open_pg: &[u32],
    open_bank: &[u32],
    fees: &FeeSchedule,
    exported_elsewhere: &(dyn Fn(&str) -> bool + Sync),
) -> Settled<'a> {
    let GroupedRows { rows, mut settlements, checked, rejects, pg_of } = grouped;
    let mut bank_taken = vec![false; bank.len()];
    tie_credits(&mut settlements, bank, open_bank, &mut bank_taken);
    for s in &mut settlements {
        let credited = s.credit.map_or(Paise::ZERO, |(b, _)| bank[b as usize].amount);
        s.credited = credited;
        // `sums` keeps the expected net a row's cap away from i64's ends: no overflow.
        s.delta = Paise(credited.0 - s.expected_net.0);
        s.status = match (s.credit, s.delta.0.signum()) {
            (None, _) => SettlementStatus::CreditMissing,
            (Some(_), 0) => SettlementStatus::Settled,
            (Some(_), -1) => SettlementStatus::ShortCredit,
            (Some(_), _) => SettlementStatus::ExcessCredit,
        };
    }

    let mut is_open = vec![false; pg.len()];
    for &p in open_pg {
        is_open[p as usize] = true;
    }
    let mut pg_taken = vec![false; pg.len()];
    let mut exceptions = Vec::new();
    let mut matches = Vec::new();
    let mut awaiting = Vec::new();
    // Each row's term fits an i64; their sum is taken wide and narrowed once.
    let mut fee_overcharge: i128 = 0;
    // The first payment row of each transaction, as (settlement, report, line): by PG index for
    // a captured transaction (no hashing of a million ids), by id for an unknown one.
    let mut first_paid_pg: Vec<u32> = vec![u32::MAX; pg.len()];
    let mut first_paid_unknown: foldhash::HashMap<&str, u32> = foldhash::HashMap::default();
    let mut ahead = crate::touch::Ahead::default();
    for (position, (&(settlement_index, row_index), found)) in checked.iter().zip(&pg_of).enumerate() {
        // Rows in settlement order and their transactions lie anywhere in memory: touch a batch
        // ahead (`crate::touch`).
        ahead.before(position, checked.len(), |batch| {
            checked[batch.clone()]
                .iter()
                .zip(&pg_of[batch])
                .map(|(&(_, r), found)| rows[r as usize].amount.0 as u8 ^ found.map_or(0, |p| pg[p].amount.0 as u8))
                .fold(0u8, |acc, b| acc ^ b)
        });
        let found = *found;
        let row = rows[row_index as usize];
        let s = &settlements[settlement_index as usize];
        let mut raise = |category, expected: Option<Paise>, actual: Paise, reason: String| {
            exceptions.push(LineException {
                settlement_id: row.settlement_id,
                txn_id: row.txn_id,
                pg: found.map(|p| p as u32),
                category,
                expected,
                actual,
                reason,
                file: row.file,
                line: row.line,
            })
        };
        // The contracted fee: on the PG amount for a payment of a known transaction; otherwise
        // there is no contract to hold the row to, and its own fee stands.
        let contracted_fee = match (row.kind, found) {
            (RowKind::Payment, Some(p)) => fees.expected_fee(pg[p].amount, pg[p].method),
            _ => row.fee,
        };
        let owed = contracted_fee.0 + fees.expected_tax(contracted_fee).0;
        fee_overcharge += i128::from((row.fee.0 + row.tax.0 - owed).max(0));

        // Not held here but exported on another capture day (a sharded job's range): that
        // day's job holds it; unknown it is not.
        if row.kind.names_a_transaction() && found.is_none() && !exported_elsewhere(row.txn_id) {
            raise(
                LineCategory::UnknownTxn,
                None,
                row.amount,
                format!("{} of {} which the PG export has not captured", row.kind.as_str(), row.txn_id),
            );
        }
        if let (RowKind::Payment, Some(p)) = (row.kind, found) {
            let txn = &pg[p];
            if row.fee != contracted_fee {
                raise(
                    LineCategory::FeeMismatch,
                    Some(contracted_fee),
                    row.fee,
                    format!(
                        "fee {} paise where the contract's {} MDR of {} bps on {} paise is {} paise",
                        row.fee.0,
                        txn.method.as_str(),
                        fees.mdr_of(txn.method),
                        txn.amount.0,
                        contracted_fee.0
                    ),
                );
            }
        }
        let gst = fees.expected_tax(row.fee);
        if row.tax != gst {
            raise(
                LineCategory::GstMismatch,
                Some(gst),
                row.tax,
                format!(
                    "tax {} paise where {} bps GST on the {}-paise fee is {} paise",
                    row.tax.0, fees.gst_bps, row.fee.0, gst.0
                ),
            );
        }
        if row.kind != RowKind::Payment {
            continue;
        }
        if let Some(p) = found.filter(|&p| row.amount != pg[p].amount) {
            raise(
                LineCategory::AmountDiffers,
                Some(pg[p].amount),
                row.amount,
                format!("paid {} paise for a {}-paise PG transaction", row.amount.0, pg[p].amount.0),
            );
        }
        let first = match found {
            Some(p) => &mut first_paid_pg[p],
            None => first_paid_unknown.entry(row.txn_id).or_insert(u32::MAX),
        };
        if *first != u32::MAX {
            let (earlier, earlier_row) = checked[*first as usize];
            let earlier_row = &rows[earlier_row as usize];
            raise(
                LineCategory::DoubleSettled,
                None,
                row.amount,
                format!(
                    "already paid in settlement {} ({} line {})",
                    settlements[earlier as usize].settlement_id, earlier_row.file, earlier_row.line
                ),
            );
            continue;
        }
        *first = position as u32;
        let Some(p) = found else { continue };
        if own_match[p] != u32::MAX {
            raise(
                LineCategory::DoubleSettled,
                None,
                row.amount,
                format!(
                    "already paid by its own credit {}, which carries its UTR",
                    bank[own_match[p] as usize].bank_ref()
                ),
            );
            continue;
        }
        if !is_open[p] {
            // In a UTR-stage exception without a credit (its UTR repeated in the PG export): it
            // stays there.
            continue;
        }
        match s.credit {
            Some((b, _)) => {
                pg_taken[p] = true;
                matches.push(SettledMatch {
                    pg: p as u32,
                    bank: b,
                    settlement: settlement_index,
                    utr: s.settlement_utr,
                });
            }
            None => awaiting.push((p as u32, settlement_index)),
        }
    }
    matches.sort_unstable_by_key(|m| m.pg);
    awaiting.sort_unstable();
    Settled {
        recon: SettlementRecon {
            settlements,
            exceptions,
            rejects,
            fee_overcharge: i64::try_from(fee_overcharge).ok().map(Paise),
        },
        matches,
        awaiting,
        pg_taken,
        bank_taken,
    }
}

/// For each checked row, the index of its transaction in `pg` (sorted by `txn_id`), if captured.
/// A merge of the rows' ids with `pg` on their [`IdKey`]s (`pg_keys[p]` is `pg[p]`'s): one pass
/// over each comparing integers, where a binary search per row waited on a cache miss at every step.
fn pg_indices(
    rows: &[SettlementRow<'_>],
    checked: &[(u32, u32)],
    pg: &[PgTxn<'_>],
    pg_keys: &[IdKey],
) -> Vec<Option<usize>> {
    // Keys are taken in the rows' own order (their text lies in file order), each tagged with
    // the row's place in `checked`.
    let mut place = vec![u32::MAX; rows.len()];
    for (k, &(_, row)) in checked.iter().enumerate() {
        place[row as usize] = k as u32;
    }
    let mut by_txn: Vec<(IdKey, u32)> = rows
        .par_iter()
        .zip(place.par_iter())
        .filter(|(r, &k)| k != u32::MAX && !r.txn_id.is_empty())
        .map(|(r, &k)| (IdKey::of(r.txn_id), k))
        .collect();
    drop(place);
    let id_of = |k: u32| rows[checked[k as usize].1 as usize].txn_id;
    by_txn.par_sort_unstable_by(|a, b| a.0.cmp_with(&b.0, || (id_of(a.1), id_of(b.1))));
    let mut found = vec![None; checked.len()];
    let mut p = 0;
    for (key, k) in by_txn {
        let at = |p: usize| pg_keys[p].cmp_with(&key, || (pg[p].txn_id, id_of(k)));
        while p < pg.len() && at(p).is_lt() {
            p += 1;
        }
        if p < pg.len() && at(p).is_eq() {
            found[k as usize] = Some(p);
        }
    }
    found
}

/// Settlements in (`settled_on`, `settlement_id`) order; the rows to check, as (settlement,
/// row index), in (`settled_on`, `settlement_id`, report, line) order; and the rejects.
type Groups<'a> = (Vec<Settlement<'a>>, Vec<(u32, u32)>, Vec<(&'a str, Reject)>);

/// Groups rows into settlements. A row that disagrees with its settlement's first row (by report
/// and line) on UTR or date is a reject; so is every row of a settlement whose sums could not be
/// held. Ids and report names are numbered once (a report holds a few hundred settlements and a
/// run a few reports), so the rows are ordered by integers, not by comparing their text.
fn group<'a>(rows: &[SettlementRow<'a>]) -> Groups<'a> {
    let ids = rank_distinct(rows.iter().map(|r| r.settlement_id));
    let files = rank_distinct(rows.iter().map(|r| r.file));
    let mut order: Vec<(u32, u32, u32, u32)> =
        rows.par_iter().enumerate().map(|(i, r)| (ids[r.settlement_id], files[r.file], r.line, i as u32)).collect();
    order.par_sort_unstable();
    let mut rejects = Vec::new();
    let mut groups: Vec<(Settlement<'_>, Vec<u32>)> = Vec::with_capacity(ids.len());
    let mut start = 0;
    while start < order.len() {
        let id = order[start].0;
        let end = start + order[start..].iter().take_while(|k| k.0 == id).count();
        let first = &rows[order[start].3 as usize];
        let mut kept = Vec::with_capacity(end - start);
        for &(_, _, _, i) in &order[start..end] {
            let row = &rows[i as usize];
            if row.settlement_utr != first.settlement_utr || row.settled_on != first.settled_on {
                let reason = format!(
                    "settlement {} is UTR {} settled on {} ({} line {}); this row says UTR {} on {}",
                    first.settlement_id,
                    first.settlement_utr,
                    first.settled_on,
                    first.file,
                    first.line,
                    row.settlement_utr,
                    row.settled_on
                );
                rejects.push((row.file, Reject { line: row.line, reason, raw: row.raw.to_string() }));
            } else {
                kept.push(i);
            }
        }
        match sums(kept.iter().map(|&i| &rows[i as usize])) {
            Some(s) => groups.push((s, kept)),
            None => rejects.extend(kept.iter().map(|&i| {
                let row = &rows[i as usize];
                let reason = format!(
                    "settlement {} adds up to more than a total can hold; not a real report",
                    row.settlement_id
                );
                (row.file, Reject { line: row.line, reason, raw: row.raw.to_string() })
            })),
        }
        start = end;
    }
    groups.sort_unstable_by(|a, b| (a.0.settled_on, a.0.settlement_id).cmp(&(b.0.settled_on, b.0.settlement_id)));
    let mut settlements = Vec::with_capacity(groups.len());
    let mut checked = Vec::with_capacity(rows.len());
    for (i, (settlement, kept)) in groups.into_iter().enumerate() {
        settlements.push(settlement);
        checked.extend(kept.into_iter().map(|r| (i as u32, r)));
    }
    rejects.sort_unstable_by(|a, b| (a.0, a.1.line).cmp(&(b.0, b.1.line)));
    (settlements, checked, rejects)
}

/// Each distinct text's rank in sorted order.
fn rank_distinct<'a>(texts: impl Iterator<Item = &'a str>) -> foldhash::HashMap<&'a str, u32> {
    let mut rank: foldhash::HashMap<&'a str, u32> = foldhash::HashMap::default();
    for t in texts {
        rank.entry(t).or_insert(0);
    }
    let mut distinct: Vec<&'a str> = rank.keys().copied().collect();
    distinct.sort_unstable();
    for (i, t) in distinct.into_iter().enumerate() {
        rank.insert(t, i as u32);
    }
    rank
}

/// A settlement's sums, checked; `None` if any overflows.
fn sums<'a, 'r>(rows: impl Iterator<Item = &'r SettlementRow<'a>> + Clone) -> Option<Settlement<'a>>
where
    'a: 'r,
{
    let first = rows.clone().next()?;
    let mut count = 0usize;
    let (mut gross, mut fee, mut tax, mut debit) = (Paise::ZERO, Paise::ZERO, Paise::ZERO, Paise::ZERO);
    for r in rows {
        count += 1;
        match r.kind {
            RowKind::Payment => gross = gross.checked_add(r.amount)?,
            RowKind::Adjustment if r.amount.0 > 0 => gross = gross.checked_add(r.amount)?,
            RowKind::Adjustment => debit = debit.checked_add(Paise(-r.amount.0))?,
            RowKind::Refund | RowKind::Chargeback => debit = debit.checked_add(r.amount)?,
        }
        fee = fee.checked_add(r.fee)?;
        tax = tax.checked_add(r.tax)?;
    }
    let expected_net = gross.checked_sub(fee)?.checked_sub(tax)?.checked_sub(debit)?;
    // A credit (at most a row's cap) minus this must fit too.
    expected_net.checked_sub(Paise::MAX_ROW)?;
    expected_net.checked_add(Paise::MAX_ROW)?;
    Some(Settlement {
        settlement_id: first.settlement_id,
        settlement_utr: first.settlement_utr,
        settled_on: first.settled_on,
        rows: u32::try_from(count).ok()?,
        gross,
        fee,
        tax,
        debit,
        expected_net,
        credit: None,
        credited: Paise::ZERO,
        delta: Paise::ZERO,
        status: SettlementStatus::CreditMissing,
    })
}

/// Ties settlements to open credits, a credit to at most one settlement: every settlement by
/// UTR first, then the rest by a narration naming them, then the rest by a unique credit of
/// exactly the expected net within a day. Each rule runs over all settlements before the next,
/// so a weaker rule never takes a credit a stronger one would have given another settlement.
fn tie_credits(settlements: &mut [Settlement<'_>], bank: &[BankRow<'_>], open_bank: &[u32], taken: &mut [bool]) {
    if settlements.is_empty() {
        return;
    }
    // 1. By UTR.
    let wanted: std::collections::HashSet<Utr> = settlements.iter().map(|s| s.settlement_utr).collect();
    let mut by_utr: HashMap<Utr, Vec<u32>> = HashMap::new();
    for &b in open_bank {
        if let Some(utr) = bank[b as usize].utr.filter(|u| wanted.contains(u)) {
            by_utr.entry(utr).or_default().push(b);
        }
    }
    for s in settlements.iter_mut() {
        let candidates = by_utr.get(&s.settlement_utr).map(Vec::as_slice).unwrap_or_default();
        if let Some(&b) = candidates.iter().find(|&&b| !taken[b as usize]) {
            taken[b as usize] = true;
            s.credit = Some((b, TieRule::Utr));
        }
    }
    // 2. By a narration naming the settlement id: a credit naming exactly one untied settlement,
    //    that settlement named by exactly one credit. A credit naming several, or a settlement
    //    named by several, is left for a person.
    let untied: Vec<usize> = (0..settlements.len()).filter(|&i| settlements[i].credit.is_none()).collect();
    if !untied.is_empty() {
        let ids = IdFinder::new(untied.iter().map(|&i| (settlements[i].settlement_id, i)));
        let mut named_by: HashMap<usize, Vec<u32>> = HashMap::new();
        for &b in open_bank {
            if taken[b as usize] {
                continue;
            }
            if let [i] = ids.named_in(bank[b as usize].narration).as_slice() {
                named_by.entry(*i).or_default().push(b);
            }
        }
        for (i, credits) in named_by {
            if let [b] = credits.as_slice() {
                taken[*b as usize] = true;
                settlements[i].credit = Some((*b, TieRule::Narration));
            }
        }
    }
    // 3. By amount: a credit without a UTR (one with a different UTR is another transfer) of
    //    exactly the expected net within a day of `settled_on`, when it is the only such credit
    //    for the settlement and the settlement the only one it could be.
    let nets: std::collections::HashSet<i64> =
        settlements.iter().filter(|s| s.credit.is_none() && s.expected_net.0 > 0).map(|s| s.expected_net.0).collect();
    let mut by_amount: HashMap<i64, Vec<u32>> = HashMap::new();
    for &b in open_bank {
        let row = &bank[b as usize];
        if !taken[b as usize] && row.utr.is_none() && nets.contains(&row.amount.0) {
            by_amount.entry(row.amount.0).or_default().push(b);
        }
    }
    let candidates: Vec<(usize, Vec<u32>)> = settlements
        .iter()
        .enumerate()
        .filter(|(_, s)| s.credit.is_none() && s.expected_net.0 > 0)
        .map(|(i, s)| {
            let near = by_amount.get(&s.expected_net.0).map(Vec::as_slice).unwrap_or_default();
            let near = near.iter().copied().filter(|&b| bank[b as usize].date.days_until(s.settled_on).abs() <= 1);
            (i, near.collect())
        })
        .collect();
    let mut claims: HashMap<u32, u32> = HashMap::new();
    for (_, near) in &candidates {
        for &b in near {
            *claims.entry(b).or_default() += 1;
        }
    }
    for (i, near) in candidates {
        if let [b] = near.as_slice() {
            if claims[b] == 1 {
                taken[*b as usize] = true;
                settlements[i].credit = Some((*b, TieRule::Amount));
            }
        }
    }
}

/// Finds settlement ids in narrations as banks print them: in any case, bounded by anything
/// but a letter, digit or `_` (`NEFT CR-UTR-ACQUIRER-setl_Ab12`, `SETTL/SETL_AB12/OCT`).
struct IdFinder {
    /// Upper-cased id → settlement index, grouped by the id's first word for the lookup.
    by_first_word: HashMap<String, Vec<(String, usize)>>,
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl IdFinder {
    fn new<'a>(ids: impl Iterator<Item = (&'a str, usize)>) -> IdFinder {
        let mut by_first_word: HashMap<String, Vec<(String, usize)>> = HashMap::new();
        for (id, i) in ids {
            let upper = id.to_ascii_uppercase();
            let first = upper.bytes().take_while(|&c| is_word_byte(c)).map(char::from).collect::<String>();
            by_first_word.entry(first).or_default().push((upper, i));
        }
        IdFinder { by_first_word }
    }

    /// The settlements `narration` names, each once, in index order.
    fn named_in(&self, narration: &str) -> Vec<usize> {
        let text = narration.to_ascii_uppercase();
        let b = text.as_bytes();
        let mut found = Vec::new();
        let mut at = 0;
        while at < b.len() {
            if !is_word_byte(b[at]) || (at > 0 && is_word_byte(b[at - 1])) {
                at += 1;
                continue;
            }
            let end = at + b[at..].iter().take_while(|&&c| is_word_byte(c)).count();
            for (id, i) in self.by_first_word.get(&text[at..end]).map(Vec::as_slice).unwrap_or_default() {
                let after = at + id.len();
                if text[at..].starts_with(id.as_str()) && b.get(after).is_none_or(|&c| !is_word_byte(c)) {
                    found.push(*i);
                }
            }
            at = end;
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}
