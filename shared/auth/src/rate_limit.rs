//! Per-user rate limits, the pure part: which class a route is in, each class's limit, and the
//! token bucket's decision.
//!
//! The bucket is kept as GCRA (the generic cell rate algorithm, a token bucket written as one
//! number): the *theoretical arrival time* `tat` of the next request were the user sending at
//! exactly the limit's rate. A request at `now` is allowed when `tat − now ≤ τ`, where
//! `τ = (burst − 1) · T` and `T = 60 s / per_minute`, and moves `tat` to `max(tat, now) + T`.
//! One number per user and class means one DynamoDB item, written once per request.

use serde::Serialize;

/// The classes a user's requests are counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteClass {
    /// Reads (`GET`).
    Read,
    /// Changes (`POST`, `PUT`, `PATCH`, `DELETE`).
    Write,
    /// Report generation: each may read a million rows.
    Report,
}

impl RouteClass {
    pub fn of(method: &str, path: &str) -> RouteClass {
        if path == "/api/reports" && method.eq_ignore_ascii_case("POST") {
            RouteClass::Report
        } else if method.eq_ignore_ascii_case("GET") {
            RouteClass::Read
        } else {
            RouteClass::Write
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Read => "read",
            RouteClass::Write => "write",
            RouteClass::Report => "report",
        }
    }
}

/// A class's limit: a sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub per_minute: u32,
    pub burst: u32,
}

impl Limit {
    /// `T`, the time one request costs, in ms.
    pub fn interval_ms(self) -> i64 {
        (60_000 / i64::from(self.per_minute.max(1))).max(1)
    }

    /// `τ`, how far ahead of now `tat` may run, in ms.
    pub fn tolerance_ms(self) -> i64 {
        i64::from(self.burst.max(1) - 1) * self.interval_ms()
    }
}

/// Every class's limit; `None` for a class means unlimited (`USER_RATE_LIMITS=off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub read: Option<Limit>,
    pub write: Option<Limit>,
    pub report: Option<Limit>,
}

/// Production's: 1,200 reads a minute (burst 300: a dashboard's page loads), 300 changes a
/// minute (burst 60), 10 reports a minute (burst 5).
pub const DEFAULT_LIMITS: &str = "read:1200:300,write:300:60,report:10:5";

impl Limits {
    pub fn off() -> Limits {
        Limits { read: None, write: None, report: None }
    }

    pub fn of(&self, class: RouteClass) -> Option<Limit> {
        match class {
            RouteClass::Read => self.read,
            RouteClass::Write => self.write,
            RouteClass::Report => self.report,
        }
    }

    /// `class:per_minute:burst` separated by commas (a class not named is unlimited), or `off`.
    pub fn parse(text: &str) -> Result<Limits, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(Limits::off());
        }
        let mut limits = Limits::off();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let fields: Vec<&str> = part.split(':').collect();
            let [class, rate, burst] = fields[..] else {
                return Err(format!("`{part}` is not class:per_minute:burst"));
            };
            let number = |v: &str| v.parse::<u32>().ok().filter(|n| (1..=1_000_000).contains(n));
            let (Some(per_minute), Some(burst)) = (number(rate), number(burst)) else {
                return Err(format!("`{part}`: rate and burst are whole numbers from 1 to 1,000,000"));
            };
            let limit = Some(Limit { per_minute, burst });
            match class {
                "read" => limits.read = limit,
                "write" => limits.write = limit,
                "report" => limits.report = limit,
                other => return Err(format!("`{other}` is not a class (read, write, report)")),
            }
        }
        Ok(limits)
    }
}

/// What to do with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; the bucket's `tat` becomes `new_tat`, written only if it is still `seen` (`None`:
    /// it was empty or in the past — any value before `now` will do).
    Allow { seen: Option<i64>, new_tat: i64 },
    /// Refused; the user may try again in this many seconds (rounded up, at least 1).
    Deny { retry_after_secs: u64 },
}

