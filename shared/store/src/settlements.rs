//! The settlements table (issue 12): each merchant's ledger head and batches, the days a completed
//! job reconciled, and on-demand settlement requests. Keys (`pk`, `sk`):
//!
//! - `M#{merchant}` / `LEDGER` — [`Head`]: the version of the merchant's ledger and the S3 object
//!   holding it. Every change to the ledger moves the version by a conditional write, in the same
//!   transaction as the batch it makes or fails, so two runs never both take a payment.
//! - `M#{merchant}` / `B#{cycle_date}#{settlement_id}` — [`BatchRecord`], a merchant's history in
//!   date order; the index `by-cycle-date` (`cycle_date`, `settlement_id`) lists a day's batches.
//! - `RECON#{day}` / `JOB` — the latest completed job that reconciled capture day `day` from the
//!   stack's own files (`finalize-job`): its matches are what the cycle pays.
//! - `M#{merchant}` / `REQ#{key}` and `REQ#{date}` / `{merchant}` — an on-demand settlement
//!   request, by its idempotency key and by the day it is for (one a merchant and day).
//!
//! A batch's transaction states are counted on the KPI table's `SETTLEMENT` items of their capture
//! days, moved in the same transaction as the batch's status.

use crate::error::StoreError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use settlepaisa_aws::dynamo::{conditional, get_consistent, nv, query_page, sv, Fields, Item, Malformed};
use settlepaisa_aws::transact::Transacted;
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_payout::cycle::Totals;
use settlepaisa_payout::ledger_file::batch_date;
use settlepaisa_payout::payout_response::BatchStatus;
use settlepaisa_recon::money::Paise;
use std::collections::BTreeMap;

pub const BY_CYCLE_DATE: &str = "by-cycle-date";
/// Batches waiting for a payout file, whatever their date (sparse: only they carry
/// `pending_payout`): every run sweeps them, so none is left behind by a run that stopped.
pub const PENDING_PAYOUT: &str = "pending-payout";
/// The KPI table's dimension for settlement states.
pub const SETTLEMENT_DIMENSION: &str = "SETTLEMENT";

fn build(e: aws_sdk_dynamodb::error::BuildError) -> AwsError {
    AwsError::new("TransactWriteItems", e.to_string())
}

/// A write that changed a batch also wrote its `by-cycle-date` entry (projection ALL; a batch is
/// under 1 KB): one index write unit, counted with the request that made it.
fn index_write(operation: &'static str, table: &str) {
    requests::record_units(operation, table, settlepaisa_aws::capacity::WriteUnits { table: 0, indexes: 1 });
}

/// A transaction that writes a batch (and what moves with it): whether it was written, its index
/// entry counted.
async fn transact_batch(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<TransactWriteItem>,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let written = matches!(crate::audit::transact(client, audit.0, items, audit.1).await?, Transacted::Written);
    if written {
        index_write("dynamodb.TransactWriteItems", table);
    }
    Ok(written)
}

fn key(pk: &str, sk: &str) -> Item {
    Item::from([("pk".to_string(), sv(pk)), ("sk".to_string(), sv(sk))])
}

/// The merchant's ledger: version 0 and no object before its first batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Head {
    pub version: u64,
    pub ledger_key: Option<String>,
}

/// A ledger change to commit with a batch: from `expected` to the object `new_key`.
#[derive(Clone, Debug)]
pub struct LedgerMove {
    pub merchant_id: String,
    pub expected: u64,
    pub new_key: String,
}

/// A batch as the table keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    pub settlement_id: String,
    pub merchant_id: String,
    pub cycle_date: String,
    pub totals: Totals,
    pub status: BatchStatus,
    /// The S3 key of its lines (`settlement_lines.csv` rows).
    pub lines_key: String,
    /// Its payments by IST capture day: count and paise (the funnel's tallies).
    pub days: BTreeMap<String, [i64; 2]>,
    pub created_at: String,
    /// An on-demand settlement the merchant asked for.
    pub on_demand: bool,
    pub payout_key: Option<String>,
    pub payout_bank: Option<String>,
    pub utr: Option<String>,
    pub failure_reason: Option<String>,
    /// Unix seconds of the last bank response applied.
    pub last_response_at: Option<i64>,
    pub updated_at: Option<String>,
}

