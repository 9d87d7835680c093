//! The dashboards' time filter: `from`/`to` business dates (IST, inclusive) or a preset
//! (`range=today|7d|30d`), resolved to a list of days. With both, `from` and `to` replace the
//! preset's ends (`range=30d&from=…` is the thirty days' end from a chosen start).

use crate::error::ApiError;
use serde::Deserialize;
use settlepaisa_recon::date::{ist_date, Date};

/// KPI items are read with one BatchGetItem (at most 100 keys), so a range is at most this long.
pub const MAX_DAYS: i32 = 92;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeFilter {
    pub from: Option<String>,
    pub to: Option<String>,
    pub range: Option<String>,
    /// Staff may narrow to one merchant; a merchant user is always narrowed to its own.
    #[serde(rename = "merchantId")]
    pub merchant_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayRange {
    pub from: Date,
    pub to: Date,
}

impl DayRange {
    pub fn days(self) -> impl Iterator<Item = Date> {
        (0..=self.from.days_until(self.to)).map(move |i| self.from.add_days(i))
    }
    /// The cache key part: the same dates, the same answer.
    pub fn key(self) -> String {
        format!("{}..{}", self.from, self.to)
    }
}

impl TimeFilter {
    /// The days asked for, given today's IST date. Default: today.
    pub fn resolve(&self, today: Date) -> Result<DayRange, ApiError> {
        let date = crate::input::business_date;
        let range = match (&self.range, &self.from, &self.to) {
            (Some(preset), from, to) => {
                let back = match preset.as_str() {
                    "today" => 0,
                    "7d" => 6,
                    "30d" => 29,
                    other => {
                        let other = crate::error::fit(other, 20);
                        return Err(ApiError::bad_request(format!("range `{other}` is not one of today, 7d, 30d")));
                    }
                };
                let from = from.as_deref().map(|v| date("from", v)).transpose()?;
                let to = to.as_deref().map(|v| date("to", v)).transpose()?;
                DayRange { from: from.unwrap_or(today.add_days(-back)), to: to.unwrap_or(today) }
            }
            (None, None, None) => DayRange { from: today, to: today },
            (None, from, to) => {
                let from = from.as_deref().map(|v| date("from", v)).transpose()?;
                let to = to.as_deref().map(|v| date("to", v)).transpose()?;
                let (from, to) = match (from, to) {
                    (Some(f), Some(t)) => (f, t),
                    (Some(f), None) => (f, f.max(today)),
                    (None, Some(t)) => (t, t),
                    (None, None) => unreachable!("matched above"),
                };
                DayRange { from, to }
            }
        };
        if range.to < range.from {
            return Err(ApiError::bad_request(format!("to {} is before from {}", range.to, range.from)));
        }
        if range.from.days_until(range.to) >= MAX_DAYS {
            return Err(ApiError::bad_request(format!("a range covers at most {MAX_DAYS} days; narrow from/to")));
        }
        Ok(range)
    }
}

/// Today's business date.
pub fn today() -> Date {
    ist_date(crate::edge::now_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(from: Option<&str>, to: Option<&str>, range: Option<&str>) -> TimeFilter {
        TimeFilter {
            from: from.map(Into::into),
            to: to.map(Into::into),
            range: range.map(Into::into),
            merchant_id: None,
        }
    }

    #[test]
    fn presets_end_today() {
        let today = Date::parse_iso("2026-11-24").unwrap();
        let r = filter(None, None, Some("7d")).resolve(today).unwrap();
        assert_eq!((r.from.to_string(), r.to.to_string()), ("2026-11-18".into(), "2026-11-24".into()));
        assert_eq!(r.days().count(), 7);
        assert_eq!(filter(None, None, None).resolve(today).unwrap().days().count(), 1);
        assert_eq!(filter(None, None, Some("30d")).resolve(today).unwrap().days().count(), 30);
    }

    #[test]
    fn from_and_to_replace_a_presets_ends() {
        let today = Date::parse_iso("2026-11-24").unwrap();
        let r = filter(Some("2026-11-20"), None, Some("30d")).resolve(today).unwrap();
        assert_eq!((r.from.to_string(), r.to.to_string()), ("2026-11-20".into(), "2026-11-24".into()));
        let r = filter(None, Some("2026-11-10"), Some("30d")).resolve(today).unwrap();
        assert_eq!((r.from.to_string(), r.to.to_string()), ("2026-10-26".into(), "2026-11-10".into()));
    }

    #[test]
    fn bad_filters_say_what_to_write() {
        let today = Date::parse_iso("2026-11-24").unwrap();
        for (f, says) in [
            (filter(Some("24/11/2026"), None, None), "YYYY-MM-DD"),
            (filter(Some("2026-11-20"), Some("2026-11-01"), None), "before"),
            (filter(None, None, Some("1y")), "today, 7d, 30d"),
            (filter(Some("2026-01-01"), Some("2026-11-01"), None), "at most"),
            (filter(Some("0001-01-01"), None, None), "outside"),
        ] {
            let e = f.resolve(today).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(e.message.contains(says), "{}", e.message);
        }
    }
}
