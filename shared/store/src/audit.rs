//! The audit table: one hash chain per UTC day (issue 15). Keys (`chain`, `seq`):
//!
//! - `{day}` / `0` — the chain's head: `last_seq`, `last_hash`;
//! - `{day}` / `n ≥ 1` — entry `n` (every field of [`Entry`], `before`/`after`/`actor` as
//!   canonical JSON), plus `actor_name` for filtering.
//!
//! An entry is appended by [`transact`], in the *same* TransactWriteItems as the change it
//! records: the head moves from the sequence it was read at (a conditional put) and the entry is
//! put where none is, or nothing — change included — is written. Two appends racing for a chain
//! meet at the head: the loser reads it again and re-seals, its change items untouched.
//!
//! The functions are granted `GetItem`, `PutItem`, `ConditionCheckItem` and `Query` on this table,
//! never `UpdateItem` or `DeleteItem`; no route writes it other than through [`transact`].

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use settlepaisa_audit::{seal, Actor, Draft, Entry, Head, Outcome};
use settlepaisa_aws::dynamo::{get_consistent, nv, sv, Fields, Item, Malformed};
use settlepaisa_aws::transact::{backoff, Transacted};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Attempts at a chain's head before giving up (each re-reads it).
const HEAD_ATTEMPTS: u32 = 12;

/// The record time now, RFC 3339 UTC to the millisecond.
pub fn now_rfc3339() -> String {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let secs = settlepaisa_recon::date::format_utc(ms.div_euclid(1000));
    format!("{}.{:03}Z", secs.trim_end_matches('Z'), ms.rem_euclid(1000))
}

/// The chain a record time belongs to: its UTC day.
pub fn chain_of(record_time: &str) -> &str {
    record_time.get(..10).unwrap_or(record_time)
}

fn chain_key(chain: &str, seq: u64) -> Item {
    Item::from([("chain".to_string(), sv(chain)), ("seq".to_string(), nv(seq))])
}

/// The head of `chain`, read consistently.
pub async fn head(client: &aws_sdk_dynamodb::Client, table: &str, chain: &str) -> Result<Option<Head>, AwsError> {
    let item = get_consistent(client, table, chain_key(chain, 0)).await?;
    item.map(|i| head_from(&i)).transpose().map_err(|e| AwsError::new("GetItem", e))
}

fn head_from(item: &Item) -> Result<Head, Malformed> {
    let f = Fields::new("audit head", item);
    Ok(Head { seq: f.n("last_seq")?, hash: f.s("last_hash")? })
}

fn entry_item(e: &Entry) -> Item {
    let d = &e.draft;
    let mut item = chain_key(&e.chain, e.seq);
    let json = |v: &serde_json::Value| sv(settlepaisa_audit::canonical::encode(v));
    item.insert("record_time".into(), sv(&e.record_time));
    item.insert("event_time".into(), sv(&d.event_time));
    item.insert("actor".into(), json(&serde_json::to_value(&d.actor).unwrap_or_default()));
    item.insert("actor_name".into(), sv(d.actor.name()));
    item.insert("action".into(), sv(&d.action));
    item.insert("target_type".into(), sv(&d.target_type));
    item.insert("target_id".into(), sv(&d.target_id));
    item.insert("request_id".into(), sv(&d.request_id));
    item.insert("outcome".into(), sv(d.outcome.as_str()));
    if let Some(r) = &d.reason {
        item.insert("reason".into(), sv(r));
    }
    item.insert("before".into(), json(&d.before));
    item.insert("after".into(), json(&d.after));
    item.insert("prev_hash".into(), sv(&e.prev_hash));
    item.insert("hash".into(), sv(&e.hash));
    item
}

/// An entry as stored, or what is wrong with it. Verification recomputes the hash from exactly
/// these fields, so an edited attribute shows as an altered entry.
pub fn entry_from(item: &Item) -> Result<Entry, Malformed> {
    let f = Fields::new("audit entry", item);
    let json = |name: &str| -> Result<serde_json::Value, Malformed> {
        serde_json::from_str(&f.s(name)?).map_err(|e| f.bad(format!("`{name}` is not JSON: {e}")))
    };
    let actor: Actor =
        serde_json::from_value(json("actor")?).map_err(|e| f.bad(format!("`actor` is not an actor: {e}")))?;
    // The filterable copy is not hashed: it must say what the hashed actor says.
    if f.s("actor_name")? != actor.name() {
        return Err(f.bad("`actor_name` does not match `actor`".into()));
    }
    let draft = Draft {
        event_time: f.s("event_time")?,
        actor,
        action: f.s("action")?,
        target_type: f.s("target_type")?,
        target_id: f.s("target_id")?,
        request_id: f.s("request_id")?,
        outcome: f.parsed("outcome", Outcome::parse)?,
        reason: f.opt_s("reason")?,
        before: json("before")?,
        after: json("after")?,
    };
    Ok(Entry {
        chain: f.s("chain")?,
        seq: f.n("seq")?,
        record_time: f.s("record_time")?,
        draft,
        prev_hash: f.s("prev_hash")?,
        hash: f.s("hash")?,
    })
}

