//! Write units as DynamoDB bills them: one per started KB of the item for the table, and for every
//! global secondary index the item appears in, one per started KB of the index's copy of it.
//!
//! The description of a table's indexes ([`TableIndexes`]) is plain data: whoever knows the
//! template (the local stack) builds it and registers it with [`crate::requests::describe_table`].

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeSet, HashMap};

pub type Item = HashMap<String, AttributeValue>;

/// DynamoDB adds this much to every index item's size (its bookkeeping).
pub const INDEX_ITEM_OVERHEAD: usize = 100;

/// What an index copies of each item besides the keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Projection {
    /// The whole item.
    All,
    /// The index's and the table's key attributes only.
    KeysOnly,
    /// The keys and these attributes.
    Include(Vec<String>),
}

/// One global secondary index: its key attributes (partition, then sort if any) and projection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub keys: Vec<String>,
    pub projection: Projection,
}

/// A table's primary key attributes and its global secondary indexes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableIndexes {
    pub keys: Vec<String>,
    pub indexes: Vec<IndexSpec>,
}

/// Write units of one put (or of a batch: the sums).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteUnits {
    pub table: u64,
    pub indexes: u64,
}

impl std::ops::AddAssign for WriteUnits {
    fn add_assign(&mut self, other: WriteUnits) {
        self.table += other.table;
        self.indexes += other.indexes;
    }
}

/// One write unit per started KB; an empty write still costs one.
pub fn units_for(bytes: usize) -> u64 {
    (bytes as u64).div_ceil(1024).max(1)
}

/// The item's size as DynamoDB counts it: attribute names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| attribute_size(k, v)).sum()
}

fn attribute_size(name: &str, v: &AttributeValue) -> usize {
    name.len() + value_size(v)
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        // About one byte per two significant digits, plus one.
        AttributeValue::N(n) => n.len() / 2 + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, x)| 1 + k.len() + value_size(x)).sum::<usize>(),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len() / 2 + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        _ => 8,
    }
}

/// The size of the index's copy of `item`, or `None` when the item lacks one of the index's key
/// attributes (a sparse index: such items are not written to it).
pub fn index_item_size(table: &TableIndexes, index: &IndexSpec, item: &Item) -> Option<usize> {
    if !index.keys.iter().all(|k| item.contains_key(k)) {
        return None;
    }
    let projected = match &index.projection {
        Projection::All => item_size(item),
        projection => {
            let mut names: BTreeSet<&str> = index.keys.iter().chain(&table.keys).map(String::as_str).collect();
            if let Projection::Include(extra) = projection {
                names.extend(extra.iter().map(String::as_str));
            }
            names.into_iter().filter_map(|n| item.get_key_value(n)).map(|(k, v)| attribute_size(k, v)).sum()
        }
    };
    Some(projected + INDEX_ITEM_OVERHEAD)
}

