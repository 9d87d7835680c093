//! The matching engine: two matching stages (and the settlement step between them, when there
//! are settlement reports) over the canonical record order, then categorization.
//!
//! 1. **UTR stage.** Records are grouped by UTR (one parallel sort). A UTR on more than one
//!    record of a side is a `DUPLICATE_UTR` group; exactly one PG and one credit form a pair that
//!    is an `AMOUNT_MISMATCH` when the amounts differ by the tolerance or more, a match when its
//!    confidence reaches the threshold, and otherwise a low-confidence suggestion.
//! 2. **Settlements** (when reports are given): bulk credits tied to their settlements, and the
//!    open PG transactions they paid matched through them (`crate::settlement`).
//! 3. **Fallback stage.** What is left is paired by amount (within tolerance) and date (within the
//!    window) where at least one side has no UTR: two different UTRs are two different payments.
//!    Each PG keeps its ten best candidates; pairs are then taken greedily in a total order (score,
//!    smaller amount gap, smaller day gap, txn_id, bank ref), so the result is one-to-one and the
//!    same whatever order the inputs came in.
//! 4. **Categorization.** Unpaired records become `UTR_MISSING` (no UTR), `UNMATCHED_PG` or
//!    `UNMATCHED_BANK`.

use crate::bank_file::{BankRow, Direction};
use crate::config::MatchConfig;
use crate::id_key::{sort_by_id, IdKey, Reorder};
use crate::outcome::{Category, EngineTimings, Exception, Match, Reconciliation, Why};
use crate::pg_file::PgTxn;
use crate::score::score;
use crate::settlement::settle::{group_rows, settle, GroupedRows};
use crate::settlement::{FeeSchedule, SettlementRecon, SettlementRow};
use crate::utr::Utr;
use rayon::prelude::*;
use std::time::Instant;

const BANK_BIT: u32 = 1 << 31;
/// Candidates kept per PG transaction in the fallback stage (the seed's query kept ten).
const CANDIDATES_PER_PG: usize = 10;

/// Reconciles the captured PG transactions in `pg` against the credits in `bank`; other statuses
/// and withdrawals are dropped first.
///
/// `pg` must not repeat a `txn_id`, nor `bank` a `(file, line)`; both are put in canonical order.
pub fn reconcile<'a>(pg: Vec<PgTxn<'a>>, bank: Vec<BankRow<'a>>, cfg: &MatchConfig) -> Reconciliation<'a> {
    reconcile_with_settlements(pg, bank, Vec::new(), &FeeSchedule::default(), cfg).0
}

/// As [`reconcile`], with acquirer settlement reports: after the UTR stage, each settlement is
/// tied to the bulk credit that paid it and checked ([`crate::settlement::settle`]); the open PG
/// transactions its credit paid are matched through it and the credit leaves the open set, so
/// neither reaches the fallback stage.
pub fn reconcile_with_settlements<'a>(
    pg: Vec<PgTxn<'a>>,
    bank: Vec<BankRow<'a>>,
    settlement_rows: Vec<SettlementRow<'a>>,
    fees: &FeeSchedule,
    cfg: &MatchConfig,
) -> (Reconciliation<'a>, SettlementRecon<'a>) {
    let started = Instant::now();
    let (pg, bank, pg_keys) = prepare(pg, bank);
    // Grouping the reports' rows and finding their transactions needs nothing of the UTR stage.
    // It runs first, so the export's id keys it joins on are freed before the UTR stage's own keys
    // are built: the two are the largest arrays of the step, and never held together.
    let grouped = (!settlement_rows.is_empty()).then(|| group_rows(settlement_rows, &pg, &pg_keys));
    drop(pg_keys);
    let utr = utr_stage(&pg, &bank, cfg);
    let own_match = if grouped.is_none() { Vec::new() } else { own_matches(&utr, pg.len()) };
    after_utr_stage(pg, bank, utr, &own_match, grouped, fees, &|_| false, cfg, started)
}

/// Per PG record: the credit carrying its UTR that the UTR stage paired it with — a match, or an
/// exception pairing them (an amount mismatch, a pair awaiting review, a duplicate group) — or
/// `u32::MAX`.
fn own_matches(utr: &UtrStage, pg_len: usize) -> Vec<u32> {
    let mut own_match = vec![u32::MAX; pg_len];
    for m in &utr.matches {
        own_match[m.pg as usize] = m.bank;
    }
    for e in utr.exceptions.iter().filter(|e| !e.bank.is_empty()) {
        for &p in &e.pg {
            own_match[p as usize] = e.bank[0];
        }
    }
    own_match
}

