//! `apply-payout-responses`: a bank's payout response file (`incoming/payout-responses/{bank}/`,
//! forwarded by `ingest-file` through the payout response queue) applied line by line.
//!
//! A `SUCCESS` credits its batch (with the payout UTR); a `RETURNED` or `REJECTED` fails it and
//! puts its lines back in the merchant's pool (the ledger moves with the batch, in one
//! transaction). Each line's outcome is written beside the file's name under
//! `payout-responses/{bank}/{name}.outcome.csv`. A file with a bad line is refused whole, with the
//! lines named there. Re-delivered or older lines change nothing ([`decide`]).

use crate::error::SettleError;
use crate::ledger_store;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use settlepaisa_aws::s3;
use settlepaisa_payout::payout_response::{decide, parse_responses, Decision, PayoutResponse, ResponseStatus};
use settlepaisa_store::settlements::{self, LedgerMove, ResponseChange};
use settlepaisa_store::{job::now_rfc3339, Context};

/// Attempts at one line when the batch or ledger moves under it.
const ATTEMPTS: u32 = 5;

/// The object a message names (`ingest-file` forwards the S3 event's bucket and key).
pub use settlepaisa_aws::forwarded::ForwardedFile as ResponseFile;

#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileOutcome {
    pub key: String,
    pub report: String,
    pub refused: bool,
    pub credited: usize,
    pub failed: usize,
    pub unchanged: usize,
    /// Lines that contradict their batch (logged as errors for the alarm).
    pub conflicts: usize,
}

/// The bank a response file came from: `incoming/payout-responses/{bank}/…`.
fn bank_of(key: &str) -> Option<&str> {
    key.strip_prefix("incoming/payout-responses/")?.split_once('/').map(|(b, _)| b)
}

/// Each message a file; a failed one (or one whose body names no file) is retried by the queue
/// and then dead-lettered, never dropped.
pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    settlepaisa_aws::forwarded::each_file(&event, "payout response file", |f| async move {
        apply_file(ctx, &f).await.map(|_| ())
    })
    .await
}

/// Each delivery's outcome under its own name: a re-delivery does not hide the first one's.
fn report_key(key: &str) -> String {
    let rest = key.strip_prefix("incoming/").unwrap_or(key);
    let at = settlepaisa_store::job::now_rfc3339().replace(':', "");
    format!("{rest}.outcome-{at}-{}.csv", &ledger_store::nonce()[..6])
}

pub async fn apply_file(ctx: &Context, file: &ResponseFile) -> Result<FileOutcome, SettleError> {
    let bytes = s3::get_bytes(&ctx.clients.s3, &file.bucket, &file.key).await?;
    let text = String::from_utf8_lossy(&bytes);
    let mut out = FileOutcome { key: file.key.clone(), report: report_key(&file.key), ..FileOutcome::default() };
    let mut report = String::from("reference,status,outcome\n");
    match parse_responses(&text) {
        Err(bad) => {
            out.refused = true;
            report = String::from("line,reason\n");
            for b in bad {
                report.push_str(&format!("{},\"{}\"\n", b.line, b.reason.replace('"', "'")));
            }
        }
        Ok(mut lines) => {
            // Oldest first: a return after a credit is applied after it.
            // At the same time, a credit before a return (a bank that stamps dates only).
            lines.sort_by_key(|r| (r.processed_at, r.status != ResponseStatus::Success));
            let bank = bank_of(&file.key);
            for r in &lines {
                let (what, outcome) = apply_line(ctx, r, bank).await?;
                match what {
                    Applied::Credited => out.credited += 1,
                    Applied::Failed => out.failed += 1,
                    Applied::Unchanged => out.unchanged += 1,
                    Applied::Conflict => {
                        tracing::error!(reference = %r.reference, file = %file.key, %outcome, "payout response conflicts with the batch: ops to check with the bank");
                        out.conflicts += 1
                    }
                }
                report.push_str(&format!("{},{},\"{}\"\n", r.reference, r.status.as_str(), outcome.replace('"', "'")));
            }
        }
    }
    s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &out.report, report.into_bytes()).await?;
    tracing::info!(outcome = %serde_json::to_string(&out).unwrap_or_default(), "payout responses applied");
    Ok(out)
}

enum Applied {
    Credited,
    Failed,
    Unchanged,
    Conflict,
}

async fn apply_line(ctx: &Context, r: &PayoutResponse, bank: Option<&str>) -> Result<(Applied, String), SettleError> {
    let db = &ctx.clients.dynamodb;
    let (table, kpi) = (&ctx.resources.settlements_table, &ctx.resources.kpi_table);
    for _ in 0..ATTEMPTS {
        let Some(batch) = settlements::get_batch(db, table, &r.reference).await? else {
            return Ok((Applied::Unchanged, "no such settlement".into()));
        };
        if let (Some(sent_to), Some(from)) = (&batch.payout_bank, bank) {
            if !sent_to.eq_ignore_ascii_case(from) {
                return Ok((Applied::Conflict, format!("the batch was sent to {sent_to}, not {from}")));
            }
        }
        let now = now_rfc3339();
        let audit = || {
            let draft = settlepaisa_store::audit::by_function(
                "apply-payout-responses",
                "payout.response",
                ("settlement", &batch.settlement_id),
                &r.reference,
            );
            (ctx.resources.audit_table.as_str(), draft)
        };
        match decide(batch.status, batch.payout_key.is_some(), batch.last_response_at, r) {
            Decision::Unchanged(why) => return Ok((Applied::Unchanged, why)),
            Decision::Conflict(why) => return Ok((Applied::Conflict, why)),
            Decision::Credit { utr } => {
                let change = ResponseChange::Credit { utr: &utr };
                if settlements::apply_response(db, table, kpi, &batch, change, r.processed_at, &now, audit()).await? {
                    return Ok((Applied::Credited, format!("credited, UTR {utr}")));
                }
            }
            Decision::Fail { reason } => {
                let head = settlements::head(db, table, &batch.merchant_id).await?;
                let mut ledger = ledger_store::read(ctx, &batch.merchant_id, &head).await?;
                ledger.undo(&batch.settlement_id);
                let new_key =
                    ledger_store::write(ctx, &batch.merchant_id, &head, &ledger, &ledger_store::nonce()).await?;
                let mv = LedgerMove { merchant_id: batch.merchant_id.clone(), expected: head.version, new_key };
                let change = ResponseChange::Fail { reason: &reason, ledger: &mv };
                if settlements::apply_response(db, table, kpi, &batch, change, r.processed_at, &now, audit()).await? {
                    return Ok((Applied::Failed, "failed; its lines are eligible in the next cycle".into()));
                }
            }
        }
    }
    Err(SettleError::Contended(r.reference.clone()))
}
