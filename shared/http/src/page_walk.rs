//! One page of a listing, with the work bounded by the page and not by the data.
//!
//! DynamoDB applies a Query's `Limit` to the items it *evaluates*, before the filter: a filter
//! that matches little makes a page that is never full, and a handler that reads on until it is
//! full reads the whole range, one call at a time. A page here stops at whichever comes first —
//! the page is full, [`Budget::examine`] items were evaluated, or [`Budget::calls`] queries were
//! made — and hands back where it stopped. A page may therefore hold fewer items than asked, even
//! none, with a cursor to go on: clients page while `nextCursor` is present.
//!
//! Partitions (the day buckets of a day range, or one index partition) are walked in order; the
//! walk is pure, so the bounds are tested here with an in-memory store.

use std::future::Future;

/// The most a page may cost.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Items wanted.
    pub page: usize,
    /// Items the store may evaluate (filtered out or not).
    pub examine: usize,
    /// Queries the store may be sent.
    pub calls: usize,
    /// A filter is applied after `Limit`: ask for as many evaluations as the budget allows,
    /// since fewer than that come back.
    pub filtered: bool,
}

/// Items evaluated per page at most, whatever the page size: one Query's worth of transactions
/// or exceptions (DynamoDB stops a Query at 1 MB anyway).
pub const EXAMINE_PER_PAGE: usize = 500;
/// Queries per page at most: empty partitions cost a call each.
pub const CALLS_PER_PAGE: usize = 32;

impl Budget {
    pub fn new(page: usize, filtered: bool) -> Budget {
        Budget { page, examine: EXAMINE_PER_PAGE.max(page), calls: CALLS_PER_PAGE, filtered }
    }
}

/// What one query returned: the items that passed the filter, how many were evaluated, and the
/// key to go on from in the same partition (none when the partition is done).
pub struct Slice<T, K> {
    pub items: Vec<T>,
    pub examined: usize,
    pub next: Option<K>,
}

/// Where a walk starts or goes on: a partition (its index) and a key in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resume<K> {
    pub partition: usize,
    pub key: Option<K>,
}

pub struct Page<T, K> {
    pub items: Vec<T>,
    pub next: Option<Resume<K>>,
    pub examined: usize,
    pub calls: usize,
}

