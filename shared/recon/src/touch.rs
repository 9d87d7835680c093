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
