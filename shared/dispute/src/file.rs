//! Acquirers' and NPCI's dispute files (`incoming/disputes/{source}/`):
//! `dispute_ref,network,txn_id,rrn,amount_paise,reason_code,reason,stage,raised_on,respond_by`.
//!
//! - `stage` is a stage (`retrieval`, `chargeback`, `pre_arbitration`, `arbitration`) or the
//!   network's outcome (`won`, `lost`) for the dispute's current stage.
//! - `txn_id` or `rrn` (or both) names the transaction.
//! - `respond_by` is empty (the rules table decides), a date (its IST day's end) or an RFC 3339
//!   instant.
//!
//! A UTF-8 BOM, CRLF line ends, blank lines and quoted fields are read; a bad row is a reject
//! with its line, reason and raw text, the others are still applied.

use crate::model::{valid_id, Network, Outcome, Stage};
use crate::rules::end_of_ist_day;
use settlepaisa_recon::date::{parse_rfc3339, Date};
use settlepaisa_recon::fields::split_fields;

pub const HEADER: &str = "dispute_ref,network,txn_id,rrn,amount_paise,reason_code,reason,stage,raised_on,respond_by";

/// Amounts above ₹10 crore are refused as implausible.
const MAX_AMOUNT: i64 = 1_000_000_000;

pub use crate::model::Step;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    pub line: usize,
    pub dispute_ref: String,
    pub network: Network,
    pub txn_id: Option<String>,
    pub rrn: Option<String>,
    pub amount_paise: i64,
    pub reason_code: String,
    pub reason: String,
    pub step: Step,
    pub raised_on: Date,
    pub respond_by: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    pub line: usize,
    pub reason: String,
    pub raw: String,
}

/// Every row, good or rejected. A file whose header is not [`HEADER`] is one reject (line 1).
pub fn parse(text: &str) -> (Vec<FileRow>, Vec<Reject>) {
    let mut lines = text.split('\n').enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (mut rows, mut rejects) = (Vec::new(), Vec::new());
    match lines.next() {
        Some((_, h)) if h.trim().trim_start_matches('\u{feff}') == HEADER => {}
        other => {
            let raw = other.map(|(_, l)| l.trim_end_matches('\r').to_string()).unwrap_or_default();
            rejects.push(Reject { line: 1, reason: format!("the header must be exactly `{HEADER}`"), raw });
            return (rows, rejects);
        }
    }
    let mut f = Vec::new();
    for (i, raw) in lines {
        let raw = raw.trim_end_matches('\r');
        let line = i + 1;
        match row(raw, line, &mut f) {
            Ok(r) => rows.push(r),
            Err(reason) => rejects.push(Reject { line, reason, raw: raw.to_string() }),
        }
    }
    (rows, rejects)
}

