//! The PG events table (issue 14) and what a webhook transaction's change writes elsewhere. Keys
//! (`pk`, `sk`):
//!
//! - `E#{webhook_id}` / `RECEIPT` — a delivery received: the body's SHA-256, when, the
//!   transaction and type, `queued` once its message is on the events queue, and `expires_at`
//!   (the table's TTL: 7 days, past the PG's retry schedule). Written once (`attribute_not_exists`):
//!   a replay finds it and gets the same answer.
//! - `P#{txn_id}` / `STATE` — the transaction's state ([`TxnState`] as JSON in `doc`) with
//!   `version`, the optimistic lock.
//! - `C#{capture_day}` / `{txn_id}` — a conflict: the PG's file export and its webhooks disagree
//!   (the differences, both views), for ops.
//!
//! A change is one transaction ([`save`]): the state at the version read, the transaction's row
//! in the transactions table (a one-row page in its day's and its merchant's partitions, file id
//! [`WEBHOOK_FILE_ID`], hidden once a file holds the id), each refund deduction once
//! (`RF#{refunded_on}` / `{refund_id}` in the settlements table, `attribute_not_exists`), the
//! day's `WEBHOOKS` KPI counters, and the conflict item.

use crate::error::StoreError;
use crate::txn_pages::{day_partition, group_of, merchant_partition, Page};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use settlepaisa_aws::capacity::WriteUnits;
use settlepaisa_aws::dynamo::{nv, sv, Fields, Item, Malformed};
use settlepaisa_aws::transact::{transact, Transacted};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_payout::cycle::Refund;
use settlepaisa_pg_events::file_check::Difference;
use settlepaisa_pg_events::kpi;
use settlepaisa_pg_events::txn_state::{Deduction, Reversal, TxnState};
use settlepaisa_recon::date::{ist_date, Date};
use settlepaisa_recon::money::Paise;
use settlepaisa_recon::pg_file::PgTxn;
use settlepaisa_recon::utr::find_utr;
use std::collections::BTreeMap;

/// The file id of webhook rows in the transactions table: no file record has it.
pub const WEBHOOK_FILE_ID: &str = "webhook";
/// How long a receipt stops a replay.
pub const RECEIPT_TTL_SECS: i64 = 7 * 86_400;

fn build(e: aws_sdk_dynamodb::error::BuildError) -> AwsError {
    AwsError::new("TransactWriteItems", e.to_string())
}

fn receipt_key(id: &str) -> Item {
    Item::from([("pk".to_string(), sv(format!("E#{id}"))), ("sk".to_string(), sv("RECEIPT"))])
}

fn state_key(txn_id: &str) -> Item {
    Item::from([("pk".to_string(), sv(format!("P#{txn_id}"))), ("sk".to_string(), sv("STATE"))])
}

/// A delivery as first received.
pub struct NewReceipt<'a> {
    pub webhook_id: &'a str,
    pub body_sha256: &'a str,
    pub received_at: i64,
    pub txn_id: &'a str,
    pub kind: &'a str,
}

/// What recording a delivery found.
#[derive(Debug, PartialEq, Eq)]
pub enum Receipt {
    /// First time: queue it, then [`mark_queued`].
    New,
    /// Seen before. `queued`: its message is on the queue (else queue it again: the first
    /// delivery stopped between the two). `same_body`: the replay's bytes are the first's.
    Seen { queued: bool, same_body: bool },
}