/// What the UTR shards of a sharded run settled that the settlement step must know of: PG
/// records a settlement row names which a UTR shard placed (with the credit it paired each with,
/// when there is one), sent to the residual shard beside the open records.
#[derive(Debug, Default)]
pub struct ClosedRecords<'a> {
    /// `txn_id` → the bank ref (`FILE:LINE`) of its own credit, or `None` (placed without one:
    /// its UTR repeated in the PG export).
    pub pg: std::collections::HashMap<&'a str, Option<(&'a str, u32)>>,
    /// Transactions a settlement row names that the PG exported on a capture day outside the
    /// job's range: another job's to check, never an `UNKNOWN_TXN` here.
    pub exported_elsewhere: std::collections::HashSet<String>,
}

/// The residual shard of a sharded run with settlement reports: `pg` and `bank` hold the records
/// every UTR shard left open, those without a UTR, and the closed records of `closed` (and their
/// own credits), which are context only — the UTR shards placed them. The settlement step, the
/// fallback stage and categorization then run over the open ones exactly as
/// [`reconcile_with_settlements`] runs them after its UTR stage (whose work the UTR shards did:
/// an open record's UTR occurs in no other open record), so the sharded run equals the single one.
pub fn reconcile_residual<'a>(
    pg: Vec<PgTxn<'a>>,
    bank: Vec<BankRow<'a>>,
    closed: &ClosedRecords<'a>,
    settlement_rows: Vec<SettlementRow<'a>>,
    fees: &FeeSchedule,
    cfg: &MatchConfig,
) -> (Reconciliation<'a>, SettlementRecon<'a>) {
    let started = Instant::now();
    let (pg, bank, pg_keys) = prepare(pg, bank);
    let own_credits: std::collections::HashSet<(&str, u32)> = closed.pg.values().flatten().copied().collect();
    let by_ref: std::collections::HashMap<(&str, u32), u32> =
        bank.iter().enumerate().map(|(i, b)| ((b.file, b.line), i as u32)).collect();
    let mut own_match = vec![u32::MAX; pg.len()];
    let mut open_pg = Vec::with_capacity(pg.len());
    for (i, p) in pg.iter().enumerate() {
        match closed.pg.get(p.txn_id) {
            None => open_pg.push(i as u32),
            Some(credit) => {
                if let Some(b) = credit.and_then(|r| by_ref.get(&r)) {
                    own_match[i] = *b;
                }
            }
        }
    }
    let open_bank =
        (0..bank.len() as u32).filter(|&b| !own_credits.contains(&bank_key(&bank[b as usize]))).collect::<Vec<_>>();
    let utr = UtrStage { matches: Vec::new(), exceptions: Vec::new(), open_pg, open_bank };
    let grouped = (!settlement_rows.is_empty()).then(|| group_rows(settlement_rows, &pg, &pg_keys));
    drop(pg_keys);
    let elsewhere = |t: &str| closed.exported_elsewhere.contains(t);
    after_utr_stage(pg, bank, utr, &own_match, grouped, fees, &elsewhere, cfg, started)
}

