//! Calendar dates as days since 1970-01-01, IST business dates, and the date layouts banks use.
//!
//! Hand-rolled rather than chrono: the engine parses a few million dates per run and only needs
//! civil-date arithmetic, which is a handful of integer operations.

use std::fmt;

/// A calendar date, counted in days from 1970-01-01 (negative before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

/// IST is UTC+05:30 all year (India has no daylight saving).
pub const IST_OFFSET_MINUTES: i64 = 330;

impl Date {
    /// The date for a valid year, month and day; `None` for a day that does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date(days_from_civil(year, month, day)))
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    pub fn add_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    /// Whole days from `self` to `other` (positive when `other` is later).
    pub fn days_until(self, other: Date) -> i32 {
        other.0 - self.0
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse_iso(text: &str) -> Option<Date> {
        DateLayout::new("YYYY-MM-DD").ok()?.parse(text)
    }

    /// Formats with a bank layout such as `DD/MM/YYYY`.
    pub fn format(self, layout: &DateLayout) -> String {
        let (y, m, d) = self.ymd();
        let mut out = String::with_capacity(10);
        for part in &layout.parts {
            match part {
                DatePart::Day => out.push_str(&format!("{d:02}")),
                DatePart::Month => out.push_str(&format!("{m:02}")),
                DatePart::Year4 => out.push_str(&format!("{y:04}")),
                DatePart::Year2 => out.push_str(&format!("{:02}", y.rem_euclid(100))),
                DatePart::Literal(c) => out.push(*c as char),
            }
        }
        out
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

// Days-from-civil and its inverse, on the proleptic Gregorian calendar with 400-year eras.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i32::from(month <= 2);
    (year, month, day)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DatePart {
    Day,
    Month,
    Year4,
    Year2,
    Literal(u8),
}

/// A date layout written the way bank documentation writes it: `DD/MM/YYYY`, `DD/MM/YY`,
/// `YYYY-MM-DD`, `DD-MM-YYYY`. Day and month accept one or two digits; `YY` is 20YY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateLayout {
    text: String,
    parts: Vec<DatePart>,
}

impl DateLayout {
    pub fn new(layout: &str) -> Result<DateLayout, String> {
        let mut parts = Vec::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (part, len) = if rest.starts_with("YYYY") {
                (DatePart::Year4, 4)
            } else if rest.starts_with("YY") {
                (DatePart::Year2, 2)
            } else if rest.starts_with("MM") {
                (DatePart::Month, 2)
            } else if rest.starts_with("DD") {
                (DatePart::Day, 2)
            } else {
                let c = rest.as_bytes()[0];
                if c.is_ascii_alphanumeric() {
                    return Err(format!("date layout `{layout}`: unknown token at `{rest}`"));
                }
                (DatePart::Literal(c), 1)
            };
            parts.push(part);
            rest = &rest[len..];
        }
        let has = |p| parts.contains(&p);
        if !has(DatePart::Day) || !has(DatePart::Month) || !(has(DatePart::Year4) || has(DatePart::Year2)) {
            return Err(format!("date layout `{layout}` needs DD, MM and YYYY or YY"));
        }
        Ok(DateLayout { text: layout.to_string(), parts })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The date in `text`, or `None` when it does not follow the layout or names no real day.
    pub fn parse(&self, text: &str) -> Option<Date> {
        let b = text.as_bytes();
        let mut i = 0;
        let (mut y, mut m, mut d) = (None, None, None);
        for part in &self.parts {
            match *part {
                DatePart::Literal(c) => {
                    if b.get(i) != Some(&c) {
                        return None;
                    }
                    i += 1;
                }
                DatePart::Year4 => {
                    y = Some(digits(b, &mut i, 4, 4)? as i32);
                }
                DatePart::Year2 => {
                    y = Some(2000 + digits(b, &mut i, 2, 2)? as i32);
                }
                DatePart::Month => m = Some(digits(b, &mut i, 1, 2)?),
                DatePart::Day => d = Some(digits(b, &mut i, 1, 2)?),
            }
        }
        if i != b.len() {
            return None;
        }
        Date::from_ymd(y?, m?, d?)
    }
}

/// Reads `min..=max` ASCII digits at `*i`, greedily.
fn digits(b: &[u8], i: &mut usize, min: usize, max: usize) -> Option<u32> {
    let start = *i;
    let mut value = 0u32;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        value = value * 10 + u32::from(b[*i] - b'0');
        *i += 1;
    }
    (*i - start >= min).then_some(value)
}

/// An instant from RFC 3339 with an explicit offset (`2026-10-01T10:15:00+05:30`, `...Z`), as
/// seconds since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = b.get(from..from + len)?;
        s.iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
    };
    let date = Date::from_ymd(num(0, 4)? as i32, num(5, 2)? as u32, num(8, 2)? as u32)?;
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, mi, s) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_minutes = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let minutes = oh * 60 + om;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ => return None,
    };
    Some(i64::from(date.0) * 86_400 + h * 3600 + mi * 60 + s - offset_minutes * 60)
}

