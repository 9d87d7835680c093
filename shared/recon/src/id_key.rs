//! Sorting and joining by text ids (`txn_id`, `settlement_id`) without chasing every id into the
//! file buffer at every comparison.
//!
//! A sort of a million records by `&str` spent most of its time waiting for the id bytes (each a
//! cache miss into the input) and moving 100-byte records. [`IdKey`] holds an id's first 16 bytes
//! as an integer and its length: for ids of at most 16 bytes (every id a PG or acquirer issues
//! in practice) comparing keys *is* comparing the ids, and longer ids fall back to the text only
//! when their first 16 bytes agree. Records are then sorted as small `(key, index)` pairs and
//! moved once.

use std::cmp::Ordering;

/// Bytes of an id held in the key itself.
const PREFIX: usize = 16;

/// An id's first 16 bytes (big-endian, zero-padded, as two halves so the key is 8-byte aligned
/// and 24 bytes with its length) and its length. Deliberately not `Eq`: two ids longer than 16
/// bytes can share a key; compare with [`IdKey::cmp_with`].
#[derive(Clone, Copy, Debug)]
pub struct IdKey {
    prefix: (u64, u64),
    len: u32,
}

impl IdKey {
    pub fn of(id: &str) -> IdKey {
        let b = id.as_bytes();
        // A fixed-size load where the id is long enough (one instruction, where a copy of a
        // variable length is a call).
        let prefix = match b.first_chunk::<PREFIX>() {
            Some(head) => u128::from_be_bytes(*head),
            None => {
                let mut head = [0u8; PREFIX];
                for (slot, &c) in head.iter_mut().zip(b) {
                    *slot = c;
                }
                u128::from_be_bytes(head)
            }
        };
        IdKey { prefix: ((prefix >> 64) as u64, prefix as u64), len: u32::try_from(b.len()).unwrap_or(u32::MAX) }
    }

    /// Whether the key alone decides comparisons with any other key: the id fits in it.
    pub fn is_whole(&self) -> bool {
        self.len as usize <= PREFIX
    }

    /// Orders `a` (whose key is `self`) against `b` (key `other`) exactly as `a.cmp(b)`. With equal
    /// prefixes, a shorter id of at most 16 bytes is a prefix of the other (the rest of its key is
    /// zero padding, and the other's first bytes match it), so the lengths decide; only two ids
    /// longer than the prefix need their text.
    pub fn cmp_ids(&self, a: &str, other: &IdKey, b: &str) -> Ordering {
        self.cmp_with(other, || (a, b))
    }

    /// As [`IdKey::cmp_ids`], fetching the two ids only when the keys cannot decide: in a sort,
    /// fetching them (from records in no useful order) at every comparison costs a miss each.
    pub fn cmp_with<'t>(&self, other: &IdKey, ids: impl FnOnce() -> (&'t str, &'t str)) -> Ordering {
        self.cmp_whole(other).unwrap_or_else(|| {
            let (a, b) = ids();
            a.as_bytes()[PREFIX..].cmp(&b.as_bytes()[PREFIX..])
        })
    }

    /// Orders two keys when both ids fit in them; `None` when the text must decide.
    pub fn cmp_whole(&self, other: &IdKey) -> Option<Ordering> {
        match self.prefix.cmp(&other.prefix) {
            Ordering::Equal if !self.is_whole() && !other.is_whole() => None,
            Ordering::Equal => Some(self.len.cmp(&other.len)),
            unequal => Some(unequal),
        }
    }
}

/// How [`sort_by_id`] moves records into their new order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reorder {
    /// Into a new list, read in parallel (each record's read independent of the others', where a
    /// move in place follows one cycle a miss at a time); the old list is freed at once. For
    /// records sorted early, far from a run's peak memory.
    Gather,
    /// In place ([`permute_in_place`]): the records are never held twice. For records sorted at
    /// a run's peak.
    InPlace,
}