pub fn batch_key(settlement_id: &str) -> Option<Item> {
    let date = batch_date(settlement_id)?;
    // `STL-` + merchant + `-` + 8 digits.
    let merchant = settlement_id.strip_prefix("STL-")?.get(..settlement_id.len().checked_sub(4 + 9)?)?;
    (!merchant.is_empty()).then(|| key(&format!("M#{merchant}"), &format!("B#{date}#{settlement_id}")))
}

impl BatchRecord {
    /// What an audit entry shows of the batch: its status and money (paise).
    pub fn audit_view(&self) -> serde_json::Value {
        let t = &self.totals;
        serde_json::json!({
            "settlementId": self.settlement_id,
            "merchantId": self.merchant_id,
            "cycleDate": self.cycle_date,
            "status": self.status.as_str(),
            "txns": t.txns,
            "grossPaise": t.gross.0,
            "feesPaise": t.fees.0,
            "gstPaise": t.gst.0,
            "refundsPaise": t.refunds.0,
            "adjustmentsPaise": t.adjustments.0,
            "reserveWithheldPaise": t.reserve_withheld.0,
            "reserveReleasedPaise": t.reserve_released.0,
            "netPaise": t.net.0,
            "onDemand": self.on_demand,
            "payoutKey": self.payout_key,
            "utr": self.utr,
            "failureReason": self.failure_reason,
        })
    }

    pub fn to_item(&self) -> Item {
        let mut item =
            key(&format!("M#{}", self.merchant_id), &format!("B#{}#{}", self.cycle_date, self.settlement_id));
        let t = &self.totals;
        item.insert("settlement_id".into(), sv(&self.settlement_id));
        item.insert("merchant_id".into(), sv(&self.merchant_id));
        item.insert("cycle_date".into(), sv(&self.cycle_date));
        for (name, v) in [
            ("txns", t.txns as i64),
            ("gross_paise", t.gross.0),
            ("fee_paise", t.fees.0),
            ("gst_paise", t.gst.0),
            ("refund_paise", t.refunds.0),
            ("adjustment_paise", t.adjustments.0),
            ("reserve_withheld_paise", t.reserve_withheld.0),
            ("reserve_released_paise", t.reserve_released.0),
            ("net_paise", t.net.0),
        ] {
            item.insert(name.into(), nv(v));
        }
        item.insert("status".into(), sv(self.status.as_str()));
        if self.status == BatchStatus::PendingPayout {
            item.insert("pending_payout".into(), sv("PENDING"));
        }
        item.insert("lines_key".into(), sv(&self.lines_key));
        item.insert("days".into(), sv(serde_json::to_string(&self.days).unwrap_or_default()));
        item.insert("created_at".into(), sv(&self.created_at));
        item.insert("on_demand".into(), aws_sdk_dynamodb::types::AttributeValue::Bool(self.on_demand));
        let optional = [
            ("payout_key", &self.payout_key),
            ("payout_bank", &self.payout_bank),
            ("utr", &self.utr),
            ("failure_reason", &self.failure_reason),
            ("updated_at", &self.updated_at),
        ];
        for (name, v) in optional {
            if let Some(v) = v {
                item.insert(name.into(), sv(v));
            }
        }
        if let Some(t) = self.last_response_at {
            item.insert("last_response_at".into(), nv(t));
        }
        item
    }

