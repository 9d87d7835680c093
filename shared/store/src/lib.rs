//! The typed store: what the stack keeps in DynamoDB, as Rust types that fail loudly on an item
//! they cannot read ([`settlepaisa_aws::dynamo::Malformed`]), and the configuration every
//! function starts from. The pipeline and the API use it alike; neither maps items by hand.
//!
//! - [`approvals`] — maker-checker: rules, parked requests and their markers on targets;
//! - [`audit`] — the audit table: a hash chain per day, appended in the transaction of the change;
//! - [`file_record`] — the files table: one record per ingested object version;
//! - [`kpi_generation`] — the counter that drops warm caches' KPI figures when they change;
//! - [`job`] — the jobs table: a job, its shards and its uploads;
//! - [`merchants`] — the merchants table: merchants and their settlement plans;
//! - [`settlements`] — the settlements table: ledger heads, batches, reconciled days, on-demand
//!   requests;
//! - [`disputes`] — the disputes table, and the adjustments and KPI counters a dispute moves;
//! - [`pg_events`] — the PG events table: webhook receipts, a transaction's webhook state, and
//!   what a change writes elsewhere (its row, refund deductions, KPI counters, conflicts);
//! - [`pg_event_notes`] — where a PG file export and the webhooks meet;
//! - [`connectors`] — the bank connectors table: configurations, run state and breaker, files
//!   taken and payout files pushed, recorded changes;
//! - [`rate_limits`] — per-user token buckets (one number each) for the edge's rate limits;
//! - [`reports`] — reports requested: status, rows, where the CSV is;
//! - [`results`] — the results table's keys and items: match pages and exceptions;
//! - [`txn_pages`] — the transactions table: counted PG rows in pages, by day and by merchant;
//! - [`txn_days`] — the day markers the transaction list reads;
//! - [`context`] — clients, resource names and settings, built once per process;
//! - [`runtime`] — a function's start-up: logs and the context, or a clear exit.

pub mod approvals;
pub mod audit;
pub mod connectors;
pub mod context;
pub mod disputes;
pub mod error;
pub mod file_record;
pub mod job;
pub mod kpi_generation;
pub mod ledgers;
pub mod merchants;
pub mod pg_event_notes;
pub mod pg_events;
pub mod rate_limits;
pub mod reports;
pub mod results;
pub mod runtime;
pub mod settlements;
pub mod txn_days;
pub mod txn_pages;

pub use context::Context;
pub use error::StoreError;
