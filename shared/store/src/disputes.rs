//! The disputes table (issue 13) and what a dispute's change writes elsewhere. Keys (`pk`, `sk`):
//!
//! - `D#{dispute_id}` / `DISPUTE` — the dispute ([`Dispute`] as JSON in `doc`) with `version`
//!   (the optimistic lock) and the index keys `merchant_id`, `status` and `due`
//!   (`{respond_by, RFC 3339 UTC}#{id}`, so an index partition sorts by deadline):
//!   `by-merchant` (`merchant_id`, `due`) lists a merchant's disputes, `by-status` (`status`,
//!   `due`) the ops queue and what the daily job expires or reminds.
//!
//! A change is one transaction ([`save`]): the dispute (new, or at the version it was read at),
//! the settlement adjustments it makes (`ADJ#{effective_on}` / `{adjustment_id}` in the
//! settlements table, each written once: `attribute_not_exists`), and the dispute KPI counters
//! (the KPI table's `CURRENT` / `DISPUTES` and `DISPUTES#{merchant}` items). The settlement run reads the
//! adjustments of its window's days ([`adjustments_on`]) and its ledger pays each id once.

use crate::error::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use settlepaisa_aws::dynamo::{nv, query_page, sv, Fields, Item, Malformed};
use settlepaisa_aws::transact::Transacted;
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_dispute::model::{Dispute, Money, Status};
use settlepaisa_payout::cycle::{Adjustment, AdjustmentKind};
use settlepaisa_recon::date::{format_utc, Date};
use settlepaisa_recon::money::Paise;

pub const BY_MERCHANT: &str = "by-merchant";
pub const BY_STATUS: &str = "by-status";
/// The KPI table's `day` of the dispute counters (they are a current state, not per day).
pub const KPI_DAY: &str = "CURRENT";

fn build(e: aws_sdk_dynamodb::error::BuildError) -> AwsError {
    AwsError::new("TransactWriteItems", e.to_string())
}

fn key(id: &str) -> Item {
    Item::from([("pk".to_string(), sv(format!("D#{id}"))), ("sk".to_string(), sv("DISPUTE"))])
}

/// The `due` sort key of a deadline: every dispute due at or before `t` sorts before
/// `due_bound(t)`.
pub fn due_bound(unix_seconds: i64) -> String {
    format!("{}#~", format_utc(unix_seconds))
}

pub fn to_item(d: &Dispute) -> Item {
    let mut item = key(&d.dispute_id);
    item.insert("doc".into(), sv(serde_json::to_string(d).expect("a dispute serializes")));
    item.insert("version".into(), nv(d.version));
    item.insert("merchant_id".into(), sv(&d.merchant_id));
    item.insert("status".into(), sv(d.status.as_str()));
    item.insert("due".into(), sv(format!("{}#{}", d.due(), d.dispute_id)));
    item
}

pub fn from_item(item: &Item) -> Result<Dispute, Malformed> {
    let f = Fields::new("dispute", item);
    let doc: String = f.s("doc")?;
    serde_json::from_str(&doc).map_err(|e| f.bad(format!("`doc`: {e}")))
}

/// The dispute, read consistently (a change is decided on what was last written).
pub async fn get(client: &aws_sdk_dynamodb::Client, table: &str, id: &str) -> Result<Option<Dispute>, StoreError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key(id)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(out.item.as_ref().map(from_item).transpose()?)
}

/// Where a change is written.
pub struct Tables<'a> {
    pub disputes: &'a str,
    pub settlements: &'a str,
    pub kpi: &'a str,
}

/// An adjustment as the settlement run reads it.
pub fn adjustment_of(d: &Dispute, money: &Money, effective_on: Date) -> Adjustment {
    let (id, kind, amount) = match money {
        Money::Debit { adjustment_id, amount_paise } => (adjustment_id, AdjustmentKind::ChargebackDebit, -amount_paise),
        Money::Reversal { adjustment_id, amount_paise } => {
            (adjustment_id, AdjustmentKind::ChargebackReversal, *amount_paise)
        }
    };
    Adjustment {
        adjustment_id: id.clone(),
        merchant_id: d.merchant_id.clone(),
        kind,
        amount: Paise(amount),
        effective_on,
        reference: d.dispute_id.clone(),
    }
}