/// Records a delivery once; a replay finds the first.
pub async fn record_receipt(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    r: &NewReceipt<'_>,
) -> Result<Receipt, StoreError> {
    let mut item = receipt_key(r.webhook_id);
    item.insert("sha256".into(), sv(r.body_sha256));
    item.insert("received_at".into(), nv(r.received_at));
    item.insert("expires_at".into(), nv(r.received_at + RECEIPT_TTL_SECS));
    item.insert("txn_id".into(), sv(r.txn_id));
    item.insert("type".into(), sv(r.kind));
    requests::record_write("dynamodb.PutItem", table, WriteUnits { table: 1, indexes: 0 });
    let out = client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    match out {
        Ok(_) => Ok(Receipt::New),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => {
            requests::record("dynamodb.GetItem", 1);
            let first = client
                .get_item()
                .table_name(table)
                .set_key(Some(receipt_key(r.webhook_id)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?
                .item
                .unwrap_or_default();
            let f = Fields::new("webhook receipt", &first);
            Ok(Receipt::Seen {
                queued: first.get("queued").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
                same_body: f.opt_s("sha256")?.as_deref() == Some(r.body_sha256),
            })
        }
        Err(e) => Err(AwsError::new("PutItem", sdk_message(&e)).into()),
    }
}

/// Notes that a delivery's message is on the queue.
pub async fn mark_queued(client: &aws_sdk_dynamodb::Client, table: &str, webhook_id: &str) -> Result<(), StoreError> {
    requests::record_write("dynamodb.UpdateItem", table, WriteUnits { table: 1, indexes: 0 });
    client
        .update_item()
        .table_name(table)
        .set_key(Some(receipt_key(webhook_id)))
        .update_expression("SET queued = :t")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .send()
        .await
        .map_err(|e| AwsError::new("UpdateItem", sdk_message(&e)))?;
    Ok(())
}

/// A transaction's state as stored, with the version it was read at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub state: TxnState,
    pub version: u64,
}

fn state_item(state: &TxnState, version: u64) -> Item {
    let mut item = state_key(&state.txn_id);
    item.insert("doc".into(), sv(serde_json::to_string(state).expect("a state serializes")));
    item.insert("version".into(), nv(version));
    item
}

fn state_from(item: &Item) -> Result<Stored, Malformed> {
    let f = Fields::new("webhook transaction", item);
    let doc: String = f.s("doc")?;
    let state = serde_json::from_str(&doc).map_err(|e| f.bad(format!("`doc`: {e}")))?;
    Ok(Stored { state, version: f.n("version")? })
}

/// The transaction's state, read consistently (a change is decided on what was last written).
pub async fn load(client: &aws_sdk_dynamodb::Client, table: &str, txn_id: &str) -> Result<Option<Stored>, StoreError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(state_key(txn_id)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(out.item.as_ref().map(state_from).transpose()?)
}

/// The transaction as a one-row page in its day's and its merchant's partitions (none before its
/// first payment event). Hidden (`lost`) once a file holds the id: the file's row is shown.
pub fn row_pages(state: &TxnState) -> Vec<Page> {
    let Some(p) = &state.payment else { return Vec::new() };
    let d = &p.data;
    let captured_at = d.captured_secs();
    let t = PgTxn {
        line: 1,
        txn_id: &d.txn_id,
        merchant_id: &d.merchant_id,
        merchant_ref: &d.merchant_ref,
        method: d.method,
        amount: Paise(d.amount_paise),
        status: &d.status,
        utr: d.utr.as_deref().and_then(find_utr),
        captured_at,
        date: ist_date(captured_at),
    };
    let mut text = Vec::new();
    settlepaisa_recon::shard::encode_pg(&t, &mut text);
    let day = t.date.to_string();
    let sk = format!("{:011}#{WEBHOOK_FILE_ID}#{}", captured_at.max(0), d.txn_id);
    [day_partition(&day, group_of(&d.txn_id)), merchant_partition(&d.merchant_id, &day)]
        .into_iter()
        .map(|pk| Page {
            pk,
            sk: sk.clone(),
            file_id: WEBHOOK_FILE_ID.to_string(),
            count: 1,
            rows: String::from_utf8_lossy(&text).into_owned(),
            lost: if state.file.is_some() { vec![1] } else { Vec::new() },
            refunded_paise: Some(state.refunded()),
            held_by: state.file.as_ref().map(|f| f.row.file_id.clone()),
        })
        .collect()
}

/// Where a change is written.
pub struct Tables<'a> {
    pub events: &'a str,
    pub transactions: &'a str,
    pub settlements: &'a str,
    pub kpi: &'a str,
    /// A conflict appearing or clearing is audited in its transaction.
    pub audit: &'a str,
}

