//! Business days: a day is one unless it is a Sunday, the 2nd or 4th Saturday of its month (bank
//! holidays in India), or in the holiday list. A settlement cycle of T+N is N business days after
//! the capture date.

use settlepaisa_recon::date::Date;
use std::collections::BTreeSet;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calendar {
    holidays: BTreeSet<Date>,
}

/// A line of the holidays file that is not a date.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("holidays line {line}: `{text}` is not a YYYY-MM-DD date")]
pub struct BadHoliday {
    pub line: usize,
    pub text: String,
}

/// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
fn weekday(d: Date) -> i32 {
    (d.0 + 3).rem_euclid(7)
}

impl Calendar {
    pub fn new(holidays: impl IntoIterator<Item = Date>) -> Calendar {
        Calendar { holidays: holidays.into_iter().collect() }
    }

    /// The holidays file: one ISO date a line; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Calendar, BadHoliday> {
        let mut holidays = BTreeSet::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim().trim_start_matches('\u{feff}');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let d = Date::parse_iso(line).ok_or_else(|| BadHoliday { line: i + 1, text: line.to_string() })?;
            holidays.insert(d);
        }
        Ok(Calendar { holidays })
    }

    pub fn is_business_day(&self, d: Date) -> bool {
        match weekday(d) {
            6 => false,
            5 => {
                let (_, _, day) = d.ymd();
                let nth = (day - 1) / 7 + 1;
                nth != 2 && nth != 4 && !self.holidays.contains(&d)
            }
            _ => !self.holidays.contains(&d),
        }
    }

    /// The `n`th business day after `d` (`n` = 0: `d` itself if a business day, else the next).
    pub fn add_business_days(&self, d: Date, n: u32) -> Date {
        let mut day = d;
        if n == 0 {
            while !self.is_business_day(day) {
                day = day.add_days(1);
            }
            return day;
        }
        let mut left = n;
        while left > 0 {
            day = day.add_days(1);
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Business days from `from` to `to`, both included.
    pub fn business_days(&self, from: Date, to: Date) -> impl Iterator<Item = Date> + '_ {
        (from.0..=to.0).map(Date).filter(|d| self.is_business_day(*d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_iso(s).unwrap()
    }

    #[test]
    fn sundays_and_the_second_and_fourth_saturdays_are_not_business_days() {
        let c = Calendar::default();
        // October 2026: Saturdays 3, 10, 17, 24, 31; Sundays 4, 11, 18, 25.
        assert!(c.is_business_day(d("2026-10-03")), "1st Saturday");
        assert!(!c.is_business_day(d("2026-10-10")), "2nd Saturday");
        assert!(c.is_business_day(d("2026-10-17")), "3rd Saturday");
        assert!(!c.is_business_day(d("2026-10-24")), "4th Saturday");
        assert!(c.is_business_day(d("2026-10-31")), "5th Saturday");
        assert!(!c.is_business_day(d("2026-10-04")), "Sunday");
        assert!(c.is_business_day(d("2026-10-05")), "Monday");
    }

    #[test]
    fn t_plus_n_skips_weekends_second_saturdays_and_holidays() {
        let c = Calendar::parse("# Diwali\n2026-11-09\n\n2026-10-02\n").unwrap();
        // Friday 9 Oct + 1: Saturday 10 Oct is the 2nd Saturday, Sunday 11: Monday 12.
        assert_eq!(c.add_business_days(d("2026-10-09"), 1), d("2026-10-12"));
        // Friday 2 Oct 2026 is a holiday here: Thursday 1 Oct + 1 = Saturday 3 Oct (1st Saturday).
        assert_eq!(c.add_business_days(d("2026-10-01"), 1), d("2026-10-03"));
        // Friday 6 Nov + 1: Saturday 7 (1st Saturday).
        assert_eq!(c.add_business_days(d("2026-11-06"), 1), d("2026-11-07"));
        // Saturday 7 Nov + 1: Sunday 8, Monday 9 holiday: Tuesday 10.
        assert_eq!(c.add_business_days(d("2026-11-07"), 1), d("2026-11-10"));
        assert_eq!(c.add_business_days(d("2026-10-10"), 0), d("2026-10-12"), "T+0 on a holiday: the next one");
        assert_eq!(c.business_days(d("2026-10-09"), d("2026-10-12")).count(), 2);
        assert_eq!(Calendar::parse("2026-13-01"), Err(BadHoliday { line: 1, text: "2026-13-01".into() }));
    }
}
