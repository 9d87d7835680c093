//! Matching configuration: the seed's weights, tolerances and threshold, from the environment.
//!
//! Decimal settings are read exactly into ten-thousandths, so that "confidence ≥ threshold" is an
//! integer comparison and never depends on floating-point rounding.

use serde::Serialize;

/// Fixed-point scale of weights and confidences: 1.0 = 10 000.
pub const SCALE: u32 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchConfig {
    /// Weights in ten-thousandths (seed: UTR 1.0, amount 0.8, date 0.6, merchant_ref 0.7).
    pub weight_utr: u32,
    pub weight_amount: u32,
    pub weight_date: u32,
    pub weight_merchant_ref: u32,
    /// Amounts agree when |Δ| < this many paise (seed: 100, i.e. under one rupee).
    pub amount_tolerance_paise: i64,
    /// Dates agree when the bank value date is within this many days of the capture date.
    pub date_tolerance_days: i32,
    /// Candidates without a shared UTR are looked for this many days either side.
    pub date_window_days: i32,
    /// `MATCH_CONFIDENCE_THRESHOLD`, in ten-thousandths (seed: 0.75).
    pub threshold: u32,
    /// `AUTO_RESOLVE_HIGH_CONFIDENCE` (seed: true). When false, confident pairs are only suggested.
    pub auto_resolve: bool,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            weight_utr: 10_000,
            weight_amount: 8_000,
            weight_date: 6_000,
            weight_merchant_ref: 7_000,
            amount_tolerance_paise: 100,
            date_tolerance_days: 1,
            date_window_days: 2,
            threshold: 7_500,
            auto_resolve: true,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{key}=`{value}`: {problem}")]
pub struct ConfigError {
    pub key: &'static str,
    pub value: String,
    pub problem: &'static str,
}

impl MatchConfig {
    /// Reads the configuration keys through `lookup` (the process environment in production),
    /// falling back to the seed's defaults for keys that are absent.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<MatchConfig, ConfigError> {
        let mut cfg = MatchConfig::default();
        let get = |key: &'static str| lookup(key).map(|v| (key, v.trim().to_string())).filter(|(_, v)| !v.is_empty());
        let decimal = |key, slot: &mut u32, max: u32| -> Result<(), ConfigError> {
            if let Some((key, value)) = get(key) {
                *slot = parse_fixed(&value).filter(|v| *v <= max).ok_or(ConfigError {
                    key,
                    value,
                    problem: "expected a decimal from 0 to 1 with at most 4 places",
                })?;
            }
            Ok(())
        };
        decimal("MATCH_CONFIDENCE_THRESHOLD", &mut cfg.threshold, SCALE)?;
        decimal("MATCH_WEIGHT_UTR", &mut cfg.weight_utr, SCALE)?;
        decimal("MATCH_WEIGHT_AMOUNT", &mut cfg.weight_amount, SCALE)?;
        decimal("MATCH_WEIGHT_DATE", &mut cfg.weight_date, SCALE)?;
        decimal("MATCH_WEIGHT_MERCHANT_REF", &mut cfg.weight_merchant_ref, SCALE)?;
        if let Some((key, value)) = get("AUTO_RESOLVE_HIGH_CONFIDENCE") {
            cfg.auto_resolve = match value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                _ => return Err(ConfigError { key, value, problem: "expected true or false" }),
            };
        }
        if let Some((key, value)) = get("MATCH_AMOUNT_TOLERANCE_PAISE") {
            cfg.amount_tolerance_paise = value.parse().ok().filter(|v| *v >= 1).ok_or(ConfigError {
                key,
                value,
                problem: "expected a whole number of paise, at least 1",
            })?;
        }
        let days = |key, slot: &mut i32| -> Result<(), ConfigError> {
            if let Some((key, value)) = get(key) {
                *slot = value.parse().ok().filter(|v| (0..=31).contains(v)).ok_or(ConfigError {
                    key,
                    value,
                    problem: "expected whole days from 0 to 31",
                })?;
            }
            Ok(())
        };
        days("MATCH_DATE_TOLERANCE_DAYS", &mut cfg.date_tolerance_days)?;
        days("MATCH_DATE_WINDOW_DAYS", &mut cfg.date_window_days)?;
        if cfg.total_weight() == 0 {
            return Err(ConfigError { key: "MATCH_WEIGHT_UTR", value: "0".into(), problem: "all weights are zero" });
        }
        Ok(cfg)
    }

    pub fn from_env() -> Result<MatchConfig, ConfigError> {
        MatchConfig::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn total_weight(&self) -> u32 {
        self.weight_utr + self.weight_amount + self.weight_date + self.weight_merchant_ref
    }
}

/// `0.75` → 7500; `1` → 10000. At most four decimal places; no sign, no exponent.
pub fn parse_fixed(text: &str) -> Option<u32> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty() || frac.len() > 4 || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let int: u32 = int.parse().ok()?;
    let mut frac_value = 0u32;
    for i in 0..4 {
        frac_value = frac_value * 10 + frac.as_bytes().get(i).map_or(0, |c| u32::from(c - b'0'));
    }
    int.checked_mul(SCALE)?.checked_add(frac_value)
}

/// 7500 → `0.75`, 10000 → `1`.
pub fn format_fixed(value: u32) -> String {
    let int = value / SCALE;
    let frac = value % SCALE;
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:04}");
    format!("{int}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<MatchConfig, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        MatchConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_seeds() {
        let cfg = from(&[]).unwrap();
        assert_eq!(cfg, MatchConfig::default());
        assert_eq!(cfg.total_weight(), 31_000);
    }

    #[test]
    fn keys_override_and_bad_values_name_the_key() {
        let cfg = from(&[("MATCH_CONFIDENCE_THRESHOLD", "0.8"), ("AUTO_RESOLVE_HIGH_CONFIDENCE", "false")]).unwrap();
        assert_eq!(cfg.threshold, 8_000);
        assert!(!cfg.auto_resolve);
        let err = from(&[("MATCH_CONFIDENCE_THRESHOLD", "1.5")]).unwrap_err();
        assert_eq!(err.key, "MATCH_CONFIDENCE_THRESHOLD");
        assert!(from(&[("MATCH_CONFIDENCE_THRESHOLD", "0.123456")]).is_err());
        assert!(from(&[("AUTO_RESOLVE_HIGH_CONFIDENCE", "maybe")]).is_err());
        assert!(from(&[("MATCH_AMOUNT_TOLERANCE_PAISE", "0")]).is_err());
    }

    #[test]
    fn fixed_point_is_exact() {
        assert_eq!(parse_fixed("0.75"), Some(7_500));
        assert_eq!(parse_fixed("1"), Some(10_000));
        assert_eq!(parse_fixed("0.0001"), Some(1));
        assert_eq!(parse_fixed(".5"), None);
        assert_eq!(parse_fixed("-1"), None);
        assert_eq!(format_fixed(7_500), "0.75");
        assert_eq!(format_fixed(10_000), "1");
        assert_eq!(format_fixed(6_000), "0.6");
    }
}
