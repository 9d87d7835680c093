//! Money as integer paise, and the parsing of amounts as banks print them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in paise (1/100 rupee). Never a float: every sum is exact and overflow is checked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Paise(pub i64);

impl Paise {
    pub const ZERO: Paise = Paise(0);

    /// The largest amount one row may carry: ₹1,000 crore, above any single payment or bulk
    /// settlement credit. A larger amount is a reject at parse time, so a day's sums stay far from
    /// `i64`'s range (9.2 million rows at the cap still fit), and release builds check overflow
    /// for whatever a bug might add beyond that.
    pub const MAX_ROW: Paise = Paise(1_000_000_000_000);

    pub fn checked_add(self, other: Paise) -> Option<Paise> {
        self.0.checked_add(other.0).map(Paise)
    }

    pub fn checked_sub(self, other: Paise) -> Option<Paise> {
        self.0.checked_sub(other.0).map(Paise)
    }

    pub fn abs_diff(self, other: Paise) -> u64 {
        self.0.abs_diff(other.0)
    }
}

impl fmt::Display for Paise {
    /// Rupees with two decimals and no grouping, e.g. `1234.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Why a bank amount cell could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a number")]
    NotANumber,
    #[error("digit grouping is neither Indian (1,23,456) nor international (123,456)")]
    BadGrouping,
    #[error("more than two decimal places (fractions of a paisa)")]
    FractionalPaise,
    #[error("negative amount")]
    Negative,
    #[error("amount too large (over ₹1,000 crore)")]
    Overflow,
}

/// Reads a bank amount: `850`, `850.5`, `1,23,456.78`, `123,456.78`. Surrounding spaces are
/// ignored; an empty cell is `Ok(None)` (the side of the statement that does not apply).
pub fn parse_bank_amount(text: &str) -> Result<Option<Paise>, AmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let b = text.as_bytes();
    if b[0] == b'-' {
        return Err(AmountError::Negative);
    }
    let (int_part, frac_part) = match memchr::memchr(b'.', b) {
        Some(dot) => (&b[..dot], Some(&b[dot + 1..])),
        None => (b, None),
    };
    if int_part.is_empty() {
        return Err(AmountError::NotANumber);
    }
    let mut rupees: i64 = 0;
    let mut groups = 0usize;
    let mut group_len = 0usize;
    let mut first_group_len = 0usize;
    // Lengths of the groups after the first, excluding the last one (which must be 3).
    let mut middle_len: Option<usize> = None;
    for &c in int_part {
        match c {
            b'0'..=b'9' => {
                rupees = rupees
                    .checked_mul(10)
                    .and_then(|r| r.checked_add(i64::from(c - b'0')))
                    .ok_or(AmountError::Overflow)?;
                group_len += 1;
            }
            b',' => {
                if group_len == 0 {
                    return Err(AmountError::BadGrouping);
                }
                if groups == 0 {
                    first_group_len = group_len;
                } else {
                    match middle_len {
                        None => middle_len = Some(group_len),
                        Some(len) if len == group_len => {}
                        Some(_) => return Err(AmountError::BadGrouping),
                    }
                }
                groups += 1;
                group_len = 0;
            }
            _ => return Err(AmountError::NotANumber),
        }
    }
    if groups > 0 {
        let last_ok = group_len == 3;
        let shape_ok = match middle_len {
            None => (1..=3).contains(&first_group_len),
            Some(2) => (1..=2).contains(&first_group_len),
            Some(3) => (1..=3).contains(&first_group_len),
            Some(_) => false,
        };
        if !last_ok || !shape_ok {
            return Err(AmountError::BadGrouping);
        }
    }
    let paise_part = match frac_part {
        None => 0,
        Some([]) => return Err(AmountError::NotANumber),
        Some(f) if f.len() > 2 => {
            return if f.iter().all(u8::is_ascii_digit) {
                Err(AmountError::FractionalPaise)
            } else {
                Err(AmountError::NotANumber)
            }
        }
        Some(f) => {
            let mut v = 0i64;
            for &c in f {
                if !c.is_ascii_digit() {
                    return Err(AmountError::NotANumber);
                }
                v = v * 10 + i64::from(c - b'0');
            }
            if f.len() == 1 {
                v * 10
            } else {
                v
            }
        }
    };
    rupees
        .checked_mul(100)
        .and_then(|p| p.checked_add(paise_part))
        .filter(|&p| p <= Paise::MAX_ROW.0)
        .map(|p| Some(Paise(p)))
        .ok_or(AmountError::Overflow)
}

