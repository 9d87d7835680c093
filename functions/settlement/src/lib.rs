//! The settlement engine (issue 12): the seed's `settlement-engine`, as Lambda functions over the
//! typed store and the pure cycle in `settlepaisa-payout`.
//!
//! - [`cycle_run::handle`] — `settle-cycle`: a business day's run for every merchant, each batch
//!   committed against the merchant's ledger version, then [`payouts::send`];
//! - [`payouts`] — the day's bulk payout files, one per paying bank, every batch in one file;
//! - [`responses::handle`] — `apply-payout-responses`: the bank's answers move batches to
//!   `CREDITED` or `FAILED` (lines back in the pool);
//! - [`inputs`] — what a run reads: reconciled payments, refunds, adjustments;
//! - [`ledger_store`] — a merchant's ledger objects in S3;
//! - [`api`] — the ops API: settlements (with their lines) and merchants (read, hold, edit).

pub mod api;
pub mod cycle_run;
pub mod error;
pub mod inputs;
pub mod ledger_store;
pub mod payouts;
pub mod responses;

pub use error::SettleError;
pub use settlepaisa_store::Context;
