//! PG webhooks (issue 14), without AWS: who sent a delivery ([`signature`], the Standard Webhooks
//! scheme), what it says ([`event`]), and what a transaction's events add up to whatever order
//! they arrive in ([`txn_state`]), including how it compares with the PG's file export
//! ([`file_check`]). The `pg-ingestion` functions verify, record and queue a delivery, then load
//! a transaction's state, ask [`txn_state::apply`] and store the answer.

pub mod event;
pub mod file_check;
pub mod instant;
pub mod kpi;
pub mod signature;
pub mod txn_state;

#[cfg(test)]
mod txn_state_tests;