impl<'a> Tables<'a> {
    pub fn of(r: &'a crate::context::Resources) -> Tables<'a> {
        Tables {
            events: &r.pg_events_table,
            transactions: &r.transactions_table,
            settlements: &r.settlements_table,
            kpi: &r.kpi_table,
            audit: &r.audit_table,
        }
    }
}

fn refund_item(d: &Deduction) -> Item {
    Item::from([
        ("pk".to_string(), sv(format!("RF#{}", d.refunded_on))),
        // By transaction too: two transactions' refunds that share an id are two refunds.
        ("sk".to_string(), sv(format!("{}#{}", d.txn_id, d.refund_id))),
        ("refund_id".to_string(), sv(&d.refund_id)),
        ("txn_id".to_string(), sv(&d.txn_id)),
        ("merchant_id".to_string(), sv(&d.merchant_id)),
        ("amount_paise".to_string(), nv(d.amount.0)),
    ])
}

/// A deduction as the settlement run reads it, with whose transaction it is.
fn refund_from(item: &Item, day: Date) -> Result<(Refund, String), Malformed> {
    let f = Fields::new("webhook refund", item);
    Ok((
        Refund {
            refund_id: f.s("refund_id")?,
            txn_id: f.s("txn_id")?,
            amount: Paise(f.n("amount_paise")?),
            refunded_on: day,
        },
        f.s("merchant_id")?,
    ))
}

/// The refunds webhooks deducted on each of `days` (one query a day), each with its merchant.
pub async fn refunds_on(
    client: &aws_sdk_dynamodb::Client,
    settlements_table: &str,
    days: &[Date],
) -> Result<Vec<(Refund, String)>, StoreError> {
    let mut out = Vec::new();
    for day in days {
        let items =
            settlepaisa_aws::dynamo::query_all(client, settlements_table, None, "pk", &format!("RF#{day}")).await?;
        for item in &items {
            out.push(refund_from(item, *day)?);
        }
    }
    Ok(out)
}

fn conflict_item(state: &TxnState) -> Option<Item> {
    let note = state.file.as_ref().filter(|n| !n.differences.is_empty())?;
    let p = state.payment.as_ref()?;
    let mut item = Item::from([
        ("pk".to_string(), sv(format!("C#{}", p.data.capture_day()))),
        ("sk".to_string(), sv(&state.txn_id)),
        ("merchant_id".to_string(), sv(&p.data.merchant_id)),
        ("file_id".to_string(), sv(&note.row.file_id)),
    ]);
    item.insert("differences".into(), sv(serde_json::to_string(&note.differences).expect("serializes")));
    Some(item)
}

fn key_of(item: &Item) -> Item {
    item.iter().filter(|(k, _)| *k == "pk" || *k == "sk").map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Writes a change: `after` (new when `before` is `None`, else only if still at `before`'s
/// version), its rows, deductions, KPI moves and conflict, all or nothing. `false`: someone
/// changed the transaction first (read it again and decide again).
pub async fn save(
    client: &aws_sdk_dynamodb::Client,
    tables: &Tables<'_>,
    before: Option<&Stored>,
    after: &TxnState,
    deductions: &[Deduction],
    reversals: &[Reversal],
) -> Result<bool, StoreError> {
    let version = before.map_or(1, |b| b.version + 1);
    let put = Put::builder().table_name(tables.events).set_item(Some(state_item(after, version)));
    let put = match before {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(b) => put.condition_expression("version = :v").expression_attribute_values(":v", nv(b.version)),
    };
    let mut items = vec![TransactWriteItem::builder().put(put.build().map_err(build)?).build()];
    // The row: written where it changed, removed where it moved away (a corrected capture time
    // or merchant).
    let old_rows = before.map(|b| row_pages(&b.state)).unwrap_or_default();
    let new_rows = row_pages(after);
    for page in &new_rows {
        if !old_rows.contains(page) {
            let put = Put::builder().table_name(tables.transactions).set_item(Some(page.to_item()));
            items.push(TransactWriteItem::builder().put(put.build().map_err(build)?).build());
        }
    }
    for page in &old_rows {
        if !new_rows.iter().any(|p| p.pk == page.pk && p.sk == page.sk) {
            let del = Delete::builder().table_name(tables.transactions).set_key(Some(key_of(&page.to_item())));
            items.push(TransactWriteItem::builder().delete(del.build().map_err(build)?).build());
        }
    }
    for d in deductions {
        let put = Put::builder()
            .table_name(tables.settlements)
            .set_item(Some(refund_item(d)))
            .condition_expression("attribute_not_exists(pk)");
        items.push(TransactWriteItem::builder().put(put.build().map_err(build)?).build());
    }
    for r in reversals {
        // Given back through the settlement engine's adjustments (as dispute reversals are).
        let item = Item::from([
            ("pk".to_string(), sv(format!("ADJ#{}", r.on))),
            ("sk".to_string(), sv(format!("{}-{}-refund-reversal", r.txn_id, r.refund_id))),
            ("merchant_id".to_string(), sv(&r.merchant_id)),
            ("kind".to_string(), sv(settlepaisa_payout::cycle::AdjustmentKind::RefundReversal.as_str())),
            ("amount_paise".to_string(), nv(r.amount.0)),
            ("reference".to_string(), sv(format!("{}/{}", r.txn_id, r.refund_id))),
        ]);
        let put = Put::builder()
            .table_name(tables.settlements)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        items.push(TransactWriteItem::builder().put(put.build().map_err(build)?).build());
    }
    let empty = TxnState::new(&after.txn_id);
    let mut by_day: BTreeMap<String, Vec<(&'static str, i64)>> = BTreeMap::new();
    for ((day, counter), v) in kpi::delta(before.map_or(&empty, |b| &b.state), after) {
        by_day.entry(day).or_default().push((counter, v));
    }
    for (day, moves) in &by_day {
        let mut update = Update::builder()
            .table_name(tables.kpi)
            .key("day", sv(day))
            .key("dimension", sv(kpi::dimension_of(&after.txn_id)));
        let mut adds = Vec::new();
        for (i, (name, v)) in moves.iter().enumerate() {
            adds.push(format!("#c{i} :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), *name)
                .expression_attribute_values(format!(":c{i}"), nv(v));
        }
        update = update.update_expression(format!("ADD {}", adds.join(", ")));
        items.push(TransactWriteItem::builder().update(update.build().map_err(build)?).build());
    }
    let old_conflict = before.and_then(|b| conflict_item(&b.state));
    let new_conflict = conflict_item(after);
    if old_conflict != new_conflict {
        if let Some(item) = new_conflict.clone() {
            let put = Put::builder().table_name(tables.events).set_item(Some(item));
            items.push(TransactWriteItem::builder().put(put.build().map_err(build)?).build());
        }
        if let Some(old) = old_conflict.clone().filter(|o| new_conflict.as_ref().is_none_or(|n| key_of(n) != key_of(o)))
        {
            let del = Delete::builder().table_name(tables.events).set_key(Some(key_of(&old)));
            items.push(TransactWriteItem::builder().delete(del.build().map_err(build)?).build());
        }
    }
    let moves_money = !deductions.is_empty() || !reversals.is_empty();
    let written = if old_conflict == new_conflict && !moves_money {
        transact(client, items).await?
    } else {
        // Money deducted or given back, or the PG's export and its webhooks disagreeing (or
        // agreeing again): automatic decisions ops must be able to trace.
        let view = |c: &Option<Item>| match c {
            None => serde_json::Value::Null,
            Some(i) => serde_json::json!({
                "fileId": settlepaisa_aws::dynamo::s(i, "file_id"),
                "differences": settlepaisa_aws::dynamo::s(i, "differences")
                    .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok()),
            }),
        };
        let action = match (&new_conflict, old_conflict != new_conflict) {
            _ if !deductions.is_empty() => "webhook.refund_deducted",
            _ if !reversals.is_empty() => "webhook.refund_reversed",
            (Some(_), _) => "webhook.conflict",
            (None, _) => "webhook.conflict_cleared",
        };
        let money = |refund: &str, amount: i64, merchant: &str| serde_json::json!({ "refundId": refund, "amountPaise": amount, "merchantId": merchant });
        let after_view = serde_json::json!({
            "conflict": view(&new_conflict),
            "deducted": deductions.iter().map(|d| money(&d.refund_id, d.amount.0, &d.merchant_id)).collect::<Vec<_>>(),
            "reversed": reversals.iter().map(|r| money(&r.refund_id, r.amount.0, &r.merchant_id)).collect::<Vec<_>>(),
        });
        let draft = crate::audit::by_function("apply-pg-events", action, ("transaction", &after.txn_id), &after.txn_id)
            .change(serde_json::json!({ "conflict": view(&old_conflict) }), after_view);
        crate::audit::transact(client, tables.audit, items, draft).await?
    };
    match written {
        Transacted::Written => Ok(true),
        Transacted::ConditionFailed { failed } => {
            if failed.first().copied().unwrap_or(true) {
                return Ok(false);
            }
            // The state was at the version read, yet a deduction or reversal it had not made
            // exists.
            Err(StoreError::Inconsistent(format!(
                "webhook transaction {}: a refund deduction or reversal exists that its state does not record",
                after.txn_id
            )))
        }
    }
}

/// A conflict as ops see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub capture_day: String,
    pub txn_id: String,
    pub merchant_id: String,
    pub file_id: String,
    pub differences: Vec<Difference>,
}

/// The conflicts of each of `days` (capture days), one query a day.
pub async fn conflicts_on(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    days: &[String],
) -> Result<Vec<Conflict>, StoreError> {
    let mut out = Vec::new();
    for day in days {
        for item in settlepaisa_aws::dynamo::query_all(client, table, None, "pk", &format!("C#{day}")).await? {
            let f = Fields::new("webhook conflict", &item);
            let differences: String = f.s("differences")?;
            out.push(Conflict {
                capture_day: day.clone(),
                txn_id: f.s("sk")?,
                merchant_id: f.s("merchant_id")?,
                file_id: f.s("file_id")?,
                differences: serde_json::from_str(&differences).map_err(|e| f.bad(format!("`differences`: {e}")))?,
            });
        }
    }
    Ok(out)
}

/// The ids of the webhook rows in a transactions-table partition (a consistent read: a file's
/// claim step asks right after writing its claims, see [`crate::pg_event_notes`]).
pub async fn webhook_ids_in(
    client: &aws_sdk_dynamodb::Client,
    transactions_table: &str,
    pk: &str,
) -> Result<Vec<String>, StoreError> {
    let query = client
        .query()
        .table_name(transactions_table)
        .key_condition_expression("pk = :pk")
        .filter_expression("file_id = :w")
        .expression_attribute_values(":pk", sv(pk))
        .expression_attribute_values(":w", sv(WEBHOOK_FILE_ID))
        .consistent_read(true);
    let items = settlepaisa_aws::dynamo::all_pages(query).await?;
    let mut ids = Vec::new();
    for item in &items {
        let page = Page::from_item(item)?;
        ids.extend(page.decode()?.iter().map(|t| t.txn_id.to_string()));
    }
    Ok(ids)
}