/// The settlement step (when there are reports), the fallback stage and categorization, over
/// what the UTR stage left open.
#[allow(clippy::too_many_arguments)]
fn after_utr_stage<'a>(
    pg: Vec<PgTxn<'a>>,
    bank: Vec<BankRow<'a>>,
    mut utr: UtrStage,
    own_match: &[u32],
    grouped: Option<GroupedRows<'a>>,
    fees: &FeeSchedule,
    exported_elsewhere: &(dyn Fn(&str) -> bool + Sync),
    cfg: &MatchConfig,
    started: Instant,
) -> (Reconciliation<'a>, SettlementRecon<'a>) {
    let (settlement_recon, settled, awaiting) = if let Some(grouped) = grouped {
        let step = settle(grouped, &pg, &bank, own_match, &utr.open_pg, &utr.open_bank, fees, exported_elsewhere);
        utr.open_pg.retain(|&p| !step.pg_taken[p as usize]);
        utr.open_bank.retain(|&b| !step.bank_taken[b as usize]);
        let awaiting =
            step.awaiting.iter().map(|&(p, s)| (p, step.recon.settlements[s as usize].settlement_id)).collect();
        (step.recon, step.matches, awaiting)
    } else {
        (SettlementRecon::default(), Vec::new(), Vec::new())
    };
    let mut matches = utr.matches;
    let mut exceptions = utr.exceptions;
    let pairs = fallback_stage(&pg, &bank, &utr.open_pg, &utr.open_bank, cfg);
    let match_us = started.elapsed().as_micros() as u64;

    let categorizing = Instant::now();
    let mut paired_pg = vec![false; pg.len()];
    let mut paired_bank = vec![false; bank.len()];
    for m in pairs {
        paired_pg[m.pg as usize] = true;
        paired_bank[m.bank as usize] = true;
        if cfg.auto_resolve && m.score.meets(cfg.threshold) {
            matches.push(m);
        } else {
            let why = if pg[m.pg as usize].utr.is_none() { Why::PgUtrMissing } else { Why::BankUtrMissing };
            exceptions.push(Exception {
                category: Category::UtrMissing,
                pg: vec![m.pg],
                bank: vec![m.bank],
                amount_delta: m.score.amount_delta,
                suggestion: Some(m),
                why,
            });
        }
    }
    for &p in utr.open_pg.iter().filter(|&&p| !paired_pg[p as usize]) {
        let rec = &pg[p as usize];
        let (category, why) = if rec.utr.is_none() {
            (Category::UtrMissing, Why::PgUtrMissing)
        } else {
            (Category::UnmatchedPg, Why::NoCounterpart)
        };
        exceptions.push(Exception {
            category,
            pg: vec![p],
            bank: vec![],
            amount_delta: -rec.amount.0,
            suggestion: None,
            why,
        });
    }
    for &b in utr.open_bank.iter().filter(|&&b| !paired_bank[b as usize]) {
        let rec = &bank[b as usize];
        let (category, why) = if rec.utr.is_none() {
            (Category::UtrMissing, Why::BankUtrMissing)
        } else {
            (Category::UnmatchedBank, Why::NoCounterpart)
        };
        exceptions.push(Exception {
            category,
            pg: vec![],
            bank: vec![b],
            amount_delta: rec.amount.0,
            suggestion: None,
            why,
        });
    }
    sort_outcome(&mut matches, &mut exceptions);
    let timings = EngineTimings { match_us, categorize_us: categorizing.elapsed().as_micros() as u64 };
    let rec = Reconciliation { pg, bank, matches, settled, awaiting, exceptions, config: cfg.clone(), timings };
    (rec, settlement_recon)
}

/// The UTR stage alone, for one shard of a sharded run (shards partitioned by UTR, so every group
/// is whole in one shard). Returns the shard's matches and exceptions, and the records it left open:
/// those, from every shard, plus the records without a UTR, are then reconciled together with
/// [`reconcile`]. Because an open record's UTR occurs nowhere else, that second run's UTR stage
/// settles nothing and its fallback sees exactly what a single run's fallback would: the sharded
/// result equals the single-process one.
pub fn reconcile_utr_shard<'a>(pg: Vec<PgTxn<'a>>, bank: Vec<BankRow<'a>>, cfg: &MatchConfig) -> ShardOutcome<'a> {
    let started = Instant::now();
    let (pg, bank, _) = prepare(pg, bank);
    let utr = utr_stage(&pg, &bank, cfg);
    let mut matches = utr.matches;
    let mut exceptions = utr.exceptions;
    sort_outcome(&mut matches, &mut exceptions);
    let timings = EngineTimings { match_us: started.elapsed().as_micros() as u64, categorize_us: 0 };
    ShardOutcome {
        settled: Reconciliation {
            pg,
            bank,
            matches,
            settled: Vec::new(),
            awaiting: Vec::new(),
            exceptions,
            config: cfg.clone(),
            timings,
        },
        open_pg: utr.open_pg,
        open_bank: utr.open_bank,
    }
}

/// What a UTR shard settled, and the indices (into `settled.pg` / `settled.bank`) it left open.
#[derive(Debug)]
pub struct ShardOutcome<'a> {
    pub settled: Reconciliation<'a>,
    pub open_pg: Vec<u32>,
    pub open_bank: Vec<u32>,
}

