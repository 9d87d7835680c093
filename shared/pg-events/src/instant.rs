//! An RFC 3339 instant kept to the nanosecond: two events of one transaction a few milliseconds
//! apart (created, then captured) must order by time, not fall to the id tie-break.

use serde::{Deserialize, Serialize};
use settlepaisa_recon::date::parse_rfc3339;

/// Seconds since the Unix epoch and the nanoseconds past them; orders as time does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Instant {
    pub secs: i64,
    pub nanos: u32,
}

impl Instant {
    /// `2026-10-01T10:15:00.123+05:30` or `…Z`: an explicit offset is required.
    pub fn parse(text: &str) -> Option<Instant> {
        let secs = parse_rfc3339(text)?;
        let b = text.as_bytes();
        let mut nanos = 0u32;
        if b.get(19) == Some(&b'.') {
            let digits: Vec<u8> = b[20..].iter().take_while(|c| c.is_ascii_digit()).copied().collect();
            if digits.len() > 9 {
                return None;
            }
            for (i, d) in digits.iter().enumerate() {
                nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        Some(Instant { secs, nanos })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_order_events_within_a_second() {
        let a = Instant::parse("2026-10-01T10:15:00.120+05:30").unwrap();
        let b = Instant::parse("2026-10-01T04:45:00.5Z").unwrap();
        assert_eq!(a.secs, b.secs);
        assert_eq!((a.nanos, b.nanos), (120_000_000, 500_000_000));
        assert!(a < b);
        assert_eq!(Instant::parse("2026-10-01T04:45:00Z").unwrap().nanos, 0);
        assert_eq!(Instant::parse("2026-10-01T04:45:00.123456789Z").unwrap().nanos, 123_456_789);
        assert_eq!(Instant::parse("2026-10-01T04:45:00.1234567891Z"), None);
        assert_eq!(Instant::parse("2026-10-01T04:45:00"), None, "an offset is required");
    }
}