fn put(
    table: &str,
    item: Item,
    condition: &str,
    values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> Result<TransactWriteItem, AwsError> {
    let mut p = Put::builder().table_name(table).set_item(Some(item)).condition_expression(condition);
    for (k, v) in values {
        p = p.expression_attribute_values(k, v);
    }
    let p = p.build().map_err(|e| AwsError::new("TransactWriteItems", e))?;
    Ok(TransactWriteItem::builder().put(p).build())
}

/// The two items that append `entry` after `head`.
fn append_items(table: &str, entry: &Entry, head: Option<&Head>) -> Result<[TransactWriteItem; 2], AwsError> {
    let mut head_item = chain_key(&entry.chain, 0);
    head_item.insert("last_seq".into(), nv(entry.seq));
    head_item.insert("last_hash".into(), sv(&entry.hash));
    let head_put = match head {
        None => put(table, head_item, "attribute_not_exists(chain)", vec![])?,
        // The hash too: a head cached from another table of the same name (another endpoint)
        // can never pass for this one.
        Some(h) => put(
            table,
            head_item,
            "last_seq = :seen AND last_hash = :hash",
            vec![(":seen", nv(h.seq)), (":hash", sv(&h.hash))],
        )?,
    };
    let entry_put = put(table, entry_item(entry), "attribute_not_exists(chain)", vec![])?;
    Ok([head_put, entry_put])
}

/// Writes `items` and the audit entry `draft` in one transaction (see the module's note).
/// `ConditionFailed` speaks of `items` alone: a moved head is retried here, never reported.
pub async fn transact(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<TransactWriteItem>,
    draft: Draft,
) -> Result<Transacted, AwsError> {
    Ok(transact_sealed(client, table, items, draft).await?.0)
}

/// The heads this process last wrote or read, by table and chain. Appends in one process take
/// turns (a settlement run's merchants, the local stack's functions): they would otherwise only
/// meet at the head and retry, and the head each wrote is the next one's without a read. Another
/// process's append makes a cached head stale; the condition then fails, and it is read again.
static HEADS: std::sync::LazyLock<tokio::sync::Mutex<KnownHeads>> = std::sync::LazyLock::new(Default::default);

/// (table, chain) → the head as last written or read (`None`: the chain is empty).
type KnownHeads = std::collections::HashMap<(String, String), Option<Head>>;

/// As [`transact`], and the entry as written (when it was).
pub async fn transact_sealed(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: Vec<TransactWriteItem>,
    draft: Draft,
) -> Result<(Transacted, Option<Entry>), AwsError> {
    let n = items.len();
    if n + 2 > 100 {
        return Err(AwsError::new("TransactWriteItems", format!("{n} items and an audit entry exceed 100")));
    }
    let mut heads = HEADS.lock().await;
    // Bounded in time as well as attempts: an API request must answer within its 29 s.
    let give_up = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    for attempt in 0..HEAD_ATTEMPTS {
        if attempt > 0 && tokio::time::Instant::now() > give_up {
            break;
        }
        let record_time = now_rfc3339();
        let chain = chain_of(&record_time).to_string();
        let slot = (table.to_string(), chain.clone());
        let head = match heads.get(&slot) {
            Some(h) => h.clone(),
            None => head(client, table, &chain).await?,
        };
        let entry = seal(draft.clone(), &chain, head.as_ref(), &record_time);
        let mut all = items.clone();
        all.extend(append_items(table, &entry, head.as_ref())?);
        let written = settlepaisa_aws::transact::transact(client, all).await;
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                // Unknown whether it landed: read the head next time.
                heads.remove(&slot);
                return Err(e);
            }
        };
        match written {
            Transacted::Written => {
                heads.insert(slot, Some(Head { seq: entry.seq, hash: entry.hash.clone() }));
                return Ok((Transacted::Written, Some(entry)));
            }
            Transacted::ConditionFailed { failed } if failed.iter().take(n).any(|f| *f) => {
                if failed.iter().skip(n).any(|f| *f) {
                    heads.remove(&slot);
                }
                let mut mine: Vec<bool> = failed.into_iter().take(n).collect();
                mine.resize(n, false);
                return Ok((Transacted::ConditionFailed { failed: mine }, None));
            }
            Transacted::ConditionFailed { .. } => {
                tracing::debug!(attempt, chain, "audit chain head moved; appending again");
                heads.remove(&slot);
                if attempt > 0 {
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
    }
    Err(AwsError::new("TransactWriteItems", format!("the audit chain's head kept moving ({HEAD_ATTEMPTS} attempts)")))
}

/// Appends `draft` alone (a decision that changes nothing else in DynamoDB, such as a rejected
/// approval's or a report's).
pub async fn append(client: &aws_sdk_dynamodb::Client, table: &str, draft: Draft) -> Result<Entry, AwsError> {
    match transact_sealed(client, table, Vec::new(), draft).await? {
        (Transacted::Written, Some(e)) => Ok(e),
        _ => Err(AwsError::new("TransactWriteItems", "an audit append with no change items failed its condition")),
    }
}

/// A whole chain as read for verification: its head read before the entries, its head read
/// after them, and every entry (with its sequence number from the key, whether or not it reads
/// as an entry). Appends may land while it is read: an entry between the two heads is one.
pub struct ChainRead {
    pub head_before: Option<Head>,
    pub head_after: Option<Head>,
    pub entries: Vec<(u64, Result<Entry, Malformed>)>,
}

pub async fn chain(client: &aws_sdk_dynamodb::Client, table: &str, day: &str) -> Result<ChainRead, AwsError> {
    let head_before = head(client, table, day).await?;
    let q = client
        .query()
        .table_name(table)
        .key_condition_expression("chain = :c AND seq >= :one")
        .expression_attribute_values(":c", sv(day))
        .expression_attribute_values(":one", nv(1))
        .consistent_read(true);
    let items = settlepaisa_aws::dynamo::all_pages(q).await?;
    let head_after = head(client, table, day).await?;
    let entries = items
        .iter()
        .map(|item| {
            let seq = settlepaisa_aws::dynamo::n(item, "seq").unwrap_or(0).max(0) as u64;
            (seq, entry_from(item))
        })
        .collect();
    Ok(ChainRead { head_before, head_after, entries })
}

/// A page of a chain: its entries, where to go on from, how many items it examined.
pub struct Page {
    pub entries: Vec<Entry>,
    pub next: Option<u64>,
    pub examined: usize,
}

/// What the audit API filters on (all optional; a page holds only entries matching all).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// RFC 3339 bounds on the record time, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Up to `limit` entries of `day`'s chain below `after` (a sequence number), matching `filter`,
/// newest first; the sequence to go on from when the chain has more; and how many items were
/// examined. At most `budget` items are examined (DynamoDB applies `Limit` before the filter).
pub async fn page(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    day: &str,
    after: Option<u64>,
    filter: &Filter,
    limit: usize,
    budget: usize,
) -> Result<Page, AwsError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut conditions = Vec::new();
    let mut q = client.query().table_name(table).scan_index_forward(false);
    let key = match after {
        Some(_) => "chain = :c AND seq BETWEEN :one AND :before",
        None => "chain = :c AND seq >= :one",
    };
    q = q
        .key_condition_expression(key)
        .expression_attribute_values(":c", sv(day))
        .expression_attribute_values(":one", nv(1));
    if let Some(a) = after {
        q = q.expression_attribute_values(":before", nv(a.saturating_sub(1)));
        if a <= 1 {
            return Ok(Page { entries: Vec::new(), next: None, examined: 0 });
        }
    }
    let equal_to = [
        ("actor_name", ":actor", &filter.actor),
        ("#action", ":action", &filter.action),
        ("target_type", ":tt", &filter.target_type),
        ("target_id", ":tid", &filter.target_id),
    ];
    for (attr, placeholder, value) in equal_to {
        if let Some(v) = value {
            conditions.push(format!("{attr} = {placeholder}"));
            q = q.expression_attribute_values(placeholder, sv(v));
        }
    }
    if let Some(f) = &filter.from {
        conditions.push("record_time >= :from".into());
        q = q.expression_attribute_values(":from", sv(f));
    }
    if let Some(t) = &filter.to {
        conditions.push("record_time <= :to".into());
        q = q.expression_attribute_values(":to", sv(t));
    }
    if filter.action.is_some() {
        q = q.expression_attribute_names("#action", "action");
    }
    if !conditions.is_empty() {
        q = q.filter_expression(conditions.join(" AND "));
    }
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    let mut examined = 0usize;
    loop {
        let want = (budget - examined).clamp(1, 1000) as i32;
        requests::record("dynamodb.Query", 1);
        let resp = q
            .clone()
            .set_exclusive_start_key(start.take())
            .limit(want)
            .send()
            .await
            .map_err(|e| AwsError::new("Query", sdk_message(&e)))?;
        examined += resp.scanned_count().max(0) as usize;
        for item in resp.items() {
            out.push(entry_from(item).map_err(|e| AwsError::new("Query", e))?);
            if out.len() == limit {
                let last = out.last().map(|e| e.seq).filter(|s| *s > 1);
                return Ok(Page { entries: out, next: last, examined });
            }
        }
        match resp.last_evaluated_key.filter(|k| !k.is_empty()) {
            None => return Ok(Page { entries: out, next: None, examined }),
            Some(k) => {
                let seq = match k.get("seq") {
                    Some(AttributeValue::N(n)) => n.parse::<u64>().ok(),
                    _ => None,
                };
                if examined >= budget {
                    return Ok(Page { entries: out, next: seq.filter(|s| *s > 1), examined });
                }
                start = Some(k);
            }
        }
    }
}

/// An entry by a function deciding on its own: `function` is its name in the template's terms
/// (`settle-cycle`), `request_id` the invocation's (or the event's) id.
pub fn by_function(function: &str, action: &str, target: (&str, &str), request_id: &str) -> Draft {
    Draft::new(now_rfc3339(), Actor::Function { function: function.to_string() }, action, target, request_id)
}