impl ShardOutcome<'_> {
    /// The PG records this shard placed (a match or an exception) whose `txn_id` `named` holds,
    /// each with the credit the UTR stage paired it with, if any (indices into `settled`): what
    /// the residual shard's settlement step needs to know of them ([`ClosedRecords`]).
    pub fn closed_named(&self, named: &dyn Fn(&str) -> bool) -> Vec<(u32, Option<u32>)> {
        let rec = &self.settled;
        let mut own: Vec<Option<u32>> = vec![None; rec.pg.len()];
        let mut placed = vec![false; rec.pg.len()];
        for m in &rec.matches {
            (own[m.pg as usize], placed[m.pg as usize]) = (Some(m.bank), true);
        }
        for e in &rec.exceptions {
            for &p in &e.pg {
                placed[p as usize] = true;
                if let Some(&b) = e.bank.first() {
                    own[p as usize] = Some(b);
                }
            }
        }
        (0..rec.pg.len()).filter(|&i| placed[i] && named(rec.pg[i].txn_id)).map(|i| (i as u32, own[i])).collect()
    }
}

/// Report order: matches by PG record; exceptions by category, then PG-side before bank-only, then
/// first record.
fn sort_outcome(matches: &mut [Match], exceptions: &mut [Exception]) {
    matches.par_sort_unstable_by_key(|m| m.pg);
    exceptions
        .par_sort_unstable_by_key(|e| (e.category, e.pg.is_empty(), e.pg.first().copied(), e.bank.first().copied()));
}

/// Drops what is not reconciled (other statuses, withdrawals) and puts the rest in canonical order;
/// returns each PG record's [`IdKey`] with them (the settlement step joins on those).
fn prepare<'a>(mut pg: Vec<PgTxn<'a>>, mut bank: Vec<BankRow<'a>>) -> (Vec<PgTxn<'a>>, Vec<BankRow<'a>>, Vec<IdKey>) {
    // Callers usually pass only captured rows and credits: check in parallel before filtering.
    if !pg.par_iter().all(PgTxn::is_captured) {
        pg.retain(PgTxn::is_captured);
    }
    if !bank.par_iter().all(|b| b.direction == Direction::Credit) {
        bank.retain(|b| b.direction == Direction::Credit);
    }
    let pg_keys = canonicalize(&mut pg, &mut bank);
    assert!(pg.len() < BANK_BIT as usize && bank.len() < BANK_BIT as usize, "too many records for one run");
    (pg, bank, pg_keys)
}

/// PG by `txn_id` (then line), bank by `(file, line)`: every tie-break below uses these indices,
/// so the outcome cannot depend on the order the records arrived in. The PG records are moved in
/// place: the engine holds every record of the run.
fn canonicalize(pg: &mut Vec<PgTxn<'_>>, bank: &mut [BankRow<'_>]) -> Vec<IdKey> {
    let keys = sort_by_id(pg, |t| t.txn_id, |t| t.line, Reorder::InPlace);
    if !bank.par_windows(2).all(|w| bank_key(&w[0]) < bank_key(&w[1])) {
        bank.par_sort_unstable_by(|a, b| bank_key(a).cmp(&bank_key(b)));
    }
    debug_assert!(pg.windows(2).all(|w| w[0].txn_id != w[1].txn_id), "txn_id repeated");
    debug_assert!(bank.windows(2).all(|w| bank_key(&w[0]) != bank_key(&w[1])), "bank ref repeated");
    keys
}

fn bank_key<'a>(b: &BankRow<'a>) -> (&'a str, u32) {
    (b.file, b.line)
}

struct UtrStage {
    matches: Vec<Match>,
    exceptions: Vec<Exception>,
    /// Records the UTR stage did not settle, in index order.
    open_pg: Vec<u32>,
    open_bank: Vec<u32>,
}

#[derive(Default)]
struct UtrChunk {
    matches: Vec<Match>,
    exceptions: Vec<Exception>,
    open_pg: Vec<u32>,
    open_bank: Vec<u32>,
}

