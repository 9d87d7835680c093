//! The workspace's one integration-test binary: each module drives the product through its public
//! interface, as a user would.

mod aging;
mod api;
mod api_limits;
mod approvals;
mod audit;
mod chunks;
mod claims;
mod connectors;
mod delivery;
mod deploy_path;
mod disputes;
mod faults;
mod pipeline;
mod rate_limits;
mod recon_cli;
mod reports;
mod secrets;
mod settle_cli;
mod settle_cycle;
mod settle_portal;
mod template;
mod webhooks;