/// The IST calendar date of an instant.
pub fn ist_date(unix_seconds: i64) -> Date {
    Date((unix_seconds + IST_OFFSET_MINUTES * 60).div_euclid(86_400) as i32)
}

/// Formats an instant as RFC 3339 in IST (`2026-10-01T10:15:00+05:30`).
pub fn format_ist(unix_seconds: i64) -> String {
    let local = unix_seconds + IST_OFFSET_MINUTES * 60;
    let date = Date(local.div_euclid(86_400) as i32);
    let secs = local.rem_euclid(86_400);
    format!("{date}T{:02}:{:02}:{:02}+05:30", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Formats an instant as RFC 3339 in UTC (`2026-10-01T04:45:00Z`).
pub fn format_utc(unix_seconds: i64) -> String {
    let date = Date(unix_seconds.div_euclid(86_400) as i32);
    let secs = unix_seconds.rem_euclid(86_400);
    format!("{date}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_covers_leap_years_and_century_rules() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(Date::from_ymd(y, m, d), Some(Date(days)));
        }
        assert_eq!(Date::from_ymd(1970, 1, 1), Some(Date(0)));
        assert!(Date::from_ymd(2024, 2, 29).is_some());
        assert!(Date::from_ymd(2026, 2, 29).is_none());
        assert!(Date::from_ymd(1900, 2, 29).is_none());
        assert!(Date::from_ymd(2000, 2, 29).is_some());
    }

    #[test]
    fn bank_layouts_parse_their_dates_and_refuse_others() {
        let hdfc = DateLayout::new("DD/MM/YYYY").unwrap();
        let hdfc_short = DateLayout::new("DD/MM/YY").unwrap();
        let icici = DateLayout::new("YYYY-MM-DD").unwrap();
        let axis = DateLayout::new("DD-MM-YYYY").unwrap();
        let oct1 = Date::from_ymd(2026, 10, 1);
        assert_eq!(hdfc.parse("01/10/2026"), oct1);
        assert_eq!(hdfc.parse("1/10/2026"), oct1);
        assert_eq!(hdfc_short.parse("01/10/26"), oct1);
        assert_eq!(icici.parse("2026-10-01"), oct1);
        assert_eq!(axis.parse("01-10-2026"), oct1);
        for bad in ["32/10/2026", "01/13/2026", "01/10/26", "01-10-2026", "", "01/10/2026 ", "aa/bb/cccc"] {
            assert_eq!(hdfc.parse(bad), None, "{bad}");
        }
        assert_eq!(icici.parse("2026-02-30"), None);
        assert!(DateLayout::new("DD/MM").is_err());
        assert_eq!(oct1.unwrap().format(&hdfc_short), "01/10/26");
    }

    #[test]
    fn rfc3339_with_offsets_gives_the_ist_business_date() {
        let t = parse_rfc3339("2026-10-01T10:15:00+05:30").unwrap();
        assert_eq!(ist_date(t), Date::from_ymd(2026, 10, 1).unwrap());
        // 20:00 UTC is 01:30 the next day in IST.
        let late = parse_rfc3339("2026-10-01T20:00:00Z").unwrap();
        assert_eq!(ist_date(late), Date::from_ymd(2026, 10, 2).unwrap());
        assert_eq!(parse_rfc3339("2026-10-01T10:15:00.123-04:00"), Some(t + 9 * 3600 + 30 * 60));
        assert_eq!(format_ist(t), "2026-10-01T10:15:00+05:30");
        assert_eq!(format_utc(t), "2026-10-01T04:45:00Z");
        assert_eq!(parse_rfc3339(&format_utc(t)), Some(t));
        for bad in ["2026-10-01", "2026-10-01T10:15:00", "2026-13-01T10:15:00Z", "2026-10-01T25:00:00Z", "x"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