fn utr_stage(pg: &[PgTxn<'_>], bank: &[BankRow<'_>], cfg: &MatchConfig) -> UtrStage {
    let mut keys: Vec<(Utr, u32)> = Vec::with_capacity(pg.len() + bank.len());
    keys.par_extend(pg.par_iter().enumerate().filter_map(|(i, p)| p.utr.map(|u| (u, i as u32))));
    keys.par_extend(bank.par_iter().enumerate().filter_map(|(i, b)| b.utr.map(|u| (u, i as u32 | BANK_BIT))));
    keys.par_sort_unstable();

    // Cut the sorted keys into pieces that start on a group boundary, and settle them in parallel.
    let pieces = rayon::current_num_threads() * 8;
    let mut bounds = vec![0usize];
    for k in 1..pieces {
        let mut at = keys.len() * k / pieces;
        while at > 0 && at < keys.len() && keys[at].0 == keys[at - 1].0 {
            at += 1;
        }
        if at > *bounds.last().unwrap_or(&0) && at < keys.len() {
            bounds.push(at);
        }
    }
    bounds.push(keys.len());
    let chunks: Vec<UtrChunk> =
        bounds.par_windows(2).map(|w| settle_utr_groups(&keys[w[0]..w[1]], pg, bank, cfg)).collect();

    // Chunks join in order into lists sized once; the records without a UTR (which no group
    // holds) are found in parallel meanwhile.
    let (no_utr_pg, no_utr_bank) = rayon::join(
        || (0..pg.len() as u32).into_par_iter().filter(|&i| pg[i as usize].utr.is_none()).collect::<Vec<u32>>(),
        || (0..bank.len() as u32).into_par_iter().filter(|&i| bank[i as usize].utr.is_none()).collect::<Vec<u32>>(),
    );
    let mut out = UtrStage {
        matches: Vec::with_capacity(chunks.iter().map(|c| c.matches.len()).sum()),
        exceptions: Vec::with_capacity(chunks.iter().map(|c| c.exceptions.len()).sum()),
        open_pg: Vec::with_capacity(chunks.iter().map(|c| c.open_pg.len()).sum::<usize>() + no_utr_pg.len()),
        open_bank: Vec::with_capacity(chunks.iter().map(|c| c.open_bank.len()).sum::<usize>() + no_utr_bank.len()),
    };
    for c in chunks {
        out.matches.extend(c.matches);
        out.exceptions.extend(c.exceptions);
        out.open_pg.extend(c.open_pg);
        out.open_bank.extend(c.open_bank);
    }
    out.open_pg.extend(no_utr_pg);
    out.open_bank.extend(no_utr_bank);
    out.open_pg.par_sort_unstable();
    out.open_bank.par_sort_unstable();
    out
}

fn settle_utr_groups(keys: &[(Utr, u32)], pg: &[PgTxn<'_>], bank: &[BankRow<'_>], cfg: &MatchConfig) -> UtrChunk {
    let mut out = UtrChunk::default();
    let mut start = 0;
    // Scoring reads each record and the text it points to, in UTR order: random in the files.
    // Touch the next batch's first (`crate::touch`).
    let mut ahead = crate::touch::Ahead::default();
    while start < keys.len() {
        ahead.before(start, keys.len(), |batch| {
            crate::touch::first_bytes(keys[batch].iter().map(|&(_, t)| match t & BANK_BIT {
                0 => pg[t as usize].merchant_ref,
                _ => bank[(t & !BANK_BIT) as usize].narration,
            }))
        });
        let mut end = start + 1;
        while end < keys.len() && keys[end].0 == keys[start].0 {
            end += 1;
        }
        let group = &keys[start..end];
        start = end;
        // Sorted by (key, tagged index): PG members come first, then bank members.
        let split = group.partition_point(|(_, t)| t & BANK_BIT == 0);
        let idx = |i: usize| group[i].1 & !BANK_BIT;
        match (split, group.len() - split) {
            (1, 0) => out.open_pg.push(idx(0)),
            (0, 1) => out.open_bank.push(idx(0)),
            (1, 1) => settle_utr_pair(idx(0), idx(1), pg, bank, cfg, &mut out),
            _ => {
                let pgs: Vec<u32> = (0..split).map(idx).collect();
                let banks: Vec<u32> = (split..group.len()).map(idx).collect();
                let utr = if let Some(&p) = pgs.first() { pg[p as usize].utr } else { bank[banks[0] as usize].utr };
                let pg_sum: i64 = pgs.iter().map(|&p| pg[p as usize].amount.0).sum();
                let bank_sum: i64 = banks.iter().map(|&b| bank[b as usize].amount.0).sum();
                out.exceptions.push(Exception {
                    category: Category::DuplicateUtr,
                    pg: pgs,
                    bank: banks,
                    amount_delta: bank_sum - pg_sum,
                    suggestion: None,
                    why: Why::DuplicateUtr(utr.expect("grouped by UTR")),
                });
            }
        }
    }
    out
}

