//! A circuit breaker per connector, counted in runs, not calls: a bank endpoint is polled a few
//! times a day, so the call-count windows of resilience4j or Polly (100 calls, a 50 % failure
//! rate) would never fill. Closed → **open** after [`Thresholds::failures_to_open`] consecutive
//! failed runs (each run already retried its steps with backoff) → **half-open** once
//! [`Thresholds::cool_down_secs`] have passed (the next due run is a trial) → closed on a
//! successful trial, open again (a new cool-down) on a failed one. A dead endpoint is then tried
//! once per cool-down instead of on every schedule, and every change is recorded.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    pub failures_to_open: u32,
    pub cool_down_secs: i64,
}

impl Default for Thresholds {
    /// Three failed runs in a row (with the 15-minute schedule, at least 45 minutes of a bank
    /// not answering, each run having retried), then an hour before the next try.
    fn default() -> Thresholds {
        Thresholds { failures_to_open: 3, cool_down_secs: 3_600 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Breaker {
    Closed { consecutive_failures: u32 },
    Open { opened_at: i64, retry_at: i64 },
    HalfOpen { since: i64 },
}

impl Default for Breaker {
    fn default() -> Breaker {
        Breaker::Closed { consecutive_failures: 0 }
    }
}

/// Whether a due run goes ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Run,
    /// Half-open: this run is the trial.
    Trial,
    /// Open: not before `retry_at`.
    Skip {
        retry_at: i64,
    },
}

/// A change of state, to record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub at: i64,
    pub reason: String,
}

impl Breaker {
    pub fn name(&self) -> &'static str {
        match self {
            Breaker::Closed { .. } => "closed",
            Breaker::Open { .. } => "open",
            Breaker::HalfOpen { .. } => "half_open",
        }
    }

    /// Whether a run at `now` goes ahead, and the state it runs in (half-open once the
    /// cool-down has passed).
    pub fn admit(&self, now: i64) -> (Admission, Breaker, Option<Transition>) {
        match self {
            Breaker::Closed { .. } => (Admission::Run, self.clone(), None),
            Breaker::HalfOpen { .. } => (Admission::Trial, self.clone(), None),
            Breaker::Open { retry_at, .. } if now < *retry_at => {
                (Admission::Skip { retry_at: *retry_at }, self.clone(), None)
            }
            Breaker::Open { .. } => {
                let next = Breaker::HalfOpen { since: now };
                let t = transition(self, &next, now, "cool-down over: the next run is a trial".into());
                (Admission::Trial, next, Some(t))
            }
        }
    }

    /// The state after a run that went ahead: `error` when it failed.
    pub fn after_run(&self, error: Option<&str>, now: i64, th: Thresholds) -> (Breaker, Option<Transition>) {
        let next = match (self, error) {
            (_, None) => Breaker::Closed { consecutive_failures: 0 },
            (Breaker::Closed { consecutive_failures }, Some(_)) if consecutive_failures + 1 < th.failures_to_open => {
                Breaker::Closed { consecutive_failures: consecutive_failures + 1 }
            }
            (_, Some(_)) => Breaker::Open { opened_at: now, retry_at: now + th.cool_down_secs },
        };
        // A change of state is recorded; so is an open breaker opened again (a forced run that
        // failed starts its cool-down over). A failure counted while closed is not a change.
        let changed =
            next.name() != self.name() || matches!((self, &next), (Breaker::Open { .. }, Breaker::Open { .. }));
        let reason = match error {
            None => "a run succeeded".to_string(),
            Some(e) => match self {
                Breaker::HalfOpen { .. } => format!("the trial run failed: {e}"),
                _ => format!("{} failed runs in a row; the last: {e}", th.failures_to_open),
            },
        };
        let t = changed.then(|| transition(self, &next, now, reason));
        (next, t)
    }
}

fn transition(from: &Breaker, to: &Breaker, at: i64, reason: String) -> Transition {
    Transition { from: from.name().into(), to: to.name().into(), at, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TH: Thresholds = Thresholds { failures_to_open: 3, cool_down_secs: 600 };

    #[test]
    fn closed_opens_after_k_failed_runs_then_half_opens_and_closes_on_success() {
        let mut b = Breaker::default();
        let mut changes = Vec::new();
        for i in 0..3 {
            let (adm, state, _) = b.admit(i * 60);
            assert_eq!(adm, Admission::Run);
            let (next, t) = state.after_run(Some("connection refused"), i * 60, TH);
            changes.extend(t);
            b = next;
        }
        assert_eq!(b, Breaker::Open { opened_at: 120, retry_at: 720 });
        assert_eq!(changes.len(), 1, "one change: closed → open");
        assert_eq!((changes[0].from.as_str(), changes[0].to.as_str()), ("closed", "open"));
        assert_eq!(b.admit(719).0, Admission::Skip { retry_at: 720 }, "no hammering a dead endpoint");
        let (adm, half, t) = b.admit(720);
        assert_eq!(adm, Admission::Trial);
        assert_eq!(t.unwrap().to, "half_open");
        // A failed trial opens it again for a whole cool-down.
        let (again, t) = half.after_run(Some("timeout"), 721, TH);
        assert_eq!(again, Breaker::Open { opened_at: 721, retry_at: 1321 });
        assert!(t.unwrap().reason.contains("trial"));
        let (_, half, _) = again.admit(1400);
        let (closed, t) = half.after_run(None, 1401, TH);
        assert_eq!(closed, Breaker::default());
        assert_eq!(t.unwrap().to, "closed");
    }

    #[test]
    fn a_success_resets_the_count_and_records_nothing() {
        let (b, _) = Breaker::default().after_run(Some("x"), 0, TH);
        let (b, _) = b.after_run(Some("x"), 1, TH);
        let (b, t) = b.after_run(None, 2, TH);
        assert_eq!((b, t), (Breaker::default(), None));
        let (b, t) = Breaker::default().after_run(Some("x"), 3, TH);
        assert_eq!(b, Breaker::Closed { consecutive_failures: 1 });
        assert!(t.is_none(), "still closed: no change to record");
    }
}
