//! Chargebacks and disputes (issue 13), without AWS: what a dispute is ([`model`]), how it may
//! move and what money each move takes or gives back ([`lifecycle`]), when a response is due
//! ([`rules`]), and the acquirers' and NPCI's dispute files ([`file`]). The chargeback functions
//! load a dispute, ask [`lifecycle`] and store the answer; nothing here knows where it is kept.

pub mod file;
pub mod kpi;
pub mod lifecycle;
pub mod model;
pub mod network;
pub mod rules;

#[cfg(test)]
mod lifecycle_tests;