/// One PG transaction and one credit share a UTR: a mismatch, a match, or a suggestion.
fn settle_utr_pair(p: u32, b: u32, pg: &[PgTxn<'_>], bank: &[BankRow<'_>], cfg: &MatchConfig, out: &mut UtrChunk) {
    let s = score(&pg[p as usize], &bank[b as usize], cfg);
    let m = Match { pg: p, bank: b, score: s };
    if s.amount_delta.abs() >= cfg.amount_tolerance_paise {
        let utr = pg[p as usize].utr.expect("grouped by UTR");
        out.exceptions.push(Exception {
            category: Category::AmountMismatch,
            pg: vec![p],
            bank: vec![b],
            amount_delta: s.amount_delta,
            suggestion: None,
            why: Why::AmountMismatch(utr),
        });
    } else if s.meets(cfg.threshold) && cfg.auto_resolve {
        out.matches.push(m);
    } else {
        let why = if s.meets(cfg.threshold) { Why::AwaitingReview } else { Why::SameUtrLowConfidence };
        out.exceptions.push(Exception {
            category: Category::UnmatchedPg,
            pg: vec![p],
            bank: vec![b],
            amount_delta: s.amount_delta,
            suggestion: Some(m),
            why,
        });
    }
}

/// Candidate pair in the fallback stage, ordered best first.
#[derive(Clone, Copy)]
struct Candidate {
    m: Match,
}

impl Candidate {
    fn order_key(&self) -> (std::cmp::Reverse<u32>, u64, u32, u32, u32) {
        let s = &self.m.score;
        (std::cmp::Reverse(s.points), s.amount_delta.unsigned_abs(), s.day_gap.unsigned_abs(), self.m.pg, self.m.bank)
    }
}

/// Pairs left-over records by amount and date; returns the chosen one-to-one pairs.
fn fallback_stage(
    pg: &[PgTxn<'_>],
    bank: &[BankRow<'_>],
    open_pg: &[u32],
    open_bank: &[u32],
    cfg: &MatchConfig,
) -> Vec<Match> {
    let mut by_amount: Vec<(i64, u32)> = open_bank.iter().map(|&b| (bank[b as usize].amount.0, b)).collect();
    by_amount.par_sort_unstable();
    let tol = cfg.amount_tolerance_paise;
    let mut candidates: Vec<Candidate> = open_pg
        .par_iter()
        .flat_map_iter(|&p| {
            let rec = &pg[p as usize];
            let lo = by_amount.partition_point(|(a, _)| *a <= rec.amount.0 - tol);
            let hi = by_amount.partition_point(|(a, _)| *a < rec.amount.0 + tol);
            let mut best: Vec<Candidate> = by_amount[lo..hi]
                .iter()
                .map(|&(_, b)| &bank[b as usize])
                .zip(by_amount[lo..hi].iter().map(|&(_, b)| b))
                .filter(|(cand, _)| rec.utr.is_none() || cand.utr.is_none())
                .filter(|(cand, _)| rec.date.days_until(cand.date).abs() <= cfg.date_window_days)
                .map(|(cand, b)| Candidate { m: Match { pg: p, bank: b, score: score(rec, cand, cfg) } })
                .collect();
            best.sort_unstable_by_key(Candidate::order_key);
            best.truncate(CANDIDATES_PER_PG);
            best
        })
        .collect();
    candidates.par_sort_unstable_by_key(Candidate::order_key);
    let mut taken_pg = std::collections::HashSet::new();
    let mut taken_bank = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for c in candidates {
        if !taken_pg.contains(&c.m.pg) && !taken_bank.contains(&c.m.bank) {
            taken_pg.insert(c.m.pg);
            taken_bank.insert(c.m.bank);
            pairs.push(c.m);
        }
    }
    pairs
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