/// Formats paise as a bank prints rupees, with Indian digit grouping: `123456789` → `12,34,567.89`.
pub fn format_indian(amount: Paise) -> String {
    let abs = amount.0.unsigned_abs();
    let rupees = (abs / 100).to_string();
    let mut grouped = String::with_capacity(rupees.len() + rupees.len() / 2 + 4);
    let n = rupees.len();
    for (i, c) in rupees.chars().enumerate() {
        let left = n - i;
        if i > 0 && (left == 3 || (left > 3 && (left - 3).is_multiple_of(2))) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if amount.0 < 0 { "-" } else { "" };
    format!("{sign}{grouped}.{:02}", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Option<Paise>, AmountError> {
        parse_bank_amount(text)
    }

    #[test]
    fn amounts_with_and_without_grouping_become_exact_paise() {
        assert_eq!(p("850"), Ok(Some(Paise(85_000))));
        assert_eq!(p("850.5"), Ok(Some(Paise(85_050))));
        assert_eq!(p("850.05"), Ok(Some(Paise(85_005))));
        assert_eq!(p(" 1,23,456.78 "), Ok(Some(Paise(12_345_678))));
        assert_eq!(p("123,456.78"), Ok(Some(Paise(12_345_678))));
        assert_eq!(p("1,234,567.00"), Ok(Some(Paise(123_456_700))));
        assert_eq!(p("12,34,56,789"), Ok(Some(Paise(12_345_678_900))));
        assert_eq!(p("0.01"), Ok(Some(Paise(1))));
        assert_eq!(p(""), Ok(None));
        assert_eq!(p("   "), Ok(None));
    }

    #[test]
    fn malformed_amounts_are_errors_never_zero() {
        assert_eq!(p("12,3"), Err(AmountError::BadGrouping));
        assert_eq!(p("1,2345"), Err(AmountError::BadGrouping));
        assert_eq!(p("123,45,678"), Err(AmountError::BadGrouping));
        assert_eq!(p(",123"), Err(AmountError::BadGrouping));
        assert_eq!(p("850.123"), Err(AmountError::FractionalPaise));
        assert_eq!(p("-850"), Err(AmountError::Negative));
        assert_eq!(p("N/A"), Err(AmountError::NotANumber));
        assert_eq!(p("8 50"), Err(AmountError::NotANumber));
        assert_eq!(p("850."), Err(AmountError::NotANumber));
        assert_eq!(p(".50"), Err(AmountError::NotANumber));
        assert_eq!(p("1.2.3"), Err(AmountError::NotANumber));
        assert_eq!(p("99999999999999999999"), Err(AmountError::Overflow));
        assert_eq!(p("10,00,00,00,000.00"), Ok(Some(Paise::MAX_ROW)), "₹1,000 crore is the cap");
        assert_eq!(p("10,00,00,00,000.01"), Err(AmountError::Overflow));
    }

    #[test]
    fn indian_grouping_round_trips() {
        for paise in [0, 5, 85_000, 12_345_678, 12_345_678_900, 10_000_000] {
            let text = format_indian(Paise(paise));
            assert_eq!(p(&text), Ok(Some(Paise(paise))), "{text}");
        }
        assert_eq!(format_indian(Paise(12_345_678)), "1,23,456.78");
        assert_eq!(format_indian(Paise(85_000)), "850.00");
        assert_eq!(Paise(-5).to_string(), "-0.05");
    }
}