    pub fn from_item(item: &Item) -> Result<BatchRecord, Malformed> {
        let f = Fields::new("settlement batch", item);
        let p = |name: &str| f.n::<i64>(name).map(Paise);
        let days: String = f.s("days")?;
        Ok(BatchRecord {
            settlement_id: f.s("settlement_id")?,
            merchant_id: f.s("merchant_id")?,
            cycle_date: f.s("cycle_date")?,
            totals: Totals {
                txns: f.n("txns")?,
                gross: p("gross_paise")?,
                fees: p("fee_paise")?,
                gst: p("gst_paise")?,
                refunds: p("refund_paise")?,
                adjustments: p("adjustment_paise")?,
                reserve_withheld: p("reserve_withheld_paise")?,
                reserve_released: p("reserve_released_paise")?,
                net: p("net_paise")?,
            },
            status: f.parsed("status", BatchStatus::parse)?,
            lines_key: f.s("lines_key")?,
            days: serde_json::from_str(&days).map_err(|_| f.bad("`days` is not a JSON map of tallies".into()))?,
            created_at: f.s("created_at")?,
            on_demand: matches!(item.get("on_demand"), Some(aws_sdk_dynamodb::types::AttributeValue::Bool(true))),
            payout_key: f.opt_s("payout_key")?,
            payout_bank: f.opt_s("payout_bank")?,
            utr: f.opt_s("utr")?,
            failure_reason: f.opt_s("failure_reason")?,
            last_response_at: f.opt_n("last_response_at")?,
            updated_at: f.opt_s("updated_at")?,
        })
    }
}

/// The merchant's ledger head, strongly consistent (a run decides from it).
pub async fn head(client: &aws_sdk_dynamodb::Client, table: &str, merchant_id: &str) -> Result<Head, StoreError> {
    let Some(item) = get_consistent(client, table, key(&format!("M#{merchant_id}"), "LEDGER")).await? else {
        return Ok(Head::default());
    };
    let f = Fields::new("ledger head", &item);
    Ok(Head { version: f.n("version")?, ledger_key: f.opt_s("ledger_key")? })
}

/// The ledger heads of `merchants` (BatchGetItem, eventually consistent: for reads that only
/// show, never for a run's decision); a merchant with no batch yet has none.
pub async fn heads_of(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    merchants: &[String],
) -> Result<BTreeMap<String, Head>, StoreError> {
    // BatchGetItem refuses a key twice.
    let distinct: std::collections::BTreeSet<&String> = merchants.iter().collect();
    let keys = distinct.into_iter().map(|m| key(&format!("M#{m}"), "LEDGER")).collect();
    let mut out = BTreeMap::new();
    for item in settlepaisa_aws::dynamo::batch_get(client, table, keys).await? {
        let f = Fields::new("ledger head", &item);
        let pk: String = f.s("pk")?;
        let Some(merchant) = pk.strip_prefix("M#") else { continue };
        out.insert(merchant.to_string(), Head { version: f.n("version")?, ledger_key: f.opt_s("ledger_key")? });
    }
    Ok(out)
}

/// Batches by settlement id (BatchGetItem, eventually consistent); ids that name no batch are
/// left out.
pub async fn batches_by_id(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    settlement_ids: &[String],
) -> Result<Vec<BatchRecord>, StoreError> {
    let distinct: std::collections::BTreeSet<&String> = settlement_ids.iter().collect();
    let keys = distinct.into_iter().filter_map(|id| batch_key(id)).collect();
    let items = settlepaisa_aws::dynamo::batch_get(client, table, keys).await?;
    Ok(items.iter().map(BatchRecord::from_item).collect::<Result<_, _>>()?)
}

fn head_move(table: &str, m: &LedgerMove) -> Result<TransactWriteItem, AwsError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(&format!("M#{}", m.merchant_id), "LEDGER")))
        .update_expression("SET version = :next, ledger_key = :key")
        .expression_attribute_values(":next", nv(m.expected + 1))
        .expression_attribute_values(":key", sv(&m.new_key));
    let update = if m.expected == 0 {
        update.condition_expression("attribute_not_exists(version)")
    } else {
        update.condition_expression("version = :expected").expression_attribute_values(":expected", nv(m.expected))
    };
    Ok(TransactWriteItem::builder().update(update.build().map_err(build)?).build())
}

