//! Merchants and their plans, and the merchants file (`settlepaisa merchants import`): every row
//! is checked, and a file with any bad row is refused whole, each bad row named with its line and
//! reason — nothing is half-imported.

use settlepaisa_recon::fields::split_fields;
use settlepaisa_recon::money::Paise;
use settlepaisa_recon::pg_file::Method;
use std::collections::BTreeSet;

/// The merchants file's header, exactly.
pub const MERCHANTS_HEADER: &str = "merchant_id,name,status,settlement_days,min_payout_paise,reserve_bps,reserve_hold_days,mdr_upi_bps,mdr_card_bps,mdr_netbanking_bps,mdr_wallet_bps,gst_bps,ifsc,account_number,beneficiary";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MerchantStatus {
    Active,
    OnHold,
    Suspended,
}

impl MerchantStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantStatus::Active => "ACTIVE",
            MerchantStatus::OnHold => "ON_HOLD",
            MerchantStatus::Suspended => "SUSPENDED",
        }
    }

    pub fn parse(text: &str) -> Option<MerchantStatus> {
        [MerchantStatus::Active, MerchantStatus::OnHold, MerchantStatus::Suspended]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A merchant and its settlement plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merchant {
    pub merchant_id: String,
    pub name: String,
    pub status: MerchantStatus,
    /// T+N: payments are due N business days after their IST capture date.
    pub settlement_days: u32,
    /// No payout below this: the batch waits and its lines carry forward.
    pub min_payout: Paise,
    /// Rolling reserve: this share of a batch's gross is withheld…
    pub reserve_bps: u32,
    /// …and released this many calendar days after the batch's cycle date.
    pub reserve_hold_days: u32,
    /// MDR by method: UPI, CARD, NETBANKING, WALLET.
    pub mdr_bps: [u32; 4],
    pub gst_bps: u32,
    pub ifsc: String,
    pub account_number: String,
    pub beneficiary: String,
}

impl Merchant {
    pub fn mdr_for(&self, method: Method) -> u32 {
        match method {
            Method::Upi => self.mdr_bps[0],
            Method::Card => self.mdr_bps[1],
            Method::Netbanking => self.mdr_bps[2],
            Method::Wallet => self.mdr_bps[3],
        }
    }

    /// The account number as everything but the payout file shows it: all but the last four digits
    /// hidden.
    pub fn masked_account(&self) -> String {
        mask(&self.account_number)
    }
}

pub fn mask(account: &str) -> String {
    let keep = account.len().min(4);
    format!("{}{}", "X".repeat(account.len() - keep), &account[account.len() - keep..])
}

/// A refused row of the merchants file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: usize,
    pub reason: String,
}

/// Parses the merchants file: every merchant, or every bad row (none imported).
pub fn parse_merchants(text: &str) -> Result<Vec<Merchant>, Vec<BadRow>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header = lines.next().map(|(_, h)| h.trim().trim_start_matches('\u{feff}'));
    if header != Some(MERCHANTS_HEADER) {
        return Err(vec![BadRow { line: 1, reason: format!("the header must be exactly `{MERCHANTS_HEADER}`") }]);
    }
    let (mut merchants, mut bad) = (Vec::new(), Vec::new());
    let mut seen = BTreeSet::new();
    let mut fields = Vec::new();
    for (i, raw) in lines {
        let line = i + 1;
        match parse_row(raw, &mut fields) {
            Ok(m) if !seen.insert(m.merchant_id.clone()) => {
                bad.push(BadRow { line, reason: format!("merchant `{}` is in the file twice", m.merchant_id) })
            }
            Ok(m) => merchants.push(m),
            Err(reason) => bad.push(BadRow { line, reason }),
        }
    }
    if bad.is_empty() {
        Ok(merchants)
    } else {
        Err(bad)
    }
}

fn parse_row<'a>(raw: &'a str, f: &mut Vec<&'a str>) -> Result<Merchant, String> {
    if !split_fields(raw.trim_end_matches('\r'), b',', f) {
        return Err("a quoted field is not closed".into());
    }
    if f.len() != 15 {
        return Err(format!("{} fields, not 15", f.len()));
    }
    let id = f[0];
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!("merchant_id `{id}` is not 1–64 letters, digits, `-` or `_`"));
    }
    // A quoted field keeps its doubled quotes from the splitter: one quote each.
    let text = |name: &str, v: &str| -> Result<String, String> {
        if v.is_empty() || v.len() > 200 {
            Err(format!("{name} must be 1–200 characters"))
        } else {
            Ok(v.replace("\"\"", "\""))
        }
    };
    let number = |name: &str, v: &str, max: u64| -> Result<u64, String> {
        Some(v)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("{name} `{v}` is not a whole number from 0 to {max}"))
    };
    let bps = |name: &str, v: &str| number(name, v, 10_000).map(|n| n as u32);
    let status =
        MerchantStatus::parse(f[2]).ok_or_else(|| format!("status `{}` is not ACTIVE, ON_HOLD or SUSPENDED", f[2]))?;
    let ifsc = f[12].to_ascii_uppercase();
    let ifsc_ok = ifsc.is_ascii()
        && ifsc.len() == 11
        && ifsc[..4].bytes().all(|b| b.is_ascii_uppercase())
        && ifsc.as_bytes()[4] == b'0'
        && ifsc[5..].bytes().all(|b| b.is_ascii_alphanumeric());
    if !ifsc_ok {
        return Err(format!("ifsc `{}` is not 4 letters, 0, then 6 letters or digits", f[12]));
    }
    let account = f[13];
    if !(6..=18).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err("account_number must be 6–18 digits".into());
    }
    Ok(Merchant {
        merchant_id: id.to_string(),
        name: text("name", f[1])?,
        status,
        settlement_days: number("settlement_days", f[3], 30)? as u32,
        min_payout: Paise(number("min_payout_paise", f[4], 1_000_000_000_000)? as i64),
        reserve_bps: bps("reserve_bps", f[5])?,
        reserve_hold_days: number("reserve_hold_days", f[6], 365)? as u32,
        mdr_bps: [
            bps("mdr_upi_bps", f[7])?,
            bps("mdr_card_bps", f[8])?,
            bps("mdr_netbanking_bps", f[9])?,
            bps("mdr_wallet_bps", f[10])?,
        ],
        gst_bps: bps("gst_bps", f[11])?,
        ifsc,
        account_number: account.to_string(),
        beneficiary: text("beneficiary", f[14])?,
    })
}