/// Puts `list` in (id, tie) order and returns each position's [`IdKey`]. `tie` is the record's
/// line, so the order is total and never depends on the order records arrived in. Lists are
/// often already in order: checking is one parallel pass over keys, sorting is many. An unsorted
/// list is sorted as small (key, tie, index) triples, the ids read only when two keys cannot
/// decide, and each record then moved once.
pub fn sort_by_id<T: Copy + Send + Sync>(
    list: &mut Vec<T>,
    id: impl Fn(&T) -> &str + Sync,
    tie: impl Fn(&T) -> u32 + Sync,
    reorder: Reorder,
) -> Vec<IdKey> {
    use rayon::prelude::*;
    let mut triples: Vec<(IdKey, u32, u32)> =
        list.par_iter().enumerate().map(|(i, t)| (IdKey::of(id(t)), tie(t), i as u32)).collect();
    let order = |a: &(IdKey, u32, u32), b: &(IdKey, u32, u32), list: &[T]| {
        a.0.cmp_with(&b.0, || (id(&list[a.2 as usize]), id(&list[b.2 as usize]))).then(a.1.cmp(&b.1))
    };
    if !triples.par_windows(2).all(|w| order(&w[0], &w[1], list).is_le()) {
        triples.par_sort_unstable_by(|a, b| order(a, b, list));
        match reorder {
            Reorder::Gather => *list = triples.par_iter().map(|k| list[k.2 as usize]).collect(),
            Reorder::InPlace => permute_in_place(list, triples.iter().map(|k| k.2).collect()),
        }
    }
    triples.into_iter().map(|k| k.0).collect()
}

/// Puts `items` in the order `order` gives (`order[i]` is the index of the item that goes to
/// position `i`), in place by following each cycle of swaps: a sorted copy would hold the records
/// twice.
/// `order` must be a permutation; it is used up as the walk's bookkeeping.
pub fn permute_in_place<T>(items: &mut [T], mut order: Vec<u32>) {
    debug_assert_eq!(items.len(), order.len());
    const DONE: u32 = u32::MAX;
    for start in 0..items.len() {
        if order[start] == DONE {
            continue;
        }
        // Follow the cycle through `start`: each slot takes the item its order names, whose slot
        // then takes the next, until the cycle closes back at `start`.
        let mut slot = start;
        loop {
            let from = order[slot] as usize;
            order[slot] = DONE;
            if from == start {
                break;
            }
            items.swap(slot, from);
            slot = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids() -> impl Strategy<Value = String> {
        // Short and long ids sharing prefixes, NULs included: where shortcuts break.
        prop_oneof!["[AB\u{0}]{0,20}", "TXN[0-9]{0,15}", "setl_[A-Z]{0,4}_2026[0-9]{0,6}",]
    }

    proptest! {
        #[test]
        fn keys_order_ids_as_the_text_does(a in ids(), b in ids()) {
            let (ka, kb) = (IdKey::of(&a), IdKey::of(&b));
            prop_assert_eq!(ka.cmp_ids(&a, &kb, &b), a.cmp(&b));
            if let Some(o) = ka.cmp_whole(&kb) {
                prop_assert_eq!(o, a.cmp(&b));
            }
            prop_assert_eq!(ka.cmp_whole(&kb) == Some(Ordering::Equal), a == b && a.len() <= PREFIX);
        }

        #[test]
        fn sorting_by_id_orders_as_the_text_and_line_do_whichever_way_records_move(
            records in proptest::collection::vec((ids(), 0u32..5), 0..60)
        ) {
            let list: Vec<(&str, u32)> = records.iter().map(|(id, line)| (id.as_str(), *line)).collect();
            let mut want = list.clone();
            want.sort();
            for reorder in [Reorder::Gather, Reorder::InPlace] {
                let mut got = list.clone();
                let keys = sort_by_id(&mut got, |r| r.0, |r| r.1, reorder);
                prop_assert_eq!(&got, &want);
                for (k, r) in keys.iter().zip(&got) {
                    prop_assert_eq!(k.cmp_ids(r.0, &IdKey::of(r.0), r.0), Ordering::Equal);
                }
                prop_assert_eq!(keys.len(), got.len());
            }
        }

        #[test]
        fn permuting_in_place_gives_the_gathered_order(mut order in Just((0u32..40).collect::<Vec<_>>()).prop_shuffle()) {
            let items: Vec<u32> = (100..140).collect();
            let want: Vec<u32> = order.iter().map(|&i| items[i as usize]).collect();
            let mut got = items.clone();
            permute_in_place(&mut got, std::mem::take(&mut order));
            prop_assert_eq!(got, want);
        }
    }
}
