//! SettlePaisa's reconciliation core, in plain Rust with no AWS types: money, dates and UTRs;
//! bank-statement normalization by template; the PG export; the matching engine and its
//! categories; the reports; and a generator of realistic test data.

pub mod bank_file;
pub mod chunks;
pub mod compact;
pub mod config;
pub mod date;
pub mod engine;
pub mod exception_category;
pub mod fields;
pub mod gen;
pub mod id_key;
pub mod kpi;
pub mod lines;
pub mod money;
pub mod outcome;
pub mod parallel_parse;
pub mod pg_file;
pub mod reject;
pub mod report;
pub mod score;
pub mod settlement;
pub mod shard;
pub mod stream;
pub mod template;
#[cfg(test)]
mod test_records;
pub mod totals;
pub mod touch;
pub mod utr;

pub use bank_file::BankRow;
pub use config::MatchConfig;
pub use engine::reconcile;
pub use money::Paise;
pub use outcome::{Category, Exception, Match, Reconciliation};
pub use pg_file::PgTxn;