/// `ADD`s to the capture days' `SETTLEMENT` and `SETTLEMENT#{merchant}` KPI items: each stage's
/// count and paise. At most 2 × 46 items (a window of 45 days and the cycle date): with the batch,
/// the head and a request, within a transaction's 100.
fn kpi_moves(
    kpi_table: &str,
    batch: &BatchRecord,
    from: Option<BatchStatus>,
    to: Option<BatchStatus>,
) -> Result<Vec<TransactWriteItem>, AwsError> {
    let mut out = Vec::new();
    let dimensions = [SETTLEMENT_DIMENSION.to_string(), format!("{SETTLEMENT_DIMENSION}#{}", batch.merchant_id)];
    for ((day, [count, paise]), dimension) in batch.days.iter().flat_map(|d| dimensions.iter().map(move |dim| (d, dim)))
    {
        let mut adds = Vec::new();
        let mut update = Update::builder().table_name(kpi_table).key("day", sv(day)).key("dimension", sv(dimension));
        for (i, (status, sign)) in [(from, -1), (to, 1)].into_iter().enumerate() {
            let Some(stage) = status.and_then(BatchStatus::stage) else { continue };
            adds.push(format!("{stage}_n :n{i}, {stage}_p :p{i}"));
            update = update
                .expression_attribute_values(format!(":n{i}"), nv(sign * count))
                .expression_attribute_values(format!(":p{i}"), nv(sign * paise));
        }
        if adds.is_empty() {
            continue;
        }
        update = update.update_expression(format!("ADD {}", adds.join(", ")));
        out.push(TransactWriteItem::builder().update(update.build().map_err(build)?).build());
    }
    Ok(out)
}

/// Commits a run's batch: the batch (new), the ledger head's move, the funnel's tallies, and
/// the on-demand request it answers. `false`: another run moved the ledger first (read again).
pub async fn commit_batch(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    kpi_table: &str,
    batch: &BatchRecord,
    ledger: &LedgerMove,
    answers: Option<&RequestKey>,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(batch.to_item()))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(build)?;
    let mut items = vec![TransactWriteItem::builder().put(put).build(), head_move(table, ledger)?];
    items.extend(kpi_moves(kpi_table, batch, None, Some(batch.status))?);
    if let Some(r) = answers {
        items.extend(request_done(table, r, &batch.settlement_id)?);
    }
    let draft = audit.1.change(serde_json::Value::Null, batch.audit_view());
    transact_batch(client, table, items, (audit.0, draft)).await
}

/// A batch by its id, strongly consistent.
pub async fn get_batch(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    settlement_id: &str,
) -> Result<Option<BatchRecord>, StoreError> {
    let Some(k) = batch_key(settlement_id) else { return Ok(None) };
    let item = get_consistent(client, table, k).await?;
    Ok(item.as_ref().map(BatchRecord::from_item).transpose()?)
}

/// A page of batches and where the next starts.
pub struct BatchPage {
    pub batches: Vec<BatchRecord>,
    pub next: Option<Item>,
}

/// A merchant's batches, newest first, cycle dates within `[from, to]` (inclusive, ISO).
pub async fn merchant_batches(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    merchant_id: &str,
    from: &str,
    to: &str,
    limit: i32,
    start: Option<Item>,
) -> Result<BatchPage, StoreError> {
    let out = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND sk BETWEEN :lo AND :hi")
        .expression_attribute_values(":pk", sv(format!("M#{merchant_id}")))
        .expression_attribute_values(":lo", sv(format!("B#{from}")))
        .expression_attribute_values(":hi", sv(format!("B#{to}#~")))
        .scan_index_forward(false)
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
    let (items, _, next) = query_page(out);
    Ok(BatchPage { batches: items.iter().map(BatchRecord::from_item).collect::<Result<_, _>>()?, next })
}

/// One cycle date's batches, by settlement id (the `by-cycle-date` index: eventually
/// consistent, so a batch committed a moment ago may be missing).
pub async fn day_batches(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    cycle_date: &str,
    limit: i32,
    start: Option<Item>,
) -> Result<BatchPage, StoreError> {
    let out = client
        .query()
        .table_name(table)
        .index_name(BY_CYCLE_DATE)
        .key_condition_expression("cycle_date = :d")
        .expression_attribute_values(":d", sv(cycle_date))
        .limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
    let (items, _, next) = query_page(out);
    Ok(BatchPage { batches: items.iter().map(BatchRecord::from_item).collect::<Result<_, _>>()?, next })
}