/// The decision for a request at `now_ms` on a bucket at `tat` (ms; `None`: never used or
/// expired).
pub fn decide(limit: Limit, tat: Option<i64>, now_ms: i64) -> Decision {
    let t = limit.interval_ms();
    match tat {
        None => Decision::Allow { seen: None, new_tat: now_ms + t },
        Some(tat) if tat < now_ms => Decision::Allow { seen: None, new_tat: now_ms + t },
        Some(tat) if tat - now_ms <= limit.tolerance_ms() => Decision::Allow { seen: Some(tat), new_tat: tat + t },
        Some(tat) => {
            let wait_ms = tat - limit.tolerance_ms() - now_ms;
            Decision::Deny { retry_after_secs: (wait_ms.max(1) as u64).div_ceil(1000) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs requests at `times` (ms) through one bucket; which were allowed.
    fn run(limit: Limit, times: &[i64]) -> Vec<bool> {
        let mut tat = None;
        times
            .iter()
            .map(|&now| match decide(limit, tat, now) {
                Decision::Allow { new_tat, .. } => {
                    tat = Some(new_tat);
                    true
                }
                Decision::Deny { .. } => false,
            })
            .collect()
    }

    #[test]
    fn a_burst_is_allowed_then_the_rate() {
        let limit = Limit { per_minute: 60, burst: 5 };
        // Ten requests at once: the burst passes, the rest wait.
        let allowed = run(limit, &[0; 10]);
        assert_eq!(allowed.iter().filter(|a| **a).count(), 5);
        assert_eq!(decide(limit, Some(5_000), 0), Decision::Deny { retry_after_secs: 1 });
        // One a second for a minute: all pass.
        let steady: Vec<i64> = (0..60).map(|i| i * 1_000).collect();
        assert!(run(limit, &steady).iter().all(|a| *a));
    }

    #[test]
    fn limits_parse_and_refuse_nonsense() {
        let l = Limits::parse(DEFAULT_LIMITS).unwrap();
        assert_eq!(l.read, Some(Limit { per_minute: 1200, burst: 300 }));
        assert_eq!(l.of(RouteClass::Report), Some(Limit { per_minute: 10, burst: 5 }));
        assert_eq!(Limits::parse("off").unwrap(), Limits::off());
        assert_eq!(Limits::parse("write:5:2").unwrap().read, None);
        for bad in ["read:0:5", "read:10", "reads:1:1", "read:x:1", "read:1:2000000"] {
            assert!(Limits::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(RouteClass::of("GET", "/api/overview"), RouteClass::Read);
        assert_eq!(RouteClass::of("POST", "/api/reports"), RouteClass::Report);
        assert_eq!(RouteClass::of("PATCH", "/api/merchants/{id}"), RouteClass::Write);
    }

    proptest! {
        /// In any window of `w` ms, at most `burst + w / T` requests pass, whatever the arrival
        /// pattern; and a refused request is told a wait after which it would pass.
        #[test]
        fn no_window_passes_more_than_burst_plus_rate(
            per_minute in 1u32..600, burst in 1u32..20, gaps in proptest::collection::vec(0i64..400, 1..200)
        ) {
            let limit = Limit { per_minute, burst };
            let mut now = 0;
            let times: Vec<i64> = gaps.iter().map(|g| { now += g; now }).collect();
            let allowed: Vec<i64> = times.iter().zip(run(limit, &times)).filter(|(_, a)| *a).map(|(t, _)| *t).collect();
            let t = limit.interval_ms();
            for (i, start) in allowed.iter().enumerate() {
                for (j, end) in allowed.iter().enumerate().skip(i) {
                    let passed = (j - i + 1) as i64;
                    prop_assert!(passed <= i64::from(burst) + (end - start) / t + 1);
                }
            }
            let mut tat = None;
            for &now in &times {
                match decide(limit, tat, now) {
                    Decision::Allow { new_tat, .. } => tat = Some(new_tat),
                    Decision::Deny { retry_after_secs } => {
                        let later = now + retry_after_secs as i64 * 1000;
                        let passes = matches!(decide(limit, tat, later), Decision::Allow { .. });
                        prop_assert!(passes, "told to wait {} s and still refused", retry_after_secs);
                    }
                }
            }
        }
    }
}