/// Walks `partitions` partitions from `from` until the page is full or the budget is spent.
/// `query(partition, start, limit)` evaluates at most `limit` items; `key_of` gives an item's
/// position, for a page that ends inside what one query returned.
pub async fn walk<T, K, E, F, Fut>(
    partitions: usize,
    from: Resume<K>,
    budget: Budget,
    key_of: impl Fn(&T) -> K,
    mut query: F,
) -> Result<Page<T, K>, E>
where
    F: FnMut(usize, Option<K>, usize) -> Fut,
    Fut: Future<Output = Result<Slice<T, K>, E>>,
{
    let mut page = Page { items: Vec::new(), next: None, examined: 0, calls: 0 };
    let (mut partition, mut start) = (from.partition, from.key);
    while partition < partitions {
        let want = budget.page - page.items.len();
        let left = budget.examine.saturating_sub(page.examined);
        if want == 0 || left == 0 || page.calls == budget.calls {
            page.next = Some(Resume { partition, key: start });
            return Ok(page);
        }
        let limit = if budget.filtered { left } else { want.min(left) };
        let slice = query(partition, start.take(), limit).await?;
        page.calls += 1;
        page.examined += slice.examined;
        let returned = slice.items.len();
        let mut items = slice.items.into_iter();
        page.items.extend(items.by_ref().take(want));
        if returned > want {
            // The page ends inside this query's items: go on after the last one kept.
            let last = page.items.last().map(&key_of);
            page.next = Some(Resume { partition, key: last });
            return Ok(page);
        }
        match slice.next {
            Some(key) => start = Some(key),
            None => partition += 1,
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Partitions of numbered items; the store evaluates `limit` items from `start` (exclusive)
    /// and returns those passing `keep`.
    struct Store {
        parts: Vec<Vec<u32>>,
    }

    impl Store {
        async fn query(
            &self,
            p: usize,
            start: Option<u32>,
            limit: usize,
            keep: fn(u32) -> bool,
        ) -> Result<Slice<u32, u32>, ()> {
            let rows = &self.parts[p];
            let from = start.map_or(0, |k| rows.iter().position(|r| *r == k).unwrap() + 1);
            let evaluated: Vec<u32> = rows[from..].iter().copied().take(limit).collect();
            let next = (from + evaluated.len() < rows.len()).then(|| *evaluated.last().unwrap());
            Ok(Slice {
                items: evaluated.iter().copied().filter(|r| keep(*r)).collect(),
                examined: evaluated.len(),
                next,
            })
        }

        /// Every page from the top: the items in order, and each page's (examined, calls).
        async fn all(&self, budget: Budget, keep: fn(u32) -> bool) -> (Vec<u32>, Vec<(usize, usize, usize)>) {
            let mut from = Resume { partition: 0, key: None };
            let (mut items, mut costs) = (Vec::new(), Vec::new());
            for _ in 0..10_000 {
                let page =
                    walk(self.parts.len(), from.clone(), budget, |r: &u32| *r, |p, s, l| self.query(p, s, l, keep))
                        .await
                        .unwrap();
                costs.push((page.items.len(), page.examined, page.calls));
                items.extend(page.items);
                match page.next {
                    Some(next) => from = next,
                    None => return (items, costs),
                }
            }
            panic!("the walk does not end");
        }
    }

    fn store(parts: usize, per: u32) -> Store {
        Store { parts: (0..parts as u32).map(|p| (0..per).map(|i| p * 100_000 + i).collect()).collect() }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn a_page_of_one_with_a_rare_filter_costs_what_a_full_page_costs() {
        // 240 rows in one partition; a status that matches none of them.
        let s = store(1, 240);
        let none = |_| false;
        let every = |_| true;
        let (rare_items, rare) = block_on(s.all(Budget::new(1, true), none));
        let (_, full) = block_on(s.all(Budget::new(500, false), every));
        assert!(rare_items.is_empty());
        let examined_one: usize = rare[0].1;
        let examined_full: usize = full[0].1;
        assert!(examined_one <= examined_full, "limit=1 examined {examined_one}, limit=500 {examined_full}");
        assert_eq!(rare[0].2, 1, "one query, not one per row");
    }

    #[test]
    fn an_empty_range_of_many_partitions_is_walked_a_bounded_number_of_calls_per_page() {
        let s = store(1_472, 0);
        let (items, costs) = block_on(s.all(Budget::new(50, false), |_| true));
        assert!(items.is_empty());
        assert!(costs.iter().all(|c| c.2 <= CALLS_PER_PAGE), "{costs:?}");
        assert_eq!(costs.len(), 1_472usize.div_ceil(CALLS_PER_PAGE));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn paging_returns_every_kept_item_once_in_order_within_budget(
            sizes in proptest::collection::vec(0u32..300, 1..12),
            page in 1usize..120,
            modulus in 1u32..9,
        ) {
            let s = Store { parts: sizes.iter().enumerate().map(|(p, n)| (0..*n).map(|i| p as u32 * 100_000 + i).collect()).collect() };
            let keep: fn(u32) -> bool = match modulus {
                1 => |_| true,
                2 => |r| r % 2 == 0,
                3 => |r| r % 7 == 3,
                _ => |r| r % 97 == 5,
            };
            let filtered = modulus != 1;
            let budget = Budget::new(page, filtered);
            let (items, costs) = block_on(s.all(budget, keep));
            let expected: Vec<u32> = s.parts.iter().flatten().copied().filter(|r| keep(*r)).collect();
            prop_assert_eq!(items, expected);
            for (n, examined, calls) in costs {
                prop_assert!(n <= page && examined <= budget.examine && calls <= budget.calls);
            }
        }
    }
}
