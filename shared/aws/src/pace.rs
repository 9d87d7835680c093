//! Pacing writes to a configured rate: every write takes the next free slot of `1/rate` seconds,
//! so an invocation never sends more than its share of a table's throughput however many requests
//! it keeps in flight (DynamoDB would throttle the excess, and retried throttles waste the
//! invocation's time). A rate of 0 does not pace (the emulator, tests).

use std::sync::Mutex;
use tokio::time::{Duration, Instant};

#[derive(Debug)]
pub struct Pacer {
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `per_second` writes a second at most; 0 for no pacing.
    pub fn new(per_second: u32) -> Pacer {
        let interval = (per_second > 0).then(|| Duration::from_nanos(1_000_000_000 / u64::from(per_second)));
        Pacer { interval, next: Mutex::new(None) }
    }

    /// Waits for this write's slot.
    pub async fn acquire(&self) {
        let Some(interval) = self.interval else { return };
        let slot = {
            let Ok(mut next) = self.next.lock() else { return };
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn writes_are_spread_at_the_rate_however_many_wait_at_once() {
        let pacer = std::sync::Arc::new(Pacer::new(100));
        let start = Instant::now();
        let mut all = tokio::task::JoinSet::new();
        for _ in 0..250 {
            let p = pacer.clone();
            all.spawn(async move { p.acquire().await });
        }
        while all.join_next().await.is_some() {}
        let took = start.elapsed();
        // 250 slots of 10 ms, the first at once: 2.49 s of (virtual) time.
        assert!(took >= Duration::from_millis(2_490) && took < Duration::from_millis(2_520), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_of_zero_does_not_wait() {
        let pacer = Pacer::new(0);
        let start = Instant::now();
        for _ in 0..1_000 {
            pacer.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
