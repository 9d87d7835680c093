//! The `settlepaisa` CLI's commands, as a library so that tests drive them in-process.

pub mod audit_cmd;
pub mod bench_api_cmd;
pub mod bench_cmd;
pub mod bench_report_cmd;
pub mod bench_webhooks_cmd;
pub mod dispute_demo;
pub mod error;
pub mod floor_cmd;
pub mod gen_cmd;
pub mod local;
pub mod local_cmd;
pub mod memory;
pub mod merchants_cmd;
pub mod recon_cmd;
pub mod recon_inputs;
pub mod sample_events;
pub mod settle_cmd;
pub mod settle_demo;
pub mod startup_cmd;
pub mod token_cmd;
