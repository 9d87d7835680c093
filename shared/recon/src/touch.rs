//! Overlapping cache misses without `unsafe` prefetching.
//!
//! Records sorted one way (PG by `txn_id`, UTR groups by UTR) point into the input buffers in an
//! order unrelated to the file: each id or narration read is a cache (and TLB) miss. A loop that
//! reads a value and then works on it waits for each miss in turn. Touching a batch first — one
//! byte of each, in a loop that does nothing with the bytes but fold them — lets the processor
//! keep many of those loads in flight at once; the loop that does the work then finds them in
//! cache. Measured on the 1M-row benchmark (docs/benchmarks.md).

/// Items handled per touched batch: enough loads to overlap, few enough lines to stay in cache.
pub const BATCH: usize = 256;

/// Reads the first byte of every text and returns them folded together (pass it to
/// [`std::hint::black_box`] so the loads are not removed).
pub fn first_bytes<'a>(texts: impl Iterator<Item = &'a str>) -> u8 {
    texts.fold(0, |acc, t| acc ^ t.as_bytes().first().copied().unwrap_or(0))
}

/// Touches a batch ahead of the work: before the item at `at` (of `len`), once `at` passes the
/// last batch touched, `touch` reads the items of the next batch (`at..at + BATCH`) and folds
/// their bytes. Loops that take items one at a time or a group at a time call it the same way.
#[derive(Debug, Default)]
pub struct Ahead {
    touched: usize,
}

impl Ahead {
    pub fn before(&mut self, at: usize, len: usize, touch: impl FnOnce(std::ops::Range<usize>) -> u8) {
        if at >= self.touched {
            self.touched = (at + BATCH).min(len);
            std::hint::black_box(touch(at..self.touched));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_item_is_touched_once_in_batches_whatever_the_step() {
        for step in [1, 3, BATCH, BATCH + 1] {
            let mut ahead = Ahead::default();
            let mut ranges = Vec::new();
            let mut at = 0;
            while at < 1000 {
                ahead.before(at, 1000, |r| {
                    ranges.push(r);
                    0
                });
                at += step;
            }
            // Every position the loop visits lies in exactly one touched range, which starts
            // where the loop was.
            for at in (0..1000).step_by(step) {
                assert_eq!(ranges.iter().filter(|r| r.contains(&at)).count(), 1, "step {step}, at {at}");
            }
            assert!(ranges.iter().all(|r| r.len() <= BATCH && r.end <= 1000));
        }
    }
}