fn adjustment_item(a: &Adjustment) -> Item {
    Item::from([
        ("pk".to_string(), sv(format!("ADJ#{}", a.effective_on))),
        ("sk".to_string(), sv(&a.adjustment_id)),
        ("merchant_id".to_string(), sv(&a.merchant_id)),
        ("kind".to_string(), sv(a.kind.as_str())),
        ("amount_paise".to_string(), nv(a.amount.0)),
        ("reference".to_string(), sv(&a.reference)),
    ])
}

fn adjustment_from(item: &Item, day: Date) -> Result<Adjustment, Malformed> {
    let f = Fields::new("adjustment", item);
    Ok(Adjustment {
        adjustment_id: f.s("sk")?,
        merchant_id: f.s("merchant_id")?,
        kind: f.parsed("kind", AdjustmentKind::parse)?,
        amount: Paise(f.n("amount_paise")?),
        effective_on: day,
        reference: f.s("reference")?,
    })
}

/// The dispute adjustments effective on each of `days` (one query a day).
pub async fn adjustments_on(
    client: &aws_sdk_dynamodb::Client,
    settlements_table: &str,
    days: &[Date],
) -> Result<Vec<Adjustment>, StoreError> {
    let mut out = Vec::new();
    for day in days {
        let items =
            settlepaisa_aws::dynamo::query_all(client, settlements_table, None, "pk", &format!("ADJ#{day}")).await?;
        for item in &items {
            out.push(adjustment_from(item, *day)?);
        }
    }
    Ok(out)
}

fn kpi_update(kpi_table: &str, dimension: &str, delta: &[(String, i64)]) -> Result<TransactWriteItem, AwsError> {
    let mut update = Update::builder().table_name(kpi_table).key("day", sv(KPI_DAY)).key("dimension", sv(dimension));
    let mut adds = Vec::new();
    for (i, (name, v)) in delta.iter().enumerate() {
        adds.push(format!("#c{i} :c{i}"));
        update = update
            .expression_attribute_names(format!("#c{i}"), name)
            .expression_attribute_values(format!(":c{i}"), nv(v));
    }
    update = update.update_expression(format!("ADD {}", adds.join(", ")));
    Ok(TransactWriteItem::builder().update(update.build().map_err(build)?).build())
}

/// The KPI dimension of all disputes (`DISPUTES`), or one merchant's (`DISPUTES#{merchant}`):
/// never one a day's figures use, so no reader of days takes it for one.
pub fn kpi_dimension(merchant: Option<&str>) -> String {
    merchant.map_or_else(|| "DISPUTES".to_string(), |m| format!("DISPUTES#{m}"))
}

