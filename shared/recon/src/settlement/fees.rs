//! Contracted rates: the MDR per payment method and GST on it, and the fee and tax they make a
//! settlement row owe. Integer paise, rounded half up, as acquirers invoice.

use crate::money::Paise;
use crate::pg_file::Method;
use serde::{Deserialize, Serialize};

/// Basis points are hundredths of a percent: 10 000 bps = 100 %.
const BPS: i128 = 10_000;

/// What the acquirer may charge: MDR per method and GST on the MDR, in basis points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeSchedule {
    pub gst_bps: u32,
    /// Indexed as [`Method::ALL`]: UPI, CARD, NETBANKING, WALLET. Stored (on a job) keyed by
    /// method name, so a stored schedule never depends on the order of [`Method::ALL`].
    #[serde(serialize_with = "mdr_by_name", deserialize_with = "mdr_from_names")]
    pub mdr_bps: [u32; 4],
}

fn mdr_by_name<S: serde::Serializer>(mdr: &[u32; 4], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(4))?;
    for (m, bps) in Method::ALL.iter().zip(mdr) {
        map.serialize_entry(m.as_str(), bps)?;
    }
    map.end()
}

fn mdr_from_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u32; 4], D::Error> {
    let by_name: std::collections::BTreeMap<String, u32> = Deserialize::deserialize(d)?;
    let mut mdr = [0; 4];
    for (slot, m) in mdr.iter_mut().zip(Method::ALL) {
        *slot = *by_name.get(m.as_str()).ok_or_else(|| serde::de::Error::missing_field(m.as_str()))?;
    }
    if let Some(unknown) = by_name.keys().find(|k| Method::parse(k).is_none_or(|m| m.as_str() != k.as_str())) {
        return Err(serde::de::Error::custom(format!("unknown method `{unknown}`")));
    }
    Ok(mdr)
}

