//! The reconciliation pipeline's Lambda functions. Each handler is a plain async function over a
//! [`Context`] (clients, resource names, configuration), so Lambda, the local stack and the tests
//! run the same code:
//!
//! - [`ingest::handle`] — `ingest-file`: an S3 object → normalized partition segments, rejects, a
//!   file record (PG rows by claim group, for `claim-txns`);
//! - [`chunks::handle`] — `ingest-chunk`: one part of a large PG export, read in parallel;
//! - [`claims::handle`] — `claim-txns`: a PG export's transaction ids claimed, one (capture day,
//!   group) at a time, its rows paged into the transactions table and partitioned for matching;
//! - [`plan::handle`] — `plan-match`: a job → one SQS message per UTR shard (from the plan queue:
//!   [`plan::handle_queued`]);
//! - [`worker::handle`] — `match-shard`: a shard → matches, exceptions, KPI partials;
//! - [`finalize::handle`] — `finalize-job`: the job closed and its KPI items rolled up;
//! - [`renormalize::handle`] — `renormalize-file`: a job's statement read again with a chosen
//!   template;
//! - [`redrive::handle`] — `redrive-ingest`: failed ingestions taken up again from the ingest
//!   dead-letter queue.
//!
//! What they read and write goes through the typed store (`settlepaisa-store`), which the API
//! functions use too.

pub mod chunks;
pub mod claims;
pub mod error;
pub mod finalize;
pub mod ingest;
pub mod plan;
pub mod redrive;
pub mod renormalize;
pub mod settlement_ingest;
pub mod settlement_step;
pub mod sqs_batch;
pub mod worker;

// The typed store, under the names the pipeline's modules use for it.
pub use settlepaisa_store::{context, file_record, job, results, runtime, txn_days, txn_pages, Context};

pub use error::PipelineError;
