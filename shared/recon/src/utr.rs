//! Unique Transaction References: finding them in bank cells and narrations, and a compact key.
//!
//! Banks print the UTR wherever their layout puts it: a reference column (sometimes zero-padded to
//! 16 digits) or buried in the narration. It is recognised by shape, never by position:
//! - UPI / IMPS: a 12-digit RRN (`UPI/629412345678/...`, `IMPS/P2A/629412345678/...`);
//! - NEFT: 16 characters, a 4-letter bank code then 12 mostly-digit characters (`HDFCN52026100112`);
//! - RTGS: 22 characters, a 4-letter bank code then 18 mostly-digit characters.
//!
//! An all-digit token longer than 12 whose extra leading characters are zeros is the RRN padded.

use std::fmt;
use std::num::NonZeroU64;

/// A normalized UTR packed into an integer: uppercase `[0-9A-Z]`, up to 24 characters, base 37
/// with no zero digit, so distinct strings give distinct keys and comparisons are two
/// instructions. Held as two `u64` halves (high first, so the order is the integer's) to keep
/// records 8-byte aligned; the high half is stored plus one, so `Option<Utr>` needs no extra word.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utr {
    hi: NonZeroU64,
    lo: u64,
}

const MAX_UTR_LEN: usize = 24;
/// 37^12 fits in a u64: a key splits into two halves of twelve base-37 digits each.
const HALF: u128 = 6_582_952_005_840_035_281;

impl Utr {
    /// Packs an already-normalized reference (ASCII alphanumerics, at most 24).
    fn pack(token: &[u8]) -> Option<Utr> {
        if token.is_empty() || token.len() > MAX_UTR_LEN {
            return None;
        }
        let mut key: u128 = 0;
        for &c in token {
            let digit = match c {
                b'0'..=b'9' => c - b'0' + 1,
                b'A'..=b'Z' => c - b'A' + 11,
                b'a'..=b'z' => c - b'a' + 11,
                _ => return None,
            };
            key = key * 37 + u128::from(digit);
        }
        Some(Utr::from_key(key))
    }

    pub fn key(self) -> u128 {
        (u128::from(self.hi.get() - 1) << 64) | u128::from(self.lo)
    }

    /// Keys are below 37^24 < 2^125, so the high half plus one cannot overflow.
    pub fn from_key(key: u128) -> Utr {
        Utr { hi: NonZeroU64::MIN.saturating_add((key >> 64) as u64), lo: key as u64 }
    }

    /// Writes the characters into `buf`, returning how many. One u128 division, then u64 maths.
    fn write_to(self, buf: &mut [u8; MAX_UTR_LEN]) -> usize {
        let key = self.key();
        let (high, low) = ((key / HALF) as u64, (key % HALF) as u64);
        let mut len = 0;
        let mut emit = |mut n: u64, all: bool| {
            let mut count = 0;
            while n > 0 || (all && count < 12) {
                let d = (n % 37) as u8;
                buf[len] = match d {
                    0 => 0,
                    1..=10 => b'0' + d - 1,
                    _ => b'A' + d - 11,
                };
                n /= 37;
                len += 1;
                count += 1;
            }
        };
        // Low half first (reversed at the end); when there is a high half, the low half is all
        // twelve digits wide.
        emit(low, high > 0);
        emit(high, false);
        buf[..len].reverse();
        len
    }
}

impl fmt::Display for Utr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MAX_UTR_LEN];
        let len = self.write_to(&mut buf);
        // Only ASCII alphanumerics are ever written.
        f.write_str(std::str::from_utf8(&buf[..len]).unwrap_or_default())
    }
}

impl fmt::Debug for Utr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Utr({self})")
    }
}

impl Utr {
    /// Appends the UTR's characters to `out` without allocating.
    pub fn push_to(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; MAX_UTR_LEN];
        let len = self.write_to(&mut buf);
        out.extend_from_slice(&buf[..len]);
    }
}

