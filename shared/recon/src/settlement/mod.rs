//! Bulk settlement reconciliation: acquirer settlement reports, the contracted fees they are
//! held to, and the step that ties each settlement to the bank credit that paid it.
//!
//! Cards, net banking and wallets do not settle one credit per payment: the acquirer pays one
//! bulk credit per settlement, net of its fees, GST on them, refunds and chargebacks, and lists
//! what the credit covers. [`settle`] proves each such credit and matches the PG transactions it
//! paid; the engine runs it between its UTR and fallback stages
//! ([`crate::engine::reconcile_with_settlements`]).

pub mod exceptions;
pub mod fees;
pub mod report;
pub mod report_file;
pub mod settle;
#[cfg(test)]
mod settle_tests;

pub use fees::FeeSchedule;
pub use report_file::{parse_settlement_file, RowKind, SettlementRow};
pub use settle::{LineCategory, LineException, SettledMatch, Settlement, SettlementRecon, SettlementStatus, TieRule};