/// Every batch waiting for a payout file (the sparse `pending-payout` index, all pages).
pub async fn pending_batches(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<BatchRecord>, StoreError> {
    let items =
        settlepaisa_aws::dynamo::query_all(client, table, Some(PENDING_PAYOUT), "pending_payout", "PENDING").await?;
    Ok(items.iter().map(BatchRecord::from_item).collect::<Result<_, _>>()?)
}

/// Every batch of a cycle date (all pages of [`day_batches`]).
pub async fn all_day_batches(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    cycle_date: &str,
) -> Result<Vec<BatchRecord>, StoreError> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = day_batches(client, table, cycle_date, 500, start).await?;
        out.extend(page.batches);
        match page.next {
            Some(k) => start = Some(k),
            None => return Ok(out),
        }
    }
}

/// A conditional update of a pending batch's payout claim: `update` applied when `condition`
/// holds (`#s` is the status, `:pending` PENDING_PAYOUT); whether it was.
async fn update_claim(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    batch: &BatchRecord,
    update: &str,
    condition: &str,
    values: &[(&str, &str)],
) -> Result<bool, StoreError> {
    requests::record("dynamodb.UpdateItem", 1);
    let k = batch_key(&batch.settlement_id).ok_or_else(|| AwsError::new("UpdateItem", "not a settlement id"))?;
    let mut request = client
        .update_item()
        .table_name(table)
        .set_key(Some(k))
        .update_expression(update)
        .condition_expression(condition)
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":pending", sv(BatchStatus::PendingPayout.as_str()));
    for (name, value) in values {
        request = request.expression_attribute_values(*name, sv(*value));
    }
    let changed = conditional("UpdateItem", request.send().await)?;
    if changed {
        index_write("dynamodb.UpdateItem", table);
    }
    Ok(changed)
}

/// Names the payout file a pending batch goes in, once: `false` if it is in one already (or is
/// no longer pending).
pub async fn claim_payout(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    batch: &BatchRecord,
    payout_key: &str,
    bank: &str,
) -> Result<bool, StoreError> {
    let condition = "#s = :pending AND attribute_not_exists(payout_key)";
    let values = [(":k", payout_key), (":b", bank)];
    update_claim(client, table, batch, "SET payout_key = :k, payout_bank = :b", condition, &values).await
}

/// Takes a pending batch out of a payout file that was written without it (its run stopped
/// before the batch was visible): `true` when released, for a claim under another file.
pub async fn release_payout_claim(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    batch: &BatchRecord,
    payout_key: &str,
) -> Result<bool, StoreError> {
    let condition = "#s = :pending AND payout_key = :k";
    update_claim(client, table, batch, "REMOVE payout_key, payout_bank", condition, &[(":k", payout_key)]).await
}

/// A batch whose payout file is written: `SENT_TO_BANK`, its transactions moved in the funnel.
/// `false` when it was not pending in that file (sent already, or answered by the bank).
pub async fn mark_sent(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    kpi_table: &str,
    batch: &BatchRecord,
    payout_key: &str,
    at: &str,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let k = batch_key(&batch.settlement_id).ok_or_else(|| AwsError::new("UpdateItem", "not a settlement id"))?;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(k))
        .update_expression("SET #s = :sent, updated_at = :at REMOVE pending_payout")
        .condition_expression("#s = :pending AND payout_key = :k")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":sent", sv(BatchStatus::SentToBank.as_str()))
        .expression_attribute_values(":pending", sv(BatchStatus::PendingPayout.as_str()))
        .expression_attribute_values(":k", sv(payout_key))
        .expression_attribute_values(":at", sv(at))
        .build()
        .map_err(build)?;
    let mut items = vec![TransactWriteItem::builder().update(update).build()];
    items.extend(kpi_moves(kpi_table, batch, Some(BatchStatus::PendingPayout), Some(BatchStatus::SentToBank))?);
    let after =
        BatchRecord { status: BatchStatus::SentToBank, payout_key: Some(payout_key.to_string()), ..batch.clone() };
    let draft = audit.1.change(batch.audit_view(), after.audit_view());
    transact_batch(client, table, items, (audit.0, draft)).await
}