fn row<'a>(raw: &'a str, line: usize, f: &mut Vec<&'a str>) -> Result<FileRow, String> {
    if !split_fields(raw, b',', f) {
        return Err("a quoted field is not closed".into());
    }
    if f.len() != 10 {
        return Err(format!("{} fields, not 10", f.len()));
    }
    let dispute_ref = f[0].to_string();
    if !valid_id(&dispute_ref) {
        return Err(format!("dispute_ref `{dispute_ref}` is not 1–48 letters, digits or -_.:"));
    }
    let network =
        Network::parse(f[1]).ok_or_else(|| format!("network `{}` is not UPI, VISA, MASTERCARD or RUPAY", f[1]))?;
    let optional = |v: &str| (!v.is_empty()).then(|| v.to_string());
    let (txn_id, rrn) = (optional(f[2]), optional(f[3]));
    if txn_id.is_none() && rrn.is_none() {
        return Err("neither txn_id nor rrn names the transaction".into());
    }
    let txn_id_ok = |t: &str| t.len() <= 64 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if txn_id.as_deref().is_some_and(|t| !txn_id_ok(t)) {
        return Err(format!("txn_id `{}` is not an id", f[2]));
    }
    if rrn.as_deref().is_some_and(|r| r.len() > 24 || !r.bytes().all(|b| b.is_ascii_alphanumeric())) {
        return Err(format!("rrn `{}` is not 1–24 letters or digits", f[3]));
    }
    let amount_paise = match f[4].parse::<i64>() {
        Ok(n) if f[4].bytes().all(|b| b.is_ascii_digit()) && (1..=MAX_AMOUNT).contains(&n) => n,
        _ => return Err(format!("amount_paise `{}` is not a whole number of paise from 1 to {MAX_AMOUNT}", f[4])),
    };
    let reason_code = f[5].to_string();
    if reason_code.is_empty() || reason_code.len() > 16 {
        return Err("reason_code must be 1–16 characters".into());
    }
    let reason: String = f[6].chars().take(200).collect();
    let step = match (Stage::parse(f[7]), Outcome::parse(f[7])) {
        (Some(s), _) => Step::Stage(s),
        (_, Some(o)) => Step::Outcome(o),
        _ => {
            return Err(format!(
                "stage `{}` is not retrieval, chargeback, pre_arbitration, arbitration, won or lost",
                f[7]
            ))
        }
    };
    let raised_on = Date::parse_iso(f[8]).ok_or_else(|| format!("raised_on `{}` is not YYYY-MM-DD", f[8]))?;
    let respond_by = match f[9] {
        "" => None,
        v => Some(
            Date::parse_iso(v)
                .map(end_of_ist_day)
                .or_else(|| parse_rfc3339(v))
                .ok_or_else(|| format!("respond_by `{v}` is not YYYY-MM-DD or an RFC 3339 time"))?,
        ),
    };
    if respond_by.is_some_and(|r| r < end_of_ist_day(raised_on) - 86_399) {
        return Err("respond_by is before raised_on".into());
    }
    Ok(FileRow {
        line,
        dispute_ref,
        network,
        txn_id,
        rrn,
        amount_paise,
        reason_code,
        reason,
        step,
        raised_on,
        respond_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messy_files_read_and_every_bad_row_is_a_reject_with_its_line() {
        let text = format!(
            "\u{feff}{HEADER}\r\n\r\nD1,visa,T1,,5000,10.4,\"Fraud, card absent\",chargeback,2026-10-05,\r\n\
             D2,UPI,,412345678901,100,U010,Not received,won,2026-10-05,2026-10-09T18:00:00+05:30\n\
             D3,AMEX,T3,,100,X,,chargeback,2026-10-05,\n\
             D4,UPI,,,100,X,,chargeback,2026-10-05,\n\
             D5,UPI,T5,,0,X,,chargeback,2026-10-05,\n\
             D6,UPI,T6,,-5,X,,chargeback,2026-10-05,\n\
             D7,UPI,T7,,5,X,,refund,2026-10-05,\n\
             D8,UPI,T8,,5,X,,chargeback,05/10/2026,\n\
             D9,UPI,T9,,5,X,,chargeback,2026-10-05,2026-10-01\n\
             D10,UPI,T10,,5,X\n"
        );
        let (rows, rejects) = parse(&text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].reason, "Fraud, card absent");
        assert_eq!((rows[0].network, rows[0].step), (Network::Visa, Step::Stage(Stage::Chargeback)));
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[1].step, Step::Outcome(Outcome::Won));
        assert_eq!(rows[1].respond_by, parse_rfc3339("2026-10-09T12:30:00Z"));
        let lines: Vec<usize> = rejects.iter().map(|r| r.line).collect();
        assert_eq!(lines, [5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(rejects[0].reason.contains("AMEX") && rejects[0].raw.starts_with("D3,AMEX"));
        assert!(rejects[7].reason.contains("6 fields"));
    }

    #[test]
    fn a_file_with_another_header_is_one_reject() {
        let (rows, rejects) = parse("ref,amount\nD1,5\n");
        assert!(rows.is_empty());
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].line, 1);
    }

    #[test]
    fn a_date_respond_by_is_the_end_of_that_ist_day() {
        let (rows, _) = parse(&format!("{HEADER}\nD1,UPI,T1,,5,X,,chargeback,2026-10-05,2026-10-08\n"));
        assert_eq!(settlepaisa_recon::date::format_ist(rows[0].respond_by.unwrap()), "2026-10-08T23:59:59+05:30");
    }
}