/// Writes a change: `after` (new when `before` is `None`, else only if still at `before`'s
/// version), its adjustments and its KPI moves, all or nothing. `false`: someone changed the
/// dispute first (read it again and decide again).
pub async fn save(
    client: &aws_sdk_dynamodb::Client,
    tables: &Tables<'_>,
    before: Option<&Dispute>,
    after: &Dispute,
    money: &[Money],
    effective_on: Date,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<bool, StoreError> {
    let put = Put::builder().table_name(tables.disputes).set_item(Some(to_item(after)));
    let put = match before {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(b) => put.condition_expression("version = :v").expression_attribute_values(":v", nv(b.version)),
    };
    let mut items = vec![TransactWriteItem::builder().put(put.build().map_err(build)?).build()];
    for m in money {
        let a = adjustment_of(after, m, effective_on);
        let put = Put::builder()
            .table_name(tables.settlements)
            .set_item(Some(adjustment_item(&a)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(build)?;
        items.push(TransactWriteItem::builder().put(put).build());
    }
    let delta: Vec<(String, i64)> = settlepaisa_dispute::kpi::delta(before, after).into_iter().collect();
    if !delta.is_empty() {
        for dim in [kpi_dimension(None), kpi_dimension(Some(&after.merchant_id))] {
            items.push(kpi_update(tables.kpi, &dim, &delta)?);
        }
    }
    match crate::audit::transact(client, audit.0, items, audit.1).await? {
        Transacted::Written => {
            // The dispute's two index entries (projection ALL: each about the item's size).
            let units = (to_item(after).get("doc").map_or(0, |d| d.as_s().map_or(0, |s| s.len())) / 1024 + 1) as u64;
            requests::record_units(
                "dynamodb.TransactWriteItems",
                tables.disputes,
                settlepaisa_aws::capacity::WriteUnits { table: 0, indexes: 2 * units },
            );
            Ok(true)
        }
        Transacted::ConditionFailed { failed } => {
            // The dispute moved under us: someone else's change (which may have written the same
            // adjustment) — read again and decide again.
            if failed.first().copied().unwrap_or(true) {
                return Ok(false);
            }
            if failed.iter().skip(1).take(money.len()).any(|f| *f) {
                // The dispute was at the version read, yet an adjustment it had not made exists.
                return Err(StoreError::Inconsistent(format!(
                    "dispute {}: an adjustment exists that the dispute does not record",
                    after.dispute_id
                )));
            }
            Ok(false)
        }
    }
}

/// One page of an index partition, earliest deadline first.
pub struct DisputePage {
    pub disputes: Vec<Dispute>,
    pub next: Option<Item>,
}

/// Which partition a list reads.
pub enum Partition<'a> {
    Merchant(&'a str),
    Status(Status),
}

/// A page of a merchant's or a status's disputes, due by `due_by` (unix seconds) when given.
pub async fn page(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    partition: &Partition<'_>,
    due_by: Option<i64>,
    limit: i32,
    start: Option<Item>,
) -> Result<DisputePage, StoreError> {
    let (index, name, value) = match partition {
        Partition::Merchant(m) => (BY_MERCHANT, "merchant_id", m.to_string()),
        Partition::Status(s) => (BY_STATUS, "status", s.as_str().to_string()),
    };
    let mut q = client
        .query()
        .table_name(table)
        .index_name(index)
        .expression_attribute_names("#p", name)
        .expression_attribute_values(":p", sv(value))
        .limit(limit)
        .set_exclusive_start_key(start);
    q = match due_by {
        Some(t) => {
            q.key_condition_expression("#p = :p AND due < :due").expression_attribute_values(":due", sv(due_bound(t)))
        }
        None => q.key_condition_expression("#p = :p"),
    };
    let out = q.send().await.map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
    let (items, _, next) = query_page(out);
    Ok(DisputePage { disputes: items.iter().map(from_item).collect::<Result<_, _>>()?, next })
}

/// The key of the dispute KPI item of all merchants, or one's.
pub fn kpi_key(merchant: Option<&str>) -> Item {
    Item::from([("day".to_string(), sv(KPI_DAY)), ("dimension".to_string(), sv(kpi_dimension(merchant)))])
}

/// The counters of a dispute KPI item (`settlepaisa_dispute::kpi`).
pub fn counters(item: &Item) -> std::collections::BTreeMap<String, i64> {
    item.iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::N(n) => n.parse().ok().map(|n| (k.clone(), n)),
            _ => None,
        })
        .collect()
}

/// Removes the `due_{hour}` counters of hours before `before` that are back to zero, from every
/// dispute KPI item (all merchants' and each merchant's): `ADD` leaves a zero behind, and an hour
/// a day would grow the items forever. Conditional on the zero, so a change racing it wins.
/// Returns the counters removed.
pub async fn prune_due_counters(
    client: &aws_sdk_dynamodb::Client,
    kpi_table: &str,
    before: i64,
) -> Result<usize, StoreError> {
    let query = client
        .query()
        .table_name(kpi_table)
        .key_condition_expression("#d = :d")
        .expression_attribute_names("#d", "day")
        .expression_attribute_values(":d", sv(KPI_DAY));
    let items = settlepaisa_aws::dynamo::all_pages(query).await?;
    let bound = settlepaisa_dispute::kpi::due_bucket(before);
    let mut removed = 0;
    for item in &items {
        let Some(dimension) = item.get("dimension").cloned() else { continue };
        let stale: Vec<String> = counters(item)
            .into_iter()
            .filter(|(name, n)| name.starts_with("due_") && *name < bound && *n == 0)
            .map(|(name, _)| name)
            .collect();
        for name in stale {
            requests::record_write(
                "dynamodb.UpdateItem",
                kpi_table,
                settlepaisa_aws::capacity::WriteUnits { table: 1, indexes: 0 },
            );
            let out = client
                .update_item()
                .table_name(kpi_table)
                .key("day", sv(KPI_DAY))
                .key("dimension", dimension.clone())
                .update_expression("REMOVE #c")
                .condition_expression("#c = :zero")
                .expression_attribute_names("#c", &name)
                .expression_attribute_values(":zero", nv(0))
                .send()
                .await;
            if settlepaisa_aws::dynamo::conditional("UpdateItem", out)? {
                removed += 1;
            }
        }
    }
    Ok(removed)
}