/// What a bank response does to a batch, as [`apply_response`] writes it.
pub enum ResponseChange<'a> {
    Credit {
        utr: &'a str,
    },
    /// Failed: the ledger moves with it (the batch's lines back in the pool).
    Fail {
        reason: &'a str,
        ledger: &'a LedgerMove,
    },
}

/// Applies a response to a batch read at `batch` (its status and last response time are the
/// condition): `false` when the batch changed meanwhile (read again and decide again).
#[allow(clippy::too_many_arguments)]
pub async fn apply_response(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    kpi_table: &str,
    batch: &BatchRecord,
    change: ResponseChange<'_>,
    processed_at: i64,
    at: &str,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let k = batch_key(&batch.settlement_id).ok_or_else(|| AwsError::new("UpdateItem", "not a settlement id"))?;
    let mut after = batch.clone();
    match &change {
        ResponseChange::Credit { utr } => after.utr = Some(utr.to_string()),
        ResponseChange::Fail { reason, .. } => after.failure_reason = Some(reason.to_string()),
    }
    let (to, set, value, ledger) = match change {
        ResponseChange::Credit { utr } => (BatchStatus::Credited, "utr", utr, None),
        ResponseChange::Fail { reason, ledger } => (BatchStatus::Failed, "failure_reason", reason, Some(ledger)),
    };
    let mut update = Update::builder()
        .table_name(table)
        .set_key(Some(k))
        .update_expression(format!(
            "SET #s = :to, {set} = :v, last_response_at = :t, updated_at = :at REMOVE pending_payout"
        ))
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":to", sv(to.as_str()))
        .expression_attribute_values(":v", sv(value))
        .expression_attribute_values(":t", nv(processed_at))
        .expression_attribute_values(":at", sv(at))
        .expression_attribute_values(":was", sv(batch.status.as_str()));
    update = match batch.last_response_at {
        Some(t) => update
            .condition_expression("#s = :was AND last_response_at = :last")
            .expression_attribute_values(":last", nv(t)),
        None => update.condition_expression("#s = :was AND attribute_not_exists(last_response_at)"),
    };
    let mut items = vec![TransactWriteItem::builder().update(update.build().map_err(build)?).build()];
    if let Some(l) = ledger {
        items.push(head_move(table, l)?);
    }
    items.extend(kpi_moves(kpi_table, batch, Some(batch.status), Some(to))?);
    after.status = to;
    let outcome = if to == BatchStatus::Failed {
        settlepaisa_audit::Outcome::Failed
    } else {
        settlepaisa_audit::Outcome::Applied
    };
    let draft = audit.1.outcome(outcome).change(batch.audit_view(), after.audit_view());
    transact_batch(client, table, items, (audit.0, draft)).await
}

/// Records that `job_id`, completed at `completed_at` (RFC 3339), reconciled capture day `day`
/// from the stack's own files; an older completion never replaces a newer one, and with
/// `only_if_absent` (a redelivered finalizer, whose completion time is not known) nothing is.
pub async fn put_recon_day(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    day: &str,
    job_id: &str,
    completed_at: &str,
    only_if_absent: bool,
) -> Result<(), StoreError> {
    requests::record("dynamodb.PutItem", 1);
    let mut item = key(&format!("RECON#{day}"), "JOB");
    item.insert("job_id".into(), sv(job_id));
    item.insert("completed_at".into(), sv(completed_at));
    let put = client.put_item().table_name(table).set_item(Some(item));
    let put = if only_if_absent {
        put.condition_expression("attribute_not_exists(pk) OR job_id = :job")
            .expression_attribute_values(":job", sv(job_id))
    } else {
        put.condition_expression("attribute_not_exists(pk) OR completed_at <= :at")
            .expression_attribute_values(":at", sv(completed_at))
    };
    let out = put.send().await;
    conditional("PutItem", out)?;
    Ok(())
}

