//! Reports (issue 15 §3): recon summary, exceptions, settlements, disputes and merchant
//! statements as CSV, generated off the request (SQS → `generate-report`) and streamed into S3.
//!
//! - [`kind`] — each report's header and who may ask (plain Rust);
//! - [`api`] — `POST /api/reports`, `GET /api/reports/{id}`;
//! - [`generate`] — the queue's worker; [`sources`] — the rows; [`sink`] — the multipart CSV.

pub mod api;
pub mod generate;
pub mod kind;
pub mod sink;
pub mod sources;
