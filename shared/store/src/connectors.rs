//! The bank connectors table (the seed's `bank_connectors`, issue 14). Keys (`pk`, `sk`):
//!
//! - `CONNECTORS` / `{bank}#CONFIG` — the configuration ([`ConnectorConfig`] JSON in `doc`: the
//!   secret's *name* only), `version`, `updated_at`, `updated_by`;
//! - `CONNECTORS` / `{bank}#STATE` — the breaker, the last run, success, error and file, the
//!   run's lease (`lease_until`: one pull of a connector at a time);
//! - `C#{bank}` / `F#{fingerprint}` — a file taken (name, size, mtime or ETag, the S3 key, when):
//!   written after its object is complete, so a file is taken once and never lost;
//! - `C#{bank}` / `P#{key}` — a payout file pushed to the bank: `state = pushing` before the
//!   first byte goes, `pushed` once it is in place (an intent never finished is never pushed
//!   again blind);
//! - `C#{bank}` / `H#{at}#{n}` — a recorded change (breaker transitions, configuration edits),
//!   kept 400 days (`expires_at`).
//!
//! Every connector's configuration and state is one Query (`pk = CONNECTORS`): the health
//! endpoint and the scheduled run read them so.

use crate::error::StoreError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use settlepaisa_aws::capacity::WriteUnits;
use settlepaisa_aws::dynamo::{nv, query_all, sv, Fields, Item};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_connector::breaker::{Breaker, Transition};
use settlepaisa_connector::config::ConnectorConfig;
use settlepaisa_connector::remote::RemoteFile;
use std::collections::{BTreeMap, HashSet};

const LIST: &str = "CONNECTORS";
/// How long a recorded change is kept.
const HISTORY_SECS: i64 = 400 * 86_400;

fn w(table: &str) {
    requests::record_write("dynamodb.PutItem", table, WriteUnits { table: 1, indexes: 0 });
}

fn key(pk: &str, sk: &str) -> Item {
    Item::from([("pk".to_string(), sv(pk)), ("sk".to_string(), sv(sk))])
}

/// A connector's configuration as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stored {
    pub bank: String,
    pub config: ConnectorConfig,
    pub version: u64,
    pub updated_at: i64,
    pub updated_by: String,
}

/// What runs have found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunState {
    pub breaker: Breaker,
    pub last_run_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// When the newest file taken was taken.
    pub last_file_at: Option<i64>,
    pub files_taken: u64,
    pub payouts_pushed: u64,
}

/// Every connector: configuration and (when it ran) state, by bank.
pub async fn all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<BTreeMap<String, (Stored, RunState)>, StoreError> {
    let items = query_all(client, table, None, "pk", LIST).await?;
    read_all(&items)
}

/// As [`all`], reading what was just written (a consistent Query).
pub async fn all_consistent(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<BTreeMap<String, (Stored, RunState)>, StoreError> {
    let query = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", sv(LIST))
        .consistent_read(true);
    let items = settlepaisa_aws::dynamo::all_pages(query).await?;
    read_all(&items)
}

fn read_all(items: &[Item]) -> Result<BTreeMap<String, (Stored, RunState)>, StoreError> {
    let mut configs = BTreeMap::new();
    let mut states: BTreeMap<String, RunState> = BTreeMap::new();
    for item in items {
        let f = Fields::new("connector", item);
        let sk: String = f.s("sk")?;
        let doc: String = f.s("doc")?;
        if let Some(bank) = sk.strip_suffix("#CONFIG") {
            let config = serde_json::from_str(&doc).map_err(|e| f.bad(format!("`doc`: {e}")))?;
            configs.insert(
                bank.to_string(),
                Stored {
                    bank: bank.to_string(),
                    config,
                    version: f.n("version")?,
                    updated_at: f.n("updated_at")?,
                    updated_by: f.s("updated_by")?,
                },
            );
        } else if let Some(bank) = sk.strip_suffix("#STATE") {
            states.insert(bank.to_string(), serde_json::from_str(&doc).map_err(|e| f.bad(format!("`doc`: {e}")))?);
        }
    }
    Ok(configs.into_iter().map(|(b, c)| (b.clone(), (c, states.remove(&b).unwrap_or_default()))).collect())
}

/// One connector, as last written.
pub async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
) -> Result<Option<(Stored, RunState)>, StoreError> {
    let mut all = all_consistent(client, table).await?;
    Ok(all.remove(bank))
}