/// The job that reconciled each of `days` (days no job reconciled are absent).
pub async fn recon_days(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    days: &[String],
) -> Result<BTreeMap<String, String>, StoreError> {
    let keys = days.iter().map(|d| key(&format!("RECON#{d}"), "JOB")).collect();
    let items = settlepaisa_aws::dynamo::batch_get(client, table, keys).await?;
    let mut out = BTreeMap::new();
    for item in &items {
        let f = Fields::new("reconciled day", item);
        let pk: String = f.s("pk")?;
        out.insert(pk.trim_start_matches("RECON#").to_string(), f.s("job_id")?);
    }
    Ok(out)
}

/// An on-demand settlement request's keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestKey {
    pub merchant_id: String,
    pub idempotency_key: String,
    pub date: String,
}

/// An on-demand settlement request (`POST /merchant/settlement/schedule`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRequest {
    pub key: RequestKey,
    /// `SCHEDULED` until the day's run answers it, then `SETTLED` (with the batch) or `CARRIED`
    /// (with why).
    pub status: String,
    pub requested_by: String,
    pub requested_at: String,
    pub estimated_net_paise: i64,
    pub settlement_id: Option<String>,
    pub outcome: Option<String>,
}

fn request_items(r: &SettlementRequest) -> [Item; 2] {
    let k = &r.key;
    let mut by_key = key(&format!("M#{}", k.merchant_id), &format!("REQ#{}", k.idempotency_key));
    let fill = |item: &mut Item| {
        item.insert("merchant_id".into(), sv(&k.merchant_id));
        item.insert("idempotency_key".into(), sv(&k.idempotency_key));
        item.insert("date".into(), sv(&k.date));
        item.insert("status".into(), sv(&r.status));
        item.insert("requested_by".into(), sv(&r.requested_by));
        item.insert("requested_at".into(), sv(&r.requested_at));
        item.insert("estimated_net_paise".into(), nv(r.estimated_net_paise));
    };
    fill(&mut by_key);
    let mut by_day = key(&format!("REQ#{}", k.date), &k.merchant_id);
    fill(&mut by_day);
    [by_key, by_day]
}

fn request_from(item: &Item) -> Result<SettlementRequest, Malformed> {
    let f = Fields::new("settlement request", item);
    Ok(SettlementRequest {
        key: RequestKey {
            merchant_id: f.s("merchant_id")?,
            idempotency_key: f.s("idempotency_key")?,
            date: f.s("date")?,
        },
        status: f.s("status")?,
        requested_by: f.s("requested_by")?,
        requested_at: f.s("requested_at")?,
        estimated_net_paise: f.n("estimated_net_paise")?,
        settlement_id: f.opt_s("settlement_id")?,
        outcome: f.opt_s("outcome")?,
    })
}

/// What recording a request found.
#[derive(Debug)]
pub enum Recorded {
    New,
    /// The request already recorded under that key.
    SameKey(SettlementRequest),
    /// Another request of the merchant is for that day already.
    DayTaken,
}

