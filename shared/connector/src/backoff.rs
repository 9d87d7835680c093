//! Retry delays: the seed's `min(1000 · 2^attempt, 30000)` ms as the ceiling, and a delay drawn
//! uniformly below it ("full jitter"), so connectors that failed together do not retry together.

use std::time::Duration;

/// The seed's base (1 s) and cap (30 s), in milliseconds.
pub const BASE_MS: u64 = 1_000;
pub const CAP_MS: u64 = 30_000;

/// Attempts of one remote step (connect and list, fetch a file, push a file) within a run.
pub const ATTEMPTS: u32 = 4;

/// The delays of a run, scaled: `base_ms` is 1,000 in AWS (the seed's), smaller in tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: u64,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { base_ms: BASE_MS }
    }
}

impl Backoff {
    /// `min(base · 2^attempt, 30 · base)`: the seed's formula with its base.
    pub fn ceiling_ms(self, attempt: u32) -> u64 {
        let cap = self.base_ms.saturating_mul(CAP_MS / BASE_MS);
        self.base_ms.saturating_mul(1u64 << attempt.min(20)).min(cap)
    }

    /// The wait before retry `attempt` (0-based), `unit` uniform in `[0, 1)`.
    pub fn delay(self, attempt: u32, unit: f64) -> Duration {
        let unit = if unit.is_finite() { unit.clamp(0.0, 1.0) } else { 0.0 };
        Duration::from_millis((self.ceiling_ms(attempt) as f64 * unit) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_ceiling_and_full_jitter_below_it() {
        let b = Backoff::default();
        let ceilings: Vec<u64> = (0..7).map(|a| b.ceiling_ms(a)).collect();
        assert_eq!(ceilings, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
        assert_eq!(b.ceiling_ms(200), 30_000, "no overflow however long it fails");
        for a in 0..10 {
            for u in [0.0, 0.25, 0.999_999] {
                assert!(b.delay(a, u).as_millis() as u64 <= b.ceiling_ms(a));
            }
        }
        assert_eq!(b.delay(3, 0.5), Duration::from_millis(4_000));
        assert_eq!(b.delay(3, f64::NAN), Duration::ZERO);
        let fast = Backoff { base_ms: 10 };
        assert_eq!(fast.ceiling_ms(9), 300, "a test's scale keeps the shape");
    }
}