/// Writes a configuration: new when `expected` is `None`, else only over that version; its
/// history record, audit entry and `extra` (an approval it decides) in the same transaction. A
/// failed condition at index 0: someone changed it first (or it exists / does not).
#[allow(clippy::too_many_arguments)]
pub async fn put_config(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    config: &ConnectorConfig,
    expected: Option<u64>,
    by: &str,
    now: i64,
    audit: (&str, settlepaisa_audit::Draft),
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<settlepaisa_aws::transact::Transacted, StoreError> {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
    let build = |e: aws_sdk_dynamodb::error::BuildError| AwsError::new("TransactWriteItems", e);
    let version = expected.map_or(1, |v| v + 1);
    let mut item = key(LIST, &format!("{bank}#CONFIG"));
    item.insert("doc".into(), sv(serde_json::to_string(config).expect("a config serializes")));
    item.insert("version".into(), nv(version));
    item.insert("updated_at".into(), nv(now));
    item.insert("updated_by".into(), sv(by));
    let put = Put::builder().table_name(table).set_item(Some(item));
    let put = match expected {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(v) => put.condition_expression("version = :v").expression_attribute_values(":v", nv(v)),
    };
    let history = Put::builder()
        .table_name(table)
        .set_item(Some(history_item(bank, now, "configured", &format!("version {version} by {by}"))))
        .build()
        .map_err(build)?;
    let mut items = vec![
        TransactWriteItem::builder().put(put.build().map_err(build)?).build(),
        TransactWriteItem::builder().put(history).build(),
    ];
    items.extend(extra);
    Ok(crate::audit::transact(client, audit.0, items, audit.1).await?)
}

/// Takes the connector's run lease until `until`, unless another run holds it. `false`: busy.
pub async fn lease(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    now: i64,
    until: i64,
) -> Result<bool, StoreError> {
    requests::record_write("dynamodb.UpdateItem", table, WriteUnits { table: 1, indexes: 0 });
    let out = client
        .update_item()
        .table_name(table)
        .set_key(Some(key(LIST, &format!("{bank}#STATE"))))
        .update_expression("SET lease_until = :until, doc = if_not_exists(doc, :empty)")
        .condition_expression("attribute_not_exists(lease_until) OR lease_until < :now")
        .expression_attribute_values(":until", nv(until))
        .expression_attribute_values(":now", nv(now))
        .expression_attribute_values(":empty", sv(serde_json::to_string(&RunState::default()).expect("serializes")))
        .send()
        .await;
    match out {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(AwsError::new("UpdateItem", sdk_message(&e)).into()),
    }
}

/// Writes the run's state and releases the lease; with `audit` (a breaker that changed during
/// the run), its entry in the same transaction as the state that holds the change.
pub async fn finish_run(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    state: &RunState,
    audit: Option<(&str, settlepaisa_audit::Draft)>,
) -> Result<(), StoreError> {
    const SET: &str = "SET doc = :doc REMOVE lease_until";
    let (k, doc) = (key(LIST, &format!("{bank}#STATE")), sv(serde_json::to_string(state).expect("serializes")));
    match audit {
        None => {
            requests::record_write("dynamodb.UpdateItem", table, WriteUnits { table: 1, indexes: 0 });
            client
                .update_item()
                .table_name(table)
                .set_key(Some(k))
                .update_expression(SET)
                .expression_attribute_values(":doc", doc)
                .send()
                .await
                .map_err(|e| AwsError::new("UpdateItem", sdk_message(&e)))?;
        }
        Some((audit_table, draft)) => {
            let update = aws_sdk_dynamodb::types::Update::builder()
                .table_name(table)
                .set_key(Some(k))
                .update_expression(SET)
                .expression_attribute_values(":doc", doc)
                .build()
                .map_err(|e| AwsError::new("TransactWriteItems", e))?;
            let items = vec![aws_sdk_dynamodb::types::TransactWriteItem::builder().update(update).build()];
            crate::audit::transact(client, audit_table, items, draft).await?;
        }
    }
    Ok(())
}

fn history_item(bank: &str, at: i64, what: &str, detail: &str) -> Item {
    let mut item = key(&format!("C#{bank}"), &format!("H#{at:011}#{:08x}", fastrand_u32()));
    item.insert("what".into(), sv(what));
    item.insert("detail".into(), sv(detail.chars().take(1_000).collect::<String>()));
    item.insert("at".into(), nv(at));
    item.insert("expires_at".into(), nv(at + HISTORY_SECS));
    item
}

/// Records a breaker transition in the connector's history (its audit entry goes with the state
/// that holds it: [`finish_run`]).
pub async fn record_transition(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    t: &Transition,
) -> Result<(), StoreError> {
    w(table);
    client
        .put_item()
        .table_name(table)
        .set_item(Some(history_item(bank, t.at, &format!("breaker {} → {}", t.from, t.to), &t.reason)))
        .send()
        .await
        .map_err(|e| AwsError::new("PutItem", sdk_message(&e)))?;
    Ok(())
}

fn fastrand_u32() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    n ^ std::process::id().rotate_left(16)
}

