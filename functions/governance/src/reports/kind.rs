//! What each report is: its name, its CSV header, who may ask for it, and what it needs. Plain
//! Rust; the rows come from [`super::sources`].

/// A report's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One row a day: PG and bank totals, matched, open exceptions, match rate.
    ReconSummary,
    /// One row per exception of a job, dated within the range.
    Exceptions,
    /// One row per settlement batch of the range's cycle dates.
    Settlements,
    /// One row per dispute raised within the range.
    Disputes,
    /// A merchant's settlement lines (every payment, refund, fee, adjustment) of the range's
    /// batches: the long one (a busy merchant's month is a million rows).
    MerchantStatement,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::ReconSummary, Kind::Exceptions, Kind::Settlements, Kind::Disputes, Kind::MerchantStatement];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ReconSummary => "recon_summary",
            Kind::Exceptions => "exceptions",
            Kind::Settlements => "settlements",
            Kind::Disputes => "disputes",
            Kind::MerchantStatement => "merchant_statement",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether a merchant user may ask for it (about their own merchant).
    pub fn for_merchants(self) -> bool {
        matches!(self, Kind::Settlements | Kind::Disputes | Kind::MerchantStatement)
    }

    /// Whether it must name a merchant (staff included).
    pub fn needs_merchant(self) -> bool {
        self == Kind::MerchantStatement
    }

    /// Whether it must name a job.
    pub fn needs_job(self) -> bool {
        self == Kind::Exceptions
    }

    pub fn header(self) -> &'static str {
        match self {
            Kind::ReconSummary => "date,pg_count,pg_amount_paise,bank_count,bank_amount_paise,matched_count,matched_amount_paise,open_exceptions,open_exception_paise,match_rate_bps",
            Kind::Exceptions => "exception_id,job_id,category,status,date,merchant_id,txn_ids,bank_refs,pg_amount_paise,amount_delta_paise,at_stake_paise,settlement_id,settlement_row,reason,resolution",
            Kind::Settlements => "settlement_id,merchant_id,cycle_date,status,txns,gross_paise,fees_paise,gst_paise,refunds_paise,adjustments_paise,reserve_withheld_paise,reserve_released_paise,net_paise,utr,failure_reason",
            Kind::Disputes => "dispute_id,merchant_id,txn_id,stage,status,reason_code,amount_paise,raised_on,respond_by",
            Kind::MerchantStatement => "merchant_id,cycle_date,settlement_id,kind,ref,amount_paise,fee_paise,gst_paise",
        }
    }
}

/// A CSV text field: quoted when it holds a comma, quote or line break; and a value a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@` first) is led by `'`. Numbers are written as they
/// are, not through here.
pub fn field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) { format!("'{v}") } else { v.to_string() };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_say_who_may_ask() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
            assert!(!k.header().is_empty());
        }
        assert!(Kind::MerchantStatement.for_merchants() && !Kind::ReconSummary.for_merchants());
        assert!(!Kind::Exceptions.for_merchants() && Kind::Exceptions.needs_job());
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("@sum"), "'@sum");
    }
}