/// Plans for the merchants `gen` makes (`MERCH001`…): the acquirers' default rates, GST 18 %, T+1
/// for most and T+2 for every fifth, a ₹100 minimum payout, and a 5 % reserve held 30 days for
/// every seventh; a valid-looking IFSC and account.
pub fn generated(count: u32) -> Vec<Merchant> {
    (1..=count)
        .map(|i| Merchant {
            merchant_id: format!("MERCH{i:03}"),
            name: format!("Merchant {i:03} Pvt Ltd"),
            status: MerchantStatus::Active,
            settlement_days: if i % 5 == 0 { 2 } else { 1 },
            min_payout: Paise(10_000),
            reserve_bps: if i % 7 == 0 { 500 } else { 0 },
            reserve_hold_days: if i % 7 == 0 { 30 } else { 0 },
            mdr_bps: [0, 200, 190, 190],
            gst_bps: 1800,
            ifsc: format!("HDFC0{:06}", 100 + i),
            account_number: format!("5010{:08}", 12_345 + i),
            beneficiary: format!("MERCHANT {i:03} PVT LTD"),
        })
        .collect()
}

impl Merchant {
    /// The merchant, if the merchants file would accept it as it is (an edit through the API
    /// meets the import's rules exactly); else why not.
    pub fn validated(self) -> Result<Merchant, String> {
        match parse_merchants(&write_merchants(std::slice::from_ref(&self))) {
            Ok(mut one) if one.len() == 1 => Ok(one.remove(0)),
            Ok(_) => Err("not one merchant".into()),
            Err(bad) => Err(bad.into_iter().map(|b| b.reason).collect::<Vec<_>>().join("; ")),
        }
    }
}

/// The merchants file for `merchants` (what `gen` writes).
pub fn write_merchants(merchants: &[Merchant]) -> String {
    let mut out = format!("{MERCHANTS_HEADER}\n");
    for m in merchants {
        let quote =
            |s: &str| if s.contains([',', '"']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            m.merchant_id,
            quote(&m.name),
            m.status.as_str(),
            m.settlement_days,
            m.min_payout.0,
            m.reserve_bps,
            m.reserve_hold_days,
            m.mdr_bps[0],
            m.mdr_bps[1],
            m.mdr_bps[2],
            m.mdr_bps[3],
            m.gst_bps,
            m.ifsc,
            m.account_number,
            quote(&m.beneficiary),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str =
        "MERCH001,\"Acme, \"\"Best\"\" Inc.\",ACTIVE,1,10000,500,30,0,200,190,190,1800,HDFC0001234,001234567890,Acme Inc";

    #[test]
    fn a_file_reads_back_and_writes_the_same() {
        let text = format!("{MERCHANTS_HEADER}\n{ROW}\n");
        let merchants = parse_merchants(&text).unwrap();
        assert_eq!(merchants.len(), 1);
        let m = &merchants[0];
        assert_eq!(
            (m.name.as_str(), m.status, m.settlement_days, m.min_payout),
            ("Acme, \"Best\" Inc.", MerchantStatus::Active, 1, Paise(10_000))
        );
        assert_eq!((m.mdr_for(Method::Card), m.gst_bps, m.reserve_bps, m.reserve_hold_days), (200, 1800, 500, 30));
        assert_eq!(m.masked_account(), "XXXXXXXX7890");
        assert_eq!(parse_merchants(&write_merchants(&merchants)).unwrap(), merchants);
    }

    #[test]
    fn any_bad_row_refuses_the_whole_file_naming_every_bad_line() {
        let text = format!(
            "{MERCHANTS_HEADER}\n{ROW}\n{}\n{}\n{ROW}\nM2,Name,PAUSED,1,0,0,0,0,0,0,0,1800,HDFC0001234,123456,B\n",
            ROW.replace("HDFC0001234", "HDFC1234"),
            ROW.replace("MERCH001", "M9").replace(",1800,", ",18000,"),
        );
        let bad = parse_merchants(&text).unwrap_err();
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{bad:?}");
        assert!(bad[0].reason.contains("ifsc"));
        assert!(bad[1].reason.contains("gst_bps"));
        assert!(bad[2].reason.contains("twice"));
        assert!(bad[3].reason.contains("status"));
        assert!(parse_merchants("merchant_id,name\n").is_err(), "another header");
    }
}
