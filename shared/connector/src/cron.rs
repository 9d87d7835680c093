//! A connector's schedule: five-field cron (`minute hour day-of-month month day-of-week`) read in
//! Asia/Kolkata, as EventBridge Scheduler's `ScheduleExpressionTimezone` would. One scheduled
//! function runs every few minutes and pulls the connectors due since their last run, so ops
//! change a schedule with the API, not a deploy. Fields: `*`, numbers, `a-b`, `*/n`, `a-b/n` and
//! lists of them; day-of-week 0–7 (0 and 7 Sunday); when both day fields are restricted, either
//! matching is enough (cron's rule).

use settlepaisa_recon::date::Date;

const IST_OFFSET_SECS: i64 = 19_800;
/// How far back a due check looks (a connector not run for longer is due at once).
const MAX_LOOKBACK_MINUTES: i64 = 7 * 24 * 60;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    days_restricted: bool,
    weekdays_restricted: bool,
}

fn field(text: &str, lo: u32, hi: u32, name: &str) -> Result<(Vec<bool>, bool), String> {
    let mut set = vec![false; hi as usize + 1];
    let bad = || format!("the {name} field `{text}` is not cron ({lo}–{hi}, *, a-b, */n, lists)");
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0).ok_or_else(bad)?),
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?)
        } else {
            let v: u32 = range.parse().map_err(|_| bad())?;
            (v, if part.contains('/') { hi } else { v })
        };
        if a < lo || b > hi || a > b {
            return Err(bad());
        }
        let mut v = a;
        while v <= b {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok((set, text != "*"))
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Schedule, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [m, h, dom, mon, dow] = parts[..] else {
            return Err(format!("schedule `{text}` is not five cron fields (minute hour day month weekday)"));
        };
        let (mut weekdays, weekdays_restricted) = field(dow, 0, 7, "day-of-week")?;
        if weekdays[7] {
            weekdays[0] = true;
        }
        let (days, days_restricted) = field(dom, 1, 31, "day-of-month")?;
        Ok(Schedule {
            text: parts.join(" "),
            minutes: field(m, 0, 59, "minute")?.0,
            hours: field(h, 0, 23, "hour")?.0,
            days,
            months: field(mon, 1, 12, "month")?.0,
            weekdays,
            days_restricted,
            weekdays_restricted,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the IST minute holding `unix` matches.
    pub fn matches(&self, unix: i64) -> bool {
        let local = unix + IST_OFFSET_SECS;
        let day = Date(local.div_euclid(86_400) as i32);
        let secs = local.rem_euclid(86_400);
        let (_, month, dom) = day.ymd();
        // 1970-01-01 was a Thursday.
        let weekday = (i64::from(day.0) + 4).rem_euclid(7) as usize;
        let day_ok = match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => self.days[dom as usize] || self.weekdays[weekday],
            (true, false) => self.days[dom as usize],
            (false, true) => self.weekdays[weekday],
            (false, false) => true,
        };
        self.minutes[(secs / 60 % 60) as usize]
            && self.hours[(secs / 3600) as usize]
            && self.months[month as usize]
            && day_ok
    }

    /// Whether a matching minute falls in `(after, until]` (Unix seconds; at most a week back).
    pub fn due_between(&self, after: i64, until: i64) -> bool {
        let last = until.div_euclid(60);
        let first = (after.div_euclid(60) + 1).max(last - MAX_LOOKBACK_MINUTES);
        (first..=last).any(|m| self.matches(m * 60))
    }

    /// The next matching minute after `t` (within a year), for ops.
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let start = t.div_euclid(60) + 1;
        (start..start + 366 * 24 * 60).map(|m| m * 60).find(|s| self.matches(*s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-10-01 (a Thursday) at `h:m` IST, as Unix seconds.
    fn ist(day: u32, h: i64, m: i64) -> i64 {
        let d = Date::from_ymd(2026, 10, day).unwrap();
        i64::from(d.0) * 86_400 + h * 3600 + m * 60 - IST_OFFSET_SECS
    }

    #[test]
    fn fields_read_as_cron_in_ist() {
        let s = Schedule::parse("30 6,18 * * 1-5").unwrap();
        assert!(s.matches(ist(1, 6, 30)), "Thursday 06:30 IST");
        assert!(s.matches(ist(1, 18, 30)));
        assert!(!s.matches(ist(1, 6, 31)));
        assert!(!s.matches(ist(3, 6, 30)), "Saturday");
        let every = Schedule::parse("*/15 * * * *").unwrap();
        assert!(every.matches(ist(2, 0, 45)) && !every.matches(ist(2, 0, 50)));
        let sundays = Schedule::parse("0 9 * * 7").unwrap();
        assert!(sundays.matches(ist(4, 9, 0)), "7 is Sunday too");
        let either = Schedule::parse("0 9 1 * 6").unwrap();
        assert!(either.matches(ist(1, 9, 0)) && either.matches(ist(3, 9, 0)) && !either.matches(ist(2, 9, 0)));
        for bad in ["* * * *", "60 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *", "* * 0 * *"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn due_since_the_last_run_and_the_next_run() {
        let s = Schedule::parse("0 7 * * *").unwrap();
        assert!(s.due_between(ist(1, 6, 50), ist(1, 7, 5)));
        assert!(!s.due_between(ist(1, 7, 0), ist(1, 7, 14)), "already run for 07:00");
        assert!(s.due_between(ist(1, 7, 0), ist(2, 7, 0)));
        assert_eq!(s.next_after(ist(1, 7, 0)), Some(ist(2, 7, 0)));
    }
}
