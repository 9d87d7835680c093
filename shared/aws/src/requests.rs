//! Counts of AWS requests and capacity units, per operation, for the cost figures.
//!
//! Every adapter call records itself here; `snapshot` reads the totals. A process-wide count is
//! what a cost estimate needs (requests per transaction reconciled), and costs an atomic add.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    pub requests: u64,
    /// Items written or read (DynamoDB), messages (SQS), bytes (S3 PUT/GET).
    pub units: u64,
}

static COUNTS: Mutex<BTreeMap<&'static str, Count>> = Mutex::new(BTreeMap::new());

pub fn record(operation: &'static str, units: u64) {
    if let Ok(mut map) = COUNTS.lock() {
        let c = map.entry(operation).or_default();
        c.requests += 1;
        c.units += units;
    }
}

pub fn snapshot() -> BTreeMap<&'static str, Count> {
    COUNTS.lock().map(|m| m.clone()).unwrap_or_default()
}

pub fn reset() {
    if let Ok(mut map) = COUNTS.lock() {
        map.clear();
    }
}