impl Default for FeeSchedule {
    /// The rates when no `--fees` file is given (docs/reconciliation.md, "Settlement reports"):
    /// zero MDR on UPI (the government's zero-MDR rule for UPI person-to-merchant payments), 2 %
    /// on cards, 1.9 % on net banking and wallets, 18 % GST on the fee.
    fn default() -> FeeSchedule {
        FeeSchedule { gst_bps: 1800, mdr_bps: [0, 200, 190, 190] }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FeesError {
    #[error("fees file is not valid TOML: {0}")]
    Toml(String),
    #[error("{0} is {1} bps; a rate is 0 to 10000 basis points")]
    OutOfRange(String, u64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeesToml {
    gst_bps: Option<u64>,
    #[serde(default)]
    mdr_bps: MdrToml,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MdrToml {
    #[serde(rename = "UPI")]
    upi: Option<u64>,
    #[serde(rename = "CARD")]
    card: Option<u64>,
    #[serde(rename = "NETBANKING")]
    netbanking: Option<u64>,
    #[serde(rename = "WALLET")]
    wallet: Option<u64>,
}

fn rate(name: &str, value: Option<u64>, default: u32) -> Result<u32, FeesError> {
    match value {
        None => Ok(default),
        Some(v) if v <= BPS as u64 => Ok(v as u32),
        Some(v) => Err(FeesError::OutOfRange(name.to_string(), v)),
    }
}

impl FeeSchedule {
    /// Reads a fees file: `gst_bps = 1800` and an `[mdr_bps]` table keyed `UPI`, `CARD`,
    /// `NETBANKING`, `WALLET`. A key left out keeps its default; an unknown key is refused, so a
    /// misspelt method cannot silently fall back.
    pub fn from_toml(text: &str) -> Result<FeeSchedule, FeesError> {
        let parsed: FeesToml = toml::from_str(text).map_err(|e| FeesError::Toml(e.message().to_string()))?;
        let d = FeeSchedule::default();
        let m = parsed.mdr_bps;
        Ok(FeeSchedule {
            gst_bps: rate("gst_bps", parsed.gst_bps, d.gst_bps)?,
            mdr_bps: [
                rate("mdr_bps.UPI", m.upi, d.mdr_bps[0])?,
                rate("mdr_bps.CARD", m.card, d.mdr_bps[1])?,
                rate("mdr_bps.NETBANKING", m.netbanking, d.mdr_bps[2])?,
                rate("mdr_bps.WALLET", m.wallet, d.mdr_bps[3])?,
            ],
        })
    }

    pub fn mdr_of(&self, method: Method) -> u32 {
        let i = Method::ALL.iter().position(|&m| m == method).unwrap_or(0);
        self.mdr_bps[i]
    }

    /// The fee a payment of `amount` by `method` owes: round-half-up(amount × MDR / 10 000).
    pub fn expected_fee(&self, amount: Paise, method: Method) -> Paise {
        share(amount, self.mdr_of(method))
    }

    /// The GST a fee owes: round-half-up(fee × GST / 10 000).
    pub fn expected_tax(&self, fee: Paise) -> Paise {
        share(fee, self.gst_bps)
    }
}

/// round-half-up(amount × bps / 10 000) for a non-negative amount (a negative one rounds its
/// magnitude the same way). Exact: the product is taken in 128 bits. Fees, GST and reserves use
/// it alike (the settlement engine's too).
pub fn share(amount: Paise, bps: u32) -> Paise {
    let product = i128::from(amount.0.unsigned_abs()) * i128::from(bps);
    let rounded = ((product + BPS / 2) / BPS) as i64;
    Paise(if amount.0 < 0 { -rounded } else { rounded })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fee_and_gst_round_half_up_to_the_paisa() {
        let f = FeeSchedule::default();
        // ₹1,000.00 by card at 2 % = ₹20.00; GST 18 % = ₹3.60.
        assert_eq!(f.expected_fee(Paise(100_000), Method::Card), Paise(2_000));
        assert_eq!(f.expected_tax(Paise(2_000)), Paise(360));
        // 125 paise at 2 % = 2.5 paise: half rounds up to 3; 124 paise = 2.48 → 2.
        assert_eq!(f.expected_fee(Paise(125), Method::Card), Paise(3));
        assert_eq!(f.expected_fee(Paise(124), Method::Card), Paise(2));
        // GST on a 25-paise fee: 4.5 → 5.
        assert_eq!(f.expected_tax(Paise(25)), Paise(5));
        assert_eq!(f.expected_fee(Paise(100_000), Method::Upi), Paise::ZERO);
        // The largest amount a row may carry does not overflow.
        assert_eq!(f.expected_fee(Paise::MAX_ROW, Method::Card), Paise(20_000_000_000));
    }

    #[test]
    fn a_fees_file_overrides_what_it_names_and_refuses_what_it_cannot_mean() {
        let f = FeeSchedule::from_toml("gst_bps = 1200\n[mdr_bps]\nCARD = 175\n").unwrap();
        assert_eq!(f, FeeSchedule { gst_bps: 1200, mdr_bps: [0, 175, 190, 190] });
        assert!(matches!(FeeSchedule::from_toml("[mdr_bps]\nCARDS = 175\n"), Err(FeesError::Toml(_))));
        assert!(matches!(FeeSchedule::from_toml("gst = 1800\n"), Err(FeesError::Toml(_))));
        assert_eq!(
            FeeSchedule::from_toml("[mdr_bps]\nWALLET = 10001\n"),
            Err(FeesError::OutOfRange("mdr_bps.WALLET".into(), 10_001))
        );
        assert!(matches!(FeeSchedule::from_toml("[mdr_bps]\nUPI = -1\n"), Err(FeesError::Toml(_))));
    }

    proptest! {
        #[test]
        fn the_share_is_within_half_a_paisa_of_the_exact_value(amount in 0i64..=Paise::MAX_ROW.0, bps in 0u32..=10_000) {
            let got = i128::from(share(Paise(amount), bps).0);
            let exact_times_bps = i128::from(amount) * i128::from(bps);
            // |got − exact| ≤ ½, ties going up: 2·got·10⁴ − 2·exact·10⁴ ∈ (−10⁴, 10⁴].
            let twice_error = 2 * got * BPS - 2 * exact_times_bps;
            prop_assert!(twice_error > -BPS && twice_error <= BPS);
        }
    }
}