/// Records a request unless its idempotency key is taken or the merchant has one for that day.
pub async fn put_request(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    request: &SettlementRequest,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<Recorded, StoreError> {
    let items = request_items(request).map(|item| {
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
    });
    let items: Vec<_> = items.into_iter().collect::<Result<_, _>>().map_err(build)?;
    match crate::audit::transact(client, audit.0, items, audit.1).await? {
        Transacted::Written => Ok(Recorded::New),
        Transacted::ConditionFailed { failed } if failed.first() == Some(&true) => Ok(Recorded::SameKey(
            get_request(client, table, &request.key.merchant_id, &request.key.idempotency_key)
                .await?
                .ok_or_else(|| AwsError::new("GetItem", "the request under that key vanished"))?,
        )),
        Transacted::ConditionFailed { .. } => Ok(Recorded::DayTaken),
    }
}

pub async fn get_request(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    merchant_id: &str,
    idempotency_key: &str,
) -> Result<Option<SettlementRequest>, StoreError> {
    let k = key(&format!("M#{merchant_id}"), &format!("REQ#{idempotency_key}"));
    let item = get_consistent(client, table, k).await?;
    Ok(item.as_ref().map(request_from).transpose()?)
}

/// Every request for `date`.
pub async fn requests_for(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    date: &str,
) -> Result<Vec<SettlementRequest>, StoreError> {
    let items = settlepaisa_aws::dynamo::query_all(client, table, None, "pk", &format!("REQ#{date}")).await?;
    Ok(items.iter().map(request_from).collect::<Result<_, _>>()?)
}

fn request_done(table: &str, r: &RequestKey, settlement_id: &str) -> Result<Vec<TransactWriteItem>, AwsError> {
    answer_items(table, r, "SETTLED", Some(settlement_id), None)
}

fn answer_items(
    table: &str,
    r: &RequestKey,
    status: &str,
    settlement_id: Option<&str>,
    outcome: Option<&str>,
) -> Result<Vec<TransactWriteItem>, AwsError> {
    let keys = [
        key(&format!("M#{}", r.merchant_id), &format!("REQ#{}", r.idempotency_key)),
        key(&format!("REQ#{}", r.date), &r.merchant_id),
    ];
    keys.into_iter()
        .map(|k| {
            let mut u = Update::builder()
                .table_name(table)
                .set_key(Some(k))
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":s", sv(status));
            u = match (settlement_id, outcome) {
                (Some(id), _) => {
                    u.update_expression("SET #s = :s, settlement_id = :id").expression_attribute_values(":id", sv(id))
                }
                (None, o) => u
                    .update_expression("SET #s = :s, outcome = :o")
                    .expression_attribute_values(":o", sv(o.unwrap_or(""))),
            };
            Ok(TransactWriteItem::builder().update(u.build().map_err(build)?).build())
        })
        .collect()
}

/// A request the day's run answered without a batch (nothing available, or carried, and why);
/// one another run settled meanwhile stays `SETTLED`.
pub async fn answer_request(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    r: &RequestKey,
    outcome: &str,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<(), StoreError> {
    let mut items = answer_items(table, r, "CARRIED", None, Some(outcome))?;
    for item in &mut items {
        if let Some(u) = item.update.as_mut() {
            u.condition_expression = Some("#s = :scheduled".into());
            u.expression_attribute_values
                .get_or_insert_with(Default::default)
                .insert(":scheduled".into(), sv("SCHEDULED"));
        }
    }
    let draft = audit.1.reason(outcome).change(
        serde_json::json!({ "status": "SCHEDULED" }),
        serde_json::json!({ "status": "CARRIED", "outcome": outcome }),
    );
    crate::audit::transact(client, audit.0, items, draft).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reads_back_and_its_key_comes_from_its_id() {
        let b = BatchRecord {
            settlement_id: "STL-M-01-20261012".into(),
            merchant_id: "M-01".into(),
            cycle_date: "2026-10-12".into(),
            totals: Totals { txns: 2, gross: Paise(105_000), net: Paise(102_640), ..Totals::default() },
            status: BatchStatus::SentToBank,
            lines_key: "settlements/M-01/STL-M-01-20261012/lines-a.csv".into(),
            days: BTreeMap::from([("2026-10-09".to_string(), [2, 105_000])]),
            created_at: "2026-10-12T10:00:00Z".into(),
            on_demand: false,
            payout_key: Some("outgoing/payouts/HDFC/2026-10-12/x.csv".into()),
            payout_bank: Some("HDFC".into()),
            utr: None,
            failure_reason: None,
            last_response_at: None,
            updated_at: None,
        };
        let item = b.to_item();
        assert_eq!(BatchRecord::from_item(&item).unwrap(), b);
        let k = batch_key(&b.settlement_id).unwrap();
        assert_eq!((item.get("pk"), item.get("sk")), (k.get("pk"), k.get("sk")));
        assert_eq!(batch_key("STL--20261012"), None);
        assert_eq!(batch_key("STL-20261012"), None, "too short for a merchant: no panic");
        assert_eq!(batch_key("20261012"), None);
        assert_eq!(batch_key("nonsense"), None);
    }
}