/// The first UTR-shaped token in `text`, or `None`.
pub fn find_utr(text: &str) -> Option<Utr> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if let Some(utr) = classify_token(&b[start..i]) {
            return Some(utr);
        }
    }
    None
}

/// The UTR of a bank row: the reference column first, then the narration.
pub fn bank_row_utr(reference: &str, narration: &str) -> Option<Utr> {
    find_utr(reference).or_else(|| find_utr(narration))
}

fn classify_token(token: &[u8]) -> Option<Utr> {
    let len = token.len();
    if !(12..=22).contains(&len) {
        return None;
    }
    if token.iter().all(u8::is_ascii_digit) {
        return match len {
            12 => Utr::pack(token),
            _ if token[..len - 12].iter().all(|&c| c == b'0') => Utr::pack(&token[len - 12..]),
            _ => None,
        };
    }
    let (code, rest) = token.split_at(4);
    let bank_code_ok = code.iter().all(u8::is_ascii_alphabetic);
    let letters_in_rest = rest.iter().filter(|c| c.is_ascii_alphabetic()).count();
    match len {
        16 | 22 if bank_code_ok && letters_in_rest <= 2 => Utr::pack(token),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utr(s: &str) -> Option<String> {
        find_utr(s).map(|u| u.to_string())
    }

    #[test]
    fn upi_and_imps_rrns_are_found_in_narrations() {
        assert_eq!(utr("UPI/629412345678/ACME STORES/acme@okicici").as_deref(), Some("629412345678"));
        assert_eq!(utr("IMPS/P2A/629412345678/RAVI KUMAR").as_deref(), Some("629412345678"));
        assert_eq!(utr("UPI-ACME STORES-acme@okhdfc-HDFC0001234-629412345678-ORD123").as_deref(), Some("629412345678"));
    }

    #[test]
    fn neft_and_rtgs_references_are_found() {
        assert_eq!(utr("NEFT-HDFCN52026100112-ACME PVT LTD").as_deref(), Some("HDFCN52026100112"));
        assert_eq!(utr("RTGS/HDFCR52026100112345678/ACME").as_deref(), Some("HDFCR52026100112345678"));
        assert_eq!(utr("neft-sbin126278123456-x").as_deref(), Some("SBIN126278123456"));
    }

    #[test]
    fn zero_padded_reference_column_is_the_same_rrn() {
        assert_eq!(find_utr("0000629412345678"), find_utr("629412345678"));
        assert_eq!(utr("000000000000629412345678"), None, "too long for any UTR shape");
        assert_eq!(utr("1000629412345678"), None, "16 digits with a non-zero lead is not padding");
    }

    #[test]
    fn other_numbers_are_not_utrs() {
        for text in [
            "",
            "CHQ 000123",
            "9876543210",
            "ACCOUNT 50200012345678",
            "SALARY OCT",
            "HDFC0001234",
            "ORD2026100100001234",
            "ABCDEFGHIJKLMNOP",
        ] {
            assert_eq!(utr(text), None, "{text}");
        }
    }

    #[test]
    fn keys_are_distinct_and_round_trip() {
        let a = find_utr("629412345678").unwrap();
        let b = find_utr("HDFCN52026100112").unwrap();
        assert_ne!(a, b);
        assert_eq!(Utr::from_key(a.key()), a);
        assert_eq!(std::mem::size_of::<Option<Utr>>(), 16);
        assert!(a < b, "order follows the packed integer");
        assert_eq!(b.to_string(), "HDFCN52026100112");
        let long = find_utr("RTGS/HDFCR52026100112345678/X").unwrap();
        assert_eq!(long.to_string(), "HDFCR52026100112345678");
        assert_eq!(Utr::from_key(long.key()), long);
        let mut out = Vec::new();
        a.push_to(&mut out);
        assert_eq!(out, b"629412345678");
        assert_eq!(bank_row_utr("", "UPI/629412345678/X"), Some(a));
        assert_eq!(bank_row_utr("0000629412345678", "NEFT-HDFCN52026100112-X"), Some(a));
    }
}
