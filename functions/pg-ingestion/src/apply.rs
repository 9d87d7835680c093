//! `apply-pg-events`: each queued delivery applied to its transaction. Read the state (consistent),
//! decide ([`settlepaisa_pg_events::txn_state::apply`]), write the change in one transaction
//! conditioned on the version read (`settlepaisa_store::pg_events::save`); a lost race reads and
//! decides again. A redelivered message, or a replayed event, decides "no change" and writes
//! nothing.
//!
//! After a change that gave the transaction its row, the claim set of its capture day says
//! whether a PG file export already holds it; if so the two are compared
//! (`settlepaisa_store::pg_event_notes`).
//!
//! An event that can never apply (another transaction's, or past the refunds a transaction may
//! hold) is logged and dropped, not retried; a failure of ours is retried by the queue and then
//! dead-lettered (the queue's alarm tells ops).

use crate::message::{Delivery, FileRows, Message};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use settlepaisa_pg_events::event::{self, Event};
use settlepaisa_pg_events::txn_state::{apply, Refused};
use settlepaisa_store::pg_event_notes::{file_row_of, note};
use settlepaisa_store::pg_events::{load, save, Tables};
use settlepaisa_store::{Context, StoreError};

/// Attempts against concurrent changes of one transaction before the message is retried.
const ATTEMPTS: usize = 8;

/// What applying one delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    Unchanged,
    Dropped,
}

pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let mut changed = false;
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        match apply_message(ctx, m.body.as_deref().unwrap_or("")).await {
            Ok(outcome) => changed |= outcome == Outcome::Changed,
            Err(e) => {
                tracing::error!(error = %e, message = %id, "webhook event not applied; the queue retries it");
                response.add_failure(id);
            }
        }
    }
    if changed {
        // The overview's warm caches drop their figures (once per batch, not per event).
        if let Err(e) = settlepaisa_store::kpi_generation::bump(&ctx.clients.dynamodb, &ctx.resources.kpi_table).await {
            tracing::warn!(error = %e, "KPI generation not bumped; caches keep their figures until their TTL");
        }
    }
    response
}

/// Notes in flight at once for one message of file rows.
const NOTE_CONCURRENCY: usize = 8;

/// One message: a delivery `receive-pg-webhook` verified, or an export's rows to note.
pub async fn apply_message(ctx: &Context, body: &str) -> Result<Outcome, StoreError> {
    let delivery: Delivery = match serde_json::from_str(body) {
        Ok(Message::Delivery(d)) => d,
        Ok(Message::FileRows(rows)) => return note_rows(ctx, &rows).await,
        Err(e) => {
            tracing::error!(error = %e, "not a webhook delivery or file rows; dropped");
            return Ok(Outcome::Dropped);
        }
    };
    let event = match event::parse(delivery.body.as_bytes()) {
        Ok(e) => e,
        Err(e) => {
            // The receiver checked it: only a change of the schema between the two gets here.
            tracing::error!(error = %e, webhook_id = delivery.webhook_id, "webhook event unreadable; dropped");
            return Ok(Outcome::Dropped);
        }
    };
    apply_event(ctx, &event).await
}

/// Whether a PG export already holds a transaction that has a payment and no file yet; if so,
/// notes it.
async fn look_for_file(
    ctx: &Context,
    tables: &Tables<'_>,
    state: &settlepaisa_pg_events::txn_state::TxnState,
) -> Result<(), StoreError> {
    let (Some(p), None) = (&state.payment, &state.file) else { return Ok(()) };
    let day = p.data.capture_day().to_string();
    let r = &ctx.resources;
    let db = &ctx.clients.dynamodb;
    let row = file_row_of(db, &ctx.clients.s3, &r.artifacts_bucket, &r.transactions_table, &state.txn_id, &day).await?;
    if let Some(row) = row {
        note(db, tables, &state.txn_id, &row).await?;
    }
    Ok(())
}

/// Notes each row (idempotent: a redelivered message notes nothing new).
async fn note_rows(ctx: &Context, rows: &FileRows) -> Result<Outcome, StoreError> {
    use futures_util::{stream, StreamExt, TryStreamExt};
    let tables = Tables::of(&ctx.resources);
    let db = &ctx.clients.dynamodb;
    stream::iter(&rows.file_rows)
        .map(|(txn_id, row)| note(db, &tables, txn_id, row))
        .buffer_unordered(NOTE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(Outcome::Changed)
}

/// Applies `event` to its transaction's state.
pub async fn apply_event(ctx: &Context, event: &Event) -> Result<Outcome, StoreError> {
    let tables = Tables::of(&ctx.resources);
    let db = &ctx.clients.dynamodb;
    for _ in 0..ATTEMPTS {
        let stored = load(db, tables.events, event.txn_id()).await?;
        let before = stored
            .as_ref()
            .map(|s| s.state.clone())
            .unwrap_or_else(|| settlepaisa_pg_events::txn_state::TxnState::new(event.txn_id()));
        let applied = match apply(&before, event) {
            Ok(a) => a,
            Err(refused) => {
                let why = match refused {
                    Refused::OtherTransaction => "the event is not this transaction's",
                    Refused::TooManyRefunds => "the transaction holds as many refunds as it may",
                };
                tracing::error!(webhook_id = event.id, txn_id = event.txn_id(), why, "webhook event dropped");
                return Ok(Outcome::Dropped);
            }
        };
        if !applied.changed {
            // A redelivery after a failure between the write and the file check below: check
            // again (nothing else would).
            look_for_file(ctx, &tables, &applied.state).await?;
            return Ok(Outcome::Unchanged);
        }
        // A row on a day it was not on before: mark the day as having rows first (the listing
        // walks marked days only). One small write per new transaction.
        let day = applied.state.payment.as_ref().map(|p| p.data.capture_day());
        if day.is_some() && day != before.payment.as_ref().map(|p| p.data.capture_day()) {
            let day = day.map(|d| d.to_string()).unwrap_or_default();
            settlepaisa_store::txn_days::mark(ctx, [day.as_str()], &mut Default::default()).await?;
        }
        if !save(db, &tables, stored.as_ref(), &applied.state, &applied.deductions, &applied.reversals).await? {
            continue;
        }
        tracing::info!(
            webhook_id = event.id,
            txn_id = event.txn_id(),
            kind = event.kind.as_str(),
            deductions = applied.deductions.len(),
            "webhook event applied"
        );
        // The webhook row is written: now look for a file holding the id (the order matters:
        // settlepaisa_store::pg_event_notes).
        look_for_file(ctx, &tables, &applied.state).await?;
        return Ok(Outcome::Changed);
    }
    Err(StoreError::Inconsistent(format!("transaction {}: still changing after {ATTEMPTS} attempts", event.txn_id())))
}
