//! A PG row's `txn_id` belongs to the first file that brought it. Each row is written to the
//! transactions table with a condition that the id is new or already this file's (same line), so
//! a redelivered file writes its own rows again and a second file with the same ids — an operator
//! uploading one export twice under two names, or a re-export — gets rejects instead of a second
//! count, exactly as one file with a repeated `txn_id` does offline. An id held by a file that does
//! not count (deleted since, a duplicate, rejected), that counts in another scope (another job's
//! upload), or by an earlier version of the same key (a corrected re-upload, which supersedes it)
//! passes to the new one.

use crate::error::PipelineError;
use crate::file_record::{self, FileRecord, FileStatus};
use crate::transactions::transaction_item;
use crate::Context;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use settlepaisa_aws::dynamo::{n, nv, s, sv};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_recon::PgTxn;
use std::collections::HashMap;

/// Conditional puts in flight at once per invocation.
const IN_FLIGHT: usize = 32;

/// Who holds a `txn_id` the row could not claim.
#[derive(Clone, Debug)]
struct Holder {
    file_id: Option<String>,
    line: Option<i64>,
}

/// What each row came to: `None` claimed (written), `Some(reason)` a reject.
pub type Verdicts = Vec<Option<String>>;

/// The files holding ids, looked up once per ingestion, and the capture days already marked as
/// having rows ([`crate::txn_days`]).
#[derive(Default)]
pub struct Holders(HashMap<String, Option<FileRecord>>, std::collections::BTreeSet<String>);

/// The file claiming ids: who it is, where it counts, and when it arrived.
#[derive(Clone, Debug)]
pub struct Claimant {
    pub file_id: String,
    pub key: String,
    pub job_id: Option<String>,
    pub received_at: String,
}

impl Claimant {
    pub fn of(file: &FileRecord) -> Claimant {
        Claimant {
            file_id: file.file_id.clone(),
            key: file.key.clone(),
            job_id: file.job_id.clone(),
            received_at: file.received_at.clone(),
        }
    }
}

pub async fn claim(
    ctx: &Context,
    me: &Claimant,
    rows: &[(PgTxn<'_>, &[u8])],
    holders: &mut Holders,
) -> Result<Verdicts, PipelineError> {
    let file_id = me.file_id.as_str();
    let days: Vec<String> = rows.iter().map(|(t, _)| t.date.to_string()).collect();
    crate::txn_days::mark(ctx, days.iter().map(String::as_str), &mut holders.1).await?;
    // Owned requests (no borrow of the rows inside the futures), so the stream stays `Send` for
    // any caller.
    let puts: Vec<_> = rows.iter().map(|(t, _)| Put::new(ctx, file_id, t, None).send()).collect();
    let firsts: Vec<Result<(), Holder>> = stream::iter(puts).buffered(IN_FLIGHT).try_collect().await?;
    let mut verdicts = Vec::with_capacity(rows.len());
    for ((t, _), first) in rows.iter().zip(firsts) {
        let holder = match first {
            Ok(()) => {
                verdicts.push(None);
                continue;
            }
            Err(h) => h,
        };
        let Some(held_by) = holder.file_id.clone() else {
            verdicts.push(Some(format!("txn_id `{}` is already recorded", t.txn_id)));
            continue;
        };
        if !holders.0.contains_key(&held_by) {
            let record = file_record::get(&ctx.clients.dynamodb, &ctx.resources.files_table, &held_by).await?;
            holders.0.insert(held_by.clone(), record);
        }
        let record = holders.0.get(&held_by).and_then(Option::as_ref);
        let verdict = match record {
            Some(r) if passes_on(r, me) => match Put::new(ctx, file_id, t, Some(&held_by)).send().await? {
                Ok(()) => None,
                Err(_) => Some(format!("txn_id `{}` already came from another file", t.txn_id)),
            },
            Some(r) => Some(format!(
                "txn_id `{}` already came from {}{}",
                t.txn_id,
                r.name,
                holder.line.map(|l| format!(" line {l}")).unwrap_or_default()
            )),
            None => Some(format!("txn_id `{}` already came from file {held_by}", t.txn_id)),
        };
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

/// Whether a holder's ids pass to the claimant: the holder counts elsewhere (another job's upload,
/// or a job upload when the claimant is not of that job: scopes never meet in one job), never
/// counts (deleted, a duplicate, rejected), or is an older version of the claimant's key, which
/// the claimant supersedes. Never backwards: a late event for an old version takes nothing back.
fn passes_on(holder: &FileRecord, me: &Claimant) -> bool {
    holder.job_id != me.job_id
        || matches!(holder.status, Some(FileStatus::Deleted | FileStatus::Duplicate | FileStatus::Rejected))
        || (holder.key == me.key && holder.received_at < me.received_at)
}

/// One conditional put of a row, owning what it sends.
struct Put {
    pacer: std::sync::Arc<settlepaisa_aws::pace::Pacer>,
    client: aws_sdk_dynamodb::Client,
    table: String,
    item: settlepaisa_aws::dynamo::Item,
    file_id: String,
    line: u32,
    /// A deleted file whose hold on the id passes to this one.
    take_from: Option<String>,
}

impl Put {
    fn new(ctx: &Context, file_id: &str, t: &PgTxn<'_>, take_from: Option<&str>) -> Put {
        let mut item = transaction_item(t);
        item.insert("file_id".into(), sv(file_id));
        item.insert("line".into(), nv(t.line));
        Put {
            pacer: ctx.write_pacer.clone(),
            client: ctx.clients.dynamodb.clone(),
            table: ctx.resources.transactions_table.clone(),
            item,
            file_id: file_id.to_string(),
            line: t.line,
            take_from: take_from.map(str::to_string),
        }
    }

    /// `Ok(Ok(()))` written, `Ok(Err(holder))` the id is someone else's.
    async fn send(self) -> Result<Result<(), Holder>, PipelineError> {
        self.pacer.acquire().await;
        requests::record_puts("dynamodb.PutItem", &self.table, [&self.item]);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.item))
            .expression_attribute_names("#f", "file_id")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let put = match self.take_from {
            None => put
                .condition_expression(
                    "attribute_not_exists(txn_id) OR attribute_not_exists(#f) OR (#f = :f AND #l = :l)",
                )
                .expression_attribute_names("#l", "line")
                .expression_attribute_values(":f", sv(&self.file_id))
                .expression_attribute_values(":l", nv(self.line)),
            Some(previous) => put.condition_expression("#f = :prev").expression_attribute_values(":prev", sv(previous)),
        };
        match put.send().await {
            Ok(_) => Ok(Ok(())),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(c)) => Ok(Err(Holder {
                    file_id: c.item().and_then(|i| s(i, "file_id")),
                    line: c.item().and_then(|i| n(i, "line")),
                })),
                _ => Err(AwsError::new("PutItem", sdk_message(&e)).into()),
            },
        }
    }
}
