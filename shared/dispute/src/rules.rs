//! The rules table: per network, how long after a transaction a dispute may be raised, how many
//! business days the merchant has to respond at each stage, and whether the amount is taken at
//! onset. Every figure and its source is in `docs/disputes.md#the-rules-table`; a file's own
//! `respond_by` wins over the table.

use crate::model::{Network, Stage};
use settlepaisa_payout::calendar::Calendar;
use settlepaisa_recon::date::{Date, IST_OFFSET_MINUTES};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkRules {
    pub network: Network,
    /// Calendar days from the capture day within which the customer's bank may raise it.
    pub raise_window_days: i32,
    /// Business days the merchant has to respond, by stage (retrieval, chargeback,
    /// pre-arbitration, arbitration).
    pub respond_business_days: [u32; 4],
    /// The amount is debited when a money stage opens (`true`), or only when the dispute is lost.
    pub deduct_at_onset: bool,
}

/// The merchant's windows are SettlePaisa's, inside the networks' own (the acquirer needs the
/// rest to file the representment): 3 / 3 / 2 / 1 business days.
const MERCHANT_WINDOWS: [u32; 4] = [3, 3, 2, 1];

pub const DEFAULT_RULES: [NetworkRules; 4] = [
    NetworkRules {
        network: Network::Upi,
        raise_window_days: 45,
        respond_business_days: MERCHANT_WINDOWS,
        deduct_at_onset: true,
    },
    NetworkRules {
        network: Network::Visa,
        raise_window_days: 120,
        respond_business_days: MERCHANT_WINDOWS,
        deduct_at_onset: true,
    },
    NetworkRules {
        network: Network::Mastercard,
        raise_window_days: 120,
        respond_business_days: MERCHANT_WINDOWS,
        deduct_at_onset: true,
    },
    NetworkRules {
        network: Network::Rupay,
        raise_window_days: 120,
        respond_business_days: MERCHANT_WINDOWS,
        deduct_at_onset: true,
    },
];

/// The table in force: the defaults, with deduct-at-onset as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    pub networks: [NetworkRules; 4],
}

impl Default for Rules {
    fn default() -> Rules {
        Rules { networks: DEFAULT_RULES }
    }
}

impl Rules {
    /// `DISPUTE_DEDUCT_AT_ONSET`: the networks (comma-separated) whose disputes are debited when
    /// a money stage opens; the others only when lost. `None` keeps the defaults (all).
    pub fn with_deduct_at_onset(setting: Option<&str>) -> Result<Rules, String> {
        let mut rules = Rules::default();
        let Some(text) = setting else { return Ok(rules) };
        let mut chosen = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            chosen.push(Network::parse(name).ok_or_else(|| format!("`{name}` is not UPI, VISA, MASTERCARD or RUPAY"))?);
        }
        for r in &mut rules.networks {
            r.deduct_at_onset = chosen.contains(&r.network);
        }
        Ok(rules)
    }

    pub fn of(&self, network: Network) -> &NetworkRules {
        self.networks.iter().find(|r| r.network == network).expect("every network has rules")
    }

    /// The deadline of a stage raised on `raised_on` when its file gives none: the end of the
    /// IST day that many business days later.
    pub fn respond_by(&self, network: Network, stage: Stage, raised_on: Date, calendar: &Calendar) -> i64 {
        let days = self.of(network).respond_business_days[stage as usize];
        end_of_ist_day(calendar.add_business_days(raised_on, days))
    }
}

/// The last second of an IST day, as Unix seconds.
pub fn end_of_ist_day(day: Date) -> i64 {
    i64::from(day.0 + 1) * 86_400 - IST_OFFSET_MINUTES * 60 - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_the_end_of_an_ist_business_day() {
        let rules = Rules::default();
        let cal = Calendar::new([]);
        // Thursday 2026-10-01 + 3 business days: Fri 2, Sat 3 (1st Saturday works), Mon 5.
        let due = rules.respond_by(Network::Visa, Stage::Chargeback, Date::parse_iso("2026-10-01").unwrap(), &cal);
        assert_eq!(settlepaisa_recon::date::format_ist(due), "2026-10-05T23:59:59+05:30");
        let arb = rules.respond_by(Network::Visa, Stage::Arbitration, Date::parse_iso("2026-10-01").unwrap(), &cal);
        assert_eq!(settlepaisa_recon::date::format_ist(arb), "2026-10-02T23:59:59+05:30");
    }

    #[test]
    fn deduct_at_onset_is_configured_per_network() {
        let r = Rules::with_deduct_at_onset(Some("VISA, mastercard")).unwrap();
        assert!(r.of(Network::Visa).deduct_at_onset && r.of(Network::Mastercard).deduct_at_onset);
        assert!(!r.of(Network::Upi).deduct_at_onset && !r.of(Network::Rupay).deduct_at_onset);
        assert!(Rules::with_deduct_at_onset(Some("AMEX")).is_err());
        assert_eq!(Rules::with_deduct_at_onset(None).unwrap(), Rules::default());
    }
}
