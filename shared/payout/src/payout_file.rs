//! The bulk payout instruction a run sends its paying bank: one line per batch, the transfer
//! mode by amount, the beneficiary's full account (the one place it is not masked), the batch id
//! as the reference the bank's response names.

use crate::cycle::Batch;
use crate::merchant::Merchant;
use settlepaisa_recon::money::Paise;
use std::collections::BTreeMap;

pub const PAYOUT_HEADER: &str = "reference,mode,amount_paise,beneficiary_name,account_number,ifsc,merchant_id";

/// RTGS from ₹2,00,000 (its minimum); NEFT from ₹1,00,000; IMPS below (instant, and within its
/// ₹5,00,000 limit).
pub fn mode(amount: Paise) -> &'static str {
    match amount.0 {
        a if a >= 20_000_000 => "RTGS",
        a if a >= 10_000_000 => "NEFT",
        _ => "IMPS",
    }
}

/// The IFSC prefix of a paying bank's own branches (`SBI` pays `SBIN…` accounts).
fn ifsc_prefix(bank: &str) -> String {
    match bank.to_ascii_uppercase().as_str() {
        "ICICI" => "ICIC".into(),
        "AXIS" => "UTIB".into(),
        "SBI" => "SBIN".into(),
        "KOTAK" => "KKBK".into(),
        "YES" => "YESB".into(),
        other => other.chars().take(4).collect(),
    }
}

/// Which of the aggregator's paying banks (`banks`, the first the default) pays a beneficiary:
/// the one the account is with when there is one (a transfer within the bank is free and
/// instant), else the default. `None` when no bank is configured.
pub fn paying_bank<'a>(ifsc: &str, banks: &'a [String]) -> Option<&'a str> {
    let own = banks.iter().find(|b| ifsc.to_ascii_uppercase().starts_with(&ifsc_prefix(b)));
    own.or(banks.first()).map(String::as_str)
}

/// The payout file of `batches` (those with a positive net; every batch has one).
pub fn payout_file(batches: &[Batch], merchants: &[Merchant]) -> String {
    let by_id: BTreeMap<&str, &Merchant> = merchants.iter().map(|m| (m.merchant_id.as_str(), m)).collect();
    let mut out = format!("{PAYOUT_HEADER}\n");
    for b in batches {
        let Some(m) = by_id.get(b.merchant_id.as_str()) else { continue };
        let name = if m.beneficiary.contains([',', '"']) {
            format!("\"{}\"", m.beneficiary.replace('"', "\"\""))
        } else {
            m.beneficiary.clone()
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            b.settlement_id,
            mode(b.totals.net),
            b.totals.net.0,
            name,
            m.account_number,
            m.ifsc,
            m.merchant_id
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_mode_follows_the_amount() {
        use super::mode;
        use settlepaisa_recon::money::Paise;
        assert_eq!(mode(Paise(9_999_999)), "IMPS");
        assert_eq!(mode(Paise(10_000_000)), "NEFT");
        assert_eq!(mode(Paise(20_000_000)), "RTGS");
    }

    #[test]
    fn a_beneficiary_is_paid_by_its_own_bank_when_it_is_one_of_ours() {
        use super::paying_bank;
        let banks = vec!["HDFC".to_string(), "ICICI".to_string(), "SBI".to_string()];
        assert_eq!(paying_bank("ICIC0001234", &banks), Some("ICICI"));
        assert_eq!(paying_bank("SBIN0000001", &banks), Some("SBI"));
        assert_eq!(paying_bank("UTIB0000001", &banks), Some("HDFC"), "the default pays other banks' accounts");
        assert_eq!(paying_bank("UTIB0000001", &[]), None);
    }
}