/// What putting `item` (a new item, or one replacing an item with the same index keys) costs:
/// the table's units and every index's. A table nobody described counts its base units only.
pub fn put_units(table: Option<&TableIndexes>, item: &Item) -> WriteUnits {
    let indexes =
        table.map(|t| t.indexes.iter().filter_map(|i| index_item_size(t, i, item)).map(units_for).sum()).unwrap_or(0);
    WriteUnits { table: units_for(item_size(item)), indexes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sv(s: &str) -> AttributeValue {
        AttributeValue::S(s.into())
    }

    fn table(projection: Projection) -> TableIndexes {
        TableIndexes {
            keys: vec!["txn_id".into()],
            indexes: vec![IndexSpec {
                name: "by-merchant-time".into(),
                keys: vec!["merchant_id".into(), "captured_at".into()],
                projection,
            }],
        }
    }

    fn txn(padding: usize) -> Item {
        Item::from([
            ("txn_id".into(), sv("TXN0000000001")),
            ("merchant_id".into(), sv("M001")),
            ("captured_at".into(), AttributeValue::N("1790000000".into())),
            ("narration".into(), sv(&"x".repeat(padding))),
        ])
    }

    #[test]
    fn a_small_item_costs_one_unit_in_the_table_and_one_per_index() {
        assert_eq!(put_units(Some(&table(Projection::All)), &txn(10)), WriteUnits { table: 1, indexes: 1 });
        assert_eq!(put_units(Some(&table(Projection::KeysOnly)), &txn(10)), WriteUnits { table: 1, indexes: 1 });
        assert_eq!(put_units(None, &txn(10)), WriteUnits { table: 1, indexes: 0 });
    }

    #[test]
    fn the_index_overhead_can_push_an_all_projection_over_a_kb() {
        // 19 + 15 + 17 + 9 = 60 bytes besides the padding: 964 bytes of it fill a KB exactly.
        let item = txn(964);
        assert_eq!(item_size(&item), 1024);
        let all = put_units(Some(&table(Projection::All)), &item);
        assert_eq!(all, WriteUnits { table: 1, indexes: 2 });
        let keys = put_units(Some(&table(Projection::KeysOnly)), &item);
        assert_eq!(keys, WriteUnits { table: 1, indexes: 1 });
        let include = put_units(Some(&table(Projection::Include(vec!["narration".into()]))), &item);
        assert_eq!(include, all, "including every other attribute is the whole item");
    }

    #[test]
    fn keys_only_counts_the_index_and_table_keys_and_the_overhead() {
        let t = table(Projection::KeysOnly);
        let size = index_item_size(&t, &t.indexes[0], &txn(500)).unwrap();
        assert_eq!(size, (6 + 13) + (11 + 4) + (11 + 6) + INDEX_ITEM_OVERHEAD);
    }

    #[test]
    fn an_item_without_the_index_keys_is_not_written_to_the_index() {
        let mut item = txn(10);
        item.remove("captured_at");
        let t = table(Projection::All);
        assert_eq!(index_item_size(&t, &t.indexes[0], &item), None);
        assert_eq!(put_units(Some(&t), &item).indexes, 0);
    }

    fn value() -> impl Strategy<Value = AttributeValue> {
        prop_oneof![
            "[a-z0-9#]{0,600}".prop_map(AttributeValue::S),
            (0i64..i64::MAX).prop_map(|n| AttributeValue::N(n.to_string())),
            any::<bool>().prop_map(AttributeValue::Bool),
            proptest::collection::vec("[a-z]{0,40}".prop_map(AttributeValue::S), 0..8).prop_map(AttributeValue::L),
        ]
    }

    fn names() -> Vec<String> {
        ["txn_id", "merchant_id", "captured_at", "status", "utr", "amount_paise", "rows", "day_bucket"]
            .map(String::from)
            .to_vec()
    }

    fn item() -> impl Strategy<Value = Item> {
        proptest::collection::vec((0..names().len(), value()), 0..12)
            .prop_map(|attrs| attrs.into_iter().map(|(i, v)| (names()[i].clone(), v)).collect())
    }

    fn index(projection: Projection) -> TableIndexes {
        TableIndexes {
            keys: vec!["txn_id".into()],
            indexes: vec![
                IndexSpec { name: "a".into(), keys: vec!["merchant_id".into(), "captured_at".into()], projection },
                IndexSpec {
                    name: "b".into(),
                    keys: vec!["day_bucket".into()],
                    projection: Projection::Include(vec!["status".into()]),
                },
            ],
        }
    }

    proptest! {
        #[test]
        fn index_units_follow_the_projection(item in item(), include in proptest::sample::subsequence(names(), 0..4)) {
            let all = put_units(Some(&index(Projection::All)), &item);
            let keys = put_units(Some(&index(Projection::KeysOnly)), &item);
            let some = put_units(Some(&index(Projection::Include(include))), &item);
            let bare = put_units(None, &item);
            // The table's own units never depend on its indexes.
            prop_assert_eq!(all.table, bare.table);
            prop_assert_eq!(keys.table, bare.table);
            prop_assert!(bare.table >= 1);
            prop_assert_eq!(bare.indexes, 0);
            // A narrower projection never costs more: ALL >= INCLUDE >= KEYS_ONLY.
            prop_assert!(all.indexes >= some.indexes && some.indexes >= keys.indexes);
            // Each index the item appears in costs at least one unit and at most its ALL copy.
            let appears = index(Projection::All).indexes.iter().filter(|i| i.keys.iter().all(|k| item.contains_key(k))).count() as u64;
            prop_assert!(keys.indexes >= appears);
            prop_assert!(all.indexes <= appears * units_for(item_size(&item) + INDEX_ITEM_OVERHEAD));
        }

        #[test]
        fn an_index_copy_is_never_smaller_than_its_keys(item in item()) {
            let t = index(Projection::KeysOnly);
            for i in &t.indexes {
                if let Some(size) = index_item_size(&t, i, &item) {
                    let keys: usize = i.keys.iter().map(|k| k.len() + value_size(&item[k])).sum();
                    prop_assert!(size >= keys + INDEX_ITEM_OVERHEAD);
                }
            }
        }
    }
}
