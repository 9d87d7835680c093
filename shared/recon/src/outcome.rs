//! What reconciliation decides for each record: a match, or one of the seed's five exception
//! categories, each with the reason a person needs to act on it.

use crate::bank_file::BankRow;
use crate::config::{format_fixed, MatchConfig};
use crate::pg_file::PgTxn;
use crate::score::Score;
use crate::settlement::SettledMatch;
use crate::utr::Utr;
use serde::{Deserialize, Serialize};

/// The seed's exception categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Category {
    DuplicateUtr,
    AmountMismatch,
    UtrMissing,
    UnmatchedPg,
    UnmatchedBank,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::DuplicateUtr,
        Category::AmountMismatch,
        Category::UtrMissing,
        Category::UnmatchedPg,
        Category::UnmatchedBank,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::DuplicateUtr => "DUPLICATE_UTR",
            Category::AmountMismatch => "AMOUNT_MISMATCH",
            Category::UtrMissing => "UTR_MISSING",
            Category::UnmatchedPg => "UNMATCHED_PG",
            Category::UnmatchedBank => "UNMATCHED_BANK",
        }
    }

    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(text))
    }
}

/// An automatic match: indices into the reconciliation's `pg` and `bank`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub pg: u32,
    pub bank: u32,
    pub score: Score,
}

/// A proposed pair that a person must confirm.
pub type Suggestion = Match;

/// Why an exception was raised, beyond its category.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The UTR occurs on more than one record of a side.
    DuplicateUtr(Utr),
    /// The one PG transaction and the one credit with this UTR disagree on amount.
    AmountMismatch(Utr),
    /// Same UTR and amount, but the other fields leave the confidence under the threshold.
    SameUtrLowConfidence,
    /// Confident enough, but `AUTO_RESOLVE_HIGH_CONFIDENCE` is off.
    AwaitingReview,
    /// The PG transaction, the credit, or both carry no UTR.
    PgUtrMissing,
    BankUtrMissing,
    /// Nothing on the other side could be its counterpart.
    NoCounterpart,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exception {
    pub category: Category,
    /// The records this exception covers (sorted indices).
    pub pg: Vec<u32>,
    pub bank: Vec<u32>,
    /// Σ bank amounts − Σ PG amounts over the covered records, in paise.
    pub amount_delta: i64,
    pub suggestion: Option<Suggestion>,
    pub why: Why,
}

/// Timings of the engine's own phases, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EngineTimings {
    pub match_us: u64,
    pub categorize_us: u64,
}

/// The result of a run: the records in canonical order (PG by `txn_id`, bank by file and line),
/// and the matches and exceptions over them. Every record is in exactly one of the two.
#[derive(Debug)]
pub struct Reconciliation<'a> {
    pub pg: Vec<PgTxn<'a>>,
    pub bank: Vec<BankRow<'a>>,
    pub matches: Vec<Match>,
    /// PG transactions matched through a settlement's bulk credit, by PG index: many share one
    /// credit. A PG transaction is in `matches`, `settled` or one exception, never two.
    pub settled: Vec<SettledMatch>,
    /// Open PG transactions listed in a settlement whose credit was not found (PG index,
    /// settlement id), by PG index: their exception's reason names it.
    pub awaiting: Vec<(u32, &'a str)>,
    pub exceptions: Vec<Exception>,
    pub config: MatchConfig,
    pub timings: EngineTimings,
}

/// The id of the exception of `category` over these records (PG `txn_id`s, bank `(file, line)`s),
/// so a resolution can name the exception that holds a single unmatched record.
pub fn exception_id_of(category: Category, txn_ids: &[&str], bank: &[(&str, u32)]) -> String {
    let mut h = Fnv64::new();
    h.write(category.as_str().as_bytes());
    for t in txn_ids {
        h.write(b"|p:");
        h.write(t.as_bytes());
    }
    for (file, line) in bank {
        h.write(b"|b:");
        h.write(file.as_bytes());
        h.write(&line.to_le_bytes());
    }
    format!("EXC-{:016x}", h.finish())
}

impl Reconciliation<'_> {
    /// A stable id: the same records in the same category get the same id in every run, shard
    /// layout and process, so a redelivered or re-run job writes the same items.
    pub fn exception_id(&self, e: &Exception) -> String {
        let txn_ids: Vec<&str> = e.pg.iter().map(|&i| self.pg[i as usize].txn_id).collect();
        let bank: Vec<(&str, u32)> =
            e.bank.iter().map(|&i| (self.bank[i as usize].file, self.bank[i as usize].line)).collect();
        exception_id_of(e.category, &txn_ids, &bank)
    }

    /// One sentence a person can act on.
    pub fn reason(&self, e: &Exception) -> String {
        let reason = self.engine_reason(e);
        let awaiting = e.pg.iter().filter_map(|p| {
            let at = self.awaiting.binary_search_by_key(p, |&(pg, _)| pg).ok()?;
            Some(self.awaiting[at].1)
        });
        let named: Vec<&str> = awaiting.collect();
        match named.as_slice() {
            [] => reason,
            ids => format!("{reason}; listed in settlement {} whose credit was not found", ids.join(", ")),
        }
    }

    fn engine_reason(&self, e: &Exception) -> String {
        let cfg = &self.config;
        let suggestion = |s: &Suggestion| {
            format!(
                "suggested pair {} ↔ {} at confidence {} ({})",
                self.pg[s.pg as usize].txn_id,
                self.bank[s.bank as usize].bank_ref(),
                format_fixed(s.score.confidence()),
                s.score.explain(cfg)
            )
        };
        let threshold = format_fixed(cfg.threshold);
        match (e.why, &e.suggestion) {
            (Why::DuplicateUtr(utr), _) => format!(
                "UTR {utr} appears on {} PG transaction(s) and {} bank credit(s); none auto-matched",
                e.pg.len(),
                e.bank.len()
            ),
            (Why::AmountMismatch(utr), _) => format!(
                "UTR {utr}: bank credited {} paise {} the PG amount",
                e.amount_delta.abs(),
                if e.amount_delta > 0 { "more than" } else { "less than" }
            ),
            (Why::SameUtrLowConfidence, Some(s)) => {
                format!("same UTR but confidence below the {threshold} threshold; {}", suggestion(s))
            }
            (Why::AwaitingReview, Some(s)) => {
                format!("auto-resolve is off (AUTO_RESOLVE_HIGH_CONFIDENCE=false); {}", suggestion(s))
            }
            (Why::PgUtrMissing, Some(s)) => format!("PG transaction has no UTR; {}", suggestion(s)),
            (Why::BankUtrMissing, Some(s)) => format!("bank credit has no UTR; {}", suggestion(s)),
            (Why::PgUtrMissing, None) => {
                "PG transaction has no UTR and no bank credit matches its amount and date".into()
            }
            (Why::BankUtrMissing, None) => {
                "bank credit has no UTR and no PG transaction matches its amount and date".into()
            }
            (Why::NoCounterpart, _) if e.category == Category::UnmatchedPg => {
                "no bank credit carries this UTR or matches its amount and date".into()
            }
            (Why::NoCounterpart, _) => "no PG transaction carries this UTR or matches its amount and date".into(),
            (_, None) => e.category.as_str().to_string(),
        }
    }
}

/// FNV-1a, 64 bit: tiny, stable across platforms and releases (unlike `DefaultHasher`).
pub(crate) struct Fnv64(u64);

impl Fnv64 {
    pub(crate) fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}
