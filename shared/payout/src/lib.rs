//! The settlement engine's pure core (issue 12): who is paid what, and when.
//!
//! - [`calendar`] — business days: not a Sunday, not the 2nd or 4th Saturday, not a holiday;
//! - [`merchant`] — merchants, their plans (cycle, minimum payout, reserve, MDR, GST) and the
//!   merchants file;
//! - [`files`] — the refunds and adjustments files;
//! - [`cycle`] — one business day's run: eligible payments, refunds and adjustments, the batch
//!   formula, reserve withheld and released, what carries forward;
//! - [`payout_file`] — the bulk payout instruction for the paying bank;
//! - [`payout_response`] — the bank's answer, and the batch states it moves;
//! - [`ledger_file`] — a merchant's ledger as text between runs, pruned, and undone for a
//!   failed payout;
//! - [`window`] — what a run may settle, and what left the window unsettled;
//! - [`refund_check`] — refunds never beyond their payment, judged against the ledger;
//! - [`reports`] — a batch's lines and what carried forward, as CSV.
//!
//! Money is integer paise with checked sums; shares are round-half-up of basis points, exact in
//! 128 bits.

pub mod aging;
pub mod calendar;
pub mod cycle;
pub mod files;
pub mod ledger_file;
pub mod merchant;
pub mod payout_file;
pub mod payout_response;
pub mod refund_check;
pub mod reports;
pub mod txn_stage;
pub mod window;

#[cfg(test)]
mod cycle_tests;