/// A connector's recorded changes, newest first (at most `limit`).
pub async fn history(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    limit: i32,
) -> Result<Vec<(i64, String, String)>, StoreError> {
    let out = under(client, table, bank, "H#")
        .scan_index_forward(false)
        .limit(limit)
        .send()
        .await
        .map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
    let (items, _, _) = settlepaisa_aws::dynamo::query_page(out);
    items
        .iter()
        .map(|i| {
            let f = Fields::new("connector change", i);
            Ok((f.n("at")?, f.s("what")?, f.s("detail")?))
        })
        .collect()
}

/// A query of the connector's items whose sort keys start with `prefix` (`F#`, `P#`, `H#`).
fn under(client: &aws_sdk_dynamodb::Client, table: &str, bank: &str, prefix: &str) -> QueryFluentBuilder {
    client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
        .expression_attribute_values(":pk", sv(format!("C#{bank}")))
        .expression_attribute_values(":prefix", sv(prefix))
}

/// The fingerprints of the files the connector has taken.
pub async fn taken(client: &aws_sdk_dynamodb::Client, table: &str, bank: &str) -> Result<HashSet<String>, StoreError> {
    let query = under(client, table, bank, "F#").projection_expression("sk");
    let items = settlepaisa_aws::dynamo::all_pages(query).await?;
    Ok(items
        .iter()
        .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).and_then(|s| s.strip_prefix("F#")).map(str::to_string))
        .collect())
}

/// Records a file taken (after its object is complete). `false`: already recorded.
pub async fn record_taken(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    file: &RemoteFile,
    s3_key: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let mut item = key(&format!("C#{bank}"), &format!("F#{}", file.fingerprint()));
    item.insert("name".into(), sv(&file.name));
    item.insert("size".into(), nv(file.size));
    if let Some(m) = file.modified {
        item.insert("modified".into(), nv(m));
    }
    if let Some(e) = &file.etag {
        item.insert("etag".into(), sv(e));
    }
    item.insert("s3_key".into(), sv(s3_key));
    item.insert("taken_at".into(), nv(at));
    put_once(client, table, item).await
}

/// The payout files the connector has pushed or begun to push: S3 key → done.
pub async fn payouts(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
) -> Result<std::collections::HashMap<String, bool>, StoreError> {
    let query = under(client, table, bank, "P#");
    let items = settlepaisa_aws::dynamo::all_pages(query).await?;
    let mut out = std::collections::HashMap::new();
    for i in &items {
        let f = Fields::new("payout push", i);
        let sk: String = f.s("sk")?;
        let done = f.opt_s("state")?.as_deref() == Some("pushed");
        out.insert(sk.trim_start_matches("P#").to_string(), done);
    }
    Ok(out)
}

/// Records the intent to push a payout file, before the first byte goes. `false`: an intent or
/// a push is already recorded (never push it again without knowing).
pub async fn begin_push(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    s3_key: &str,
    remote_path: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let mut item = key(&format!("C#{bank}"), &format!("P#{s3_key}"));
    item.insert("remote_path".into(), sv(remote_path));
    item.insert("state".into(), sv("pushing"));
    item.insert("began_at".into(), nv(at));
    put_once(client, table, item).await
}

/// Records a payout file pushed (its copy complete and renamed into place at the bank), with its
/// audit entry (the function that pushed it) in the same transaction.
pub async fn finish_push(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    bank: &str,
    s3_key: &str,
    at: i64,
    audit: (&str, settlepaisa_audit::Draft),
) -> Result<(), StoreError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(table)
        .set_key(Some(key(&format!("C#{bank}"), &format!("P#{s3_key}"))))
        .update_expression("SET #s = :pushed, pushed_at = :at")
        .expression_attribute_names("#s", "state")
        .expression_attribute_values(":pushed", sv("pushed"))
        .expression_attribute_values(":at", nv(at))
        .build()
        .map_err(|e| AwsError::new("TransactWriteItems", e))?;
    let items = vec![aws_sdk_dynamodb::types::TransactWriteItem::builder().update(update).build()];
    crate::audit::transact(client, audit.0, items, audit.1).await?;
    Ok(())
}

async fn put_once(client: &aws_sdk_dynamodb::Client, table: &str, item: Item) -> Result<bool, StoreError> {
    w(table);
    match client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_conditional_check_failed_exception()) => Ok(false),
        Err(e) => Err(AwsError::new("PutItem", sdk_message(&e)).into()),
    }
}
