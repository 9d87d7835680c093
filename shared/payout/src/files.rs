//! The settlement run's input files besides merchants: refunds
//! (`refund_id,txn_id,amount_paise,refunded_at`) and adjustments
//! (`adjustment_id,merchant_id,kind,amount_paise,effective_on,reference`). Each bad row is refused
//! with its line and reason; a file with any is refused whole.

use crate::cycle::{Adjustment, AdjustmentKind, Refund};
use crate::merchant::BadRow;
use settlepaisa_recon::date::{ist_date, parse_rfc3339, Date};
use settlepaisa_recon::fields::split_fields;
use settlepaisa_recon::money::Paise;
use std::collections::BTreeSet;

pub const REFUNDS_HEADER: &str = "refund_id,txn_id,amount_paise,refunded_at";
pub const ADJUSTMENTS_HEADER: &str = "adjustment_id,merchant_id,kind,amount_paise,effective_on,reference";

/// Amounts above this (₹10 crore) are refused as implausible, so no sum can overflow.
const MAX_AMOUNT: i64 = 1_000_000_000;

pub(crate) fn rows<'a, T>(
    text: &'a str,
    header: &str,
    fields: usize,
    mut parse: impl FnMut(&[&'a str]) -> Result<(String, T), String>,
) -> Result<Vec<T>, Vec<BadRow>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    if lines.next().map(|(_, h)| h.trim().trim_start_matches('\u{feff}')) != Some(header) {
        return Err(vec![BadRow { line: 1, reason: format!("the header must be exactly `{header}`") }]);
    }
    let (mut out, mut bad, mut ids) = (Vec::new(), Vec::new(), BTreeSet::new());
    let mut f = Vec::new();
    for (i, raw) in lines {
        let line = i + 1;
        if !split_fields(raw.trim_end_matches('\r'), b',', &mut f) {
            bad.push(BadRow { line, reason: "a quoted field is not closed".into() });
            continue;
        }
        if f.len() != fields {
            bad.push(BadRow { line, reason: format!("{} fields, not {fields}", f.len()) });
            continue;
        }
        match parse(&f) {
            Ok((id, _)) if !ids.insert(id.clone()) => {
                bad.push(BadRow { line, reason: format!("`{id}` is in the file twice") })
            }
            Ok((_, row)) => out.push(row),
            Err(reason) => bad.push(BadRow { line, reason }),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(bad)
    }
}

pub(crate) fn id(name: &str, v: &str) -> Result<String, String> {
    if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)) {
        return Err(format!("{name} `{v}` is not 1–64 letters, digits or -_.:"));
    }
    Ok(v.to_string())
}

fn amount(v: &str, signed: bool) -> Result<Paise, String> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("amount_paise `{v}` is not a whole number of paise"));
    }
    let n: i64 = v.parse().map_err(|_| format!("amount_paise `{v}` is out of range"))?;
    if !(-MAX_AMOUNT..=MAX_AMOUNT).contains(&n) || (!signed && n <= 0) {
        return Err(format!("amount_paise `{v}` is out of range"));
    }
    Ok(Paise(n))
}

pub fn parse_refunds(text: &str) -> Result<Vec<Refund>, Vec<BadRow>> {
    rows(text, REFUNDS_HEADER, 4, |f| {
        let refund_id = id("refund_id", f[0])?;
        let at = parse_rfc3339(f[3]).ok_or_else(|| format!("refunded_at `{}` is not an RFC 3339 time", f[3]))?;
        let refund = Refund {
            refund_id: refund_id.clone(),
            txn_id: id("txn_id", f[1])?,
            amount: amount(f[2], false)?,
            refunded_on: ist_date(at),
        };
        Ok((refund_id, refund))
    })
}

pub fn parse_adjustments(text: &str) -> Result<Vec<Adjustment>, Vec<BadRow>> {
    rows(text, ADJUSTMENTS_HEADER, 6, |f| {
        let adjustment_id = id("adjustment_id", f[0])?;
        let kind = AdjustmentKind::parse(f[2]).ok_or_else(|| {
            format!("kind `{}` is not chargeback_debit, chargeback_reversal, refund_reversal or manual", f[2])
        })?;
        let amount = amount(f[3], true)?;
        let sign_ok = match kind {
            AdjustmentKind::ChargebackDebit => amount.0 < 0,
            AdjustmentKind::ChargebackReversal | AdjustmentKind::RefundReversal => amount.0 > 0,
            AdjustmentKind::Manual => amount.0 != 0,
        };
        if !sign_ok {
            return Err(format!("a {} of {} paise has the wrong sign (debits are negative)", kind.as_str(), amount.0));
        }
        let effective_on = Date::parse_iso(f[4]).ok_or_else(|| format!("effective_on `{}` is not YYYY-MM-DD", f[4]))?;
        let adjustment = Adjustment {
            adjustment_id: adjustment_id.clone(),
            merchant_id: id("merchant_id", f[1])?,
            kind,
            amount,
            effective_on,
            reference: f[5].to_string(),
        };
        Ok((adjustment_id, adjustment))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refunds_and_adjustments_read_with_ist_dates_and_every_bad_row_named() {
        let r = parse_refunds(&format!("{REFUNDS_HEADER}\nR1,T1,500,2026-10-05T20:00:00Z\n")).unwrap();
        assert_eq!(r[0].refunded_on, Date::parse_iso("2026-10-06").unwrap(), "20:00 UTC is the next IST day");
        let bad = parse_refunds(&format!("{REFUNDS_HEADER}\nR1,T1,0,2026-10-05T20:00:00Z\nR2,T1,5,yesterday\nR3,T1,5,2026-10-05T20:00:00Z\nR3,T2,5,2026-10-05T20:00:00Z\n")).unwrap_err();
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), [2, 3, 5]);
        let a = parse_adjustments(&format!("{ADJUSTMENTS_HEADER}\nA1,M1,chargeback_debit,-2000,2026-10-05,DSP-1\n"))
            .unwrap();
        assert_eq!((a[0].kind, a[0].amount), (AdjustmentKind::ChargebackDebit, Paise(-2000)));
        let bad = parse_adjustments(&format!(
            "{ADJUSTMENTS_HEADER}\nA1,M1,chargeback_debit,2000,2026-10-05,x\nA2,M1,fee,1,2026-10-05,x\n"
        ))
        .unwrap_err();
        assert!(bad[0].reason.contains("wrong sign") && bad[1].reason.contains("kind"), "{bad:?}");
    }
}
