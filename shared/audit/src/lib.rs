//! The audit trail's pure core.
//!
//! - [`entry`] — who did what to what, when, with what outcome, and the before/after;
//! - [`canonical`] — the one byte encoding an entry is hashed in;
//! - [`chain`] — sealing an entry onto its day's chain, and verifying a chain.

pub mod canonical;
pub mod chain;
pub mod entry;
pub mod rules;

pub use chain::{seal, verify, Break, Head};
pub use entry::{Actor, Draft, Entry, Outcome};
