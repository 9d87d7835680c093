//! Counts of AWS requests and capacity units, per operation, for the cost figures.
//!
//! Every adapter call records itself here; `snapshot` reads the totals. A process-wide count is
//! what a cost estimate needs (requests per transaction reconciled), and costs an atomic add.
//! Writes count what DynamoDB bills: the table's write units and, for a table whose indexes were
//! described with [`describe_table`], every global secondary index's.

use crate::capacity::{self, Item, TableIndexes, WriteUnits};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub requests: u64,
    /// Items written or read (DynamoDB), messages (SQS), bytes (S3 PUT/GET). For DynamoDB writes
    /// of whole items: the base table's write units.
    pub units: u64,
    /// Write units of the global secondary indexes the same writes updated.
    pub index_units: u64,
}

static COUNTS: Mutex<BTreeMap<&'static str, Count>> = Mutex::new(BTreeMap::new());

/// Physical table name → its key and indexes, as the deployed template declares them.
static TABLES: Mutex<BTreeMap<String, TableIndexes>> = Mutex::new(BTreeMap::new());

/// Physical table name → the write units billed to it and to its indexes.
static TABLE_WRITES: Mutex<BTreeMap<String, WriteUnits>> = Mutex::new(BTreeMap::new());

pub fn record(operation: &'static str, units: u64) {
    add(operation, 1, WriteUnits { table: units, indexes: 0 });
}

fn add(operation: &'static str, requests: u64, units: WriteUnits) {
    if let Ok(mut map) = COUNTS.lock() {
        let c = map.entry(operation).or_default();
        c.requests += requests;
        c.units += units.table;
        c.index_units += units.indexes;
    }
}

/// Write units billed to `table` by a request already counted (its index units, say).
pub fn record_units(operation: &'static str, table: &str, units: WriteUnits) {
    add(operation, 0, units);
    if let Ok(mut writes) = TABLE_WRITES.lock() {
        *writes.entry(table.to_string()).or_default() += units;
    }
}

/// Tells the counter a table's key and indexes, so writes to it count their index units.
pub fn describe_table(table: &str, indexes: TableIndexes) {
    if let Ok(mut tables) = TABLES.lock() {
        tables.insert(table.to_string(), indexes);
    }
}

/// What putting these items into `table` costs, base table and indexes.
pub fn put_units<'a>(table: &str, items: impl IntoIterator<Item = &'a Item>) -> WriteUnits {
    let tables = TABLES.lock().ok();
    let described = tables.as_ref().and_then(|t| t.get(table));
    let mut total = WriteUnits::default();
    for item in items {
        total += capacity::put_units(described, item);
    }
    total
}

/// One request that put `items` into `table` (PutItem, a transaction's puts).
pub fn record_puts<'a>(operation: &'static str, table: &str, items: impl IntoIterator<Item = &'a Item>) {
    record_write(operation, table, put_units(table, items));
}

/// One write request to `table` and the units it was billed.
pub fn record_write(operation: &'static str, table: &str, units: WriteUnits) {
    add(operation, 1, units);
    if let Ok(mut tables) = TABLE_WRITES.lock() {
        *tables.entry(table.to_string()).or_default() += units;
    }
}

/// Write units per table (physical name), of the writes recorded with their table.
pub fn table_writes() -> BTreeMap<String, WriteUnits> {
    TABLE_WRITES.lock().map(|m| m.clone()).unwrap_or_default()
}

pub fn snapshot() -> BTreeMap<&'static str, Count> {
    COUNTS.lock().map(|m| m.clone()).unwrap_or_default()
}

pub fn reset() {
    if let Ok(mut map) = COUNTS.lock() {
        map.clear();
    }
    if let Ok(mut map) = TABLE_WRITES.lock() {
        map.clear();
    }
}
