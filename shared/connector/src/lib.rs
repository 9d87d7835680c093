//! Bank connectors (issue 14, part 2), without AWS or a network: what a connector is
//! ([`config`]), when it runs ([`cron`]), which of a bank's files are new ([`remote`]), how long
//! to wait before trying again ([`backoff`]), and when to stop trying for a while
//! ([`breaker`]). `functions/connectors` talks SFTP and HTTPS and keeps the state in DynamoDB.

pub mod backoff;
pub mod breaker;
pub mod config;
pub mod cron;
pub mod remote;
