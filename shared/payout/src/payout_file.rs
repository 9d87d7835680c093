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
}
