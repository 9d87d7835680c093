//! Maker-checker (issue 15 §2), the pure part: which actions need a second person, and who may be
//! that person.
//!
//! A rule names an action and the amount (paise) from which it needs approval: `0` — always;
//! `None` — never. The rules live in a table and change only through maker-checker itself
//! (`approval_rule.change` always needs approval, whatever the table says).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The actions rules can gate.
pub const ACTIONS: [&str; 6] = [
    "exception.write_off",
    "exception.accept_mismatch",
    "exception.manual_match",
    "merchant.update",
    "connector.configure",
    "approval_rule.change",
];

/// The action a rule change is; always gated.
pub const RULE_CHANGE: &str = "approval_rule.change";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    /// From this amount (paise) the action needs a checker; `null`: it never does.
    pub min_amount_paise: Option<i64>,
}

/// The rules in force: the table's, over these defaults.
pub fn defaults() -> BTreeMap<String, Rule> {
    let rule = |min: Option<i64>| Rule { min_amount_paise: min };
    BTreeMap::from([
        // Writing money off or accepting a wrong amount: from ₹10,000.
        ("exception.write_off".into(), rule(Some(1_000_000))),
        ("exception.accept_mismatch".into(), rule(Some(1_000_000))),
        // Pairing records by hand: always (it moves a transaction into settlement).
        ("exception.manual_match".into(), rule(Some(0))),
        // A merchant's plan or status (holds and their release): always.
        ("merchant.update".into(), rule(Some(0))),
        ("connector.configure".into(), rule(Some(0))),
        (RULE_CHANGE.into(), rule(Some(0))),
    ])
}

/// Whether `action` for `amount_paise` needs a second person under `rules`.
pub fn needs_approval(rules: &BTreeMap<String, Rule>, action: &str, amount_paise: i64) -> bool {
    if action == RULE_CHANGE {
        return true;
    }
    match rules.get(action).and_then(|r| r.min_amount_paise) {
        None => false,
        Some(min) => amount_paise.saturating_abs() >= min,
    }
}

/// A checker's standing to decide a parked request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    May,
    /// The maker is asking to approve their own request.
    OwnRequest,
    /// The checker's role lacks the permission the request needs.
    LacksPermission,
}

pub fn standing(maker: &str, checker: &str, checker_has_permission: bool) -> Standing {
    if maker == checker {
        Standing::OwnRequest
    } else if !checker_has_permission {
        Standing::LacksPermission
    } else {
        Standing::May
    }
}

/// A parked request's states: `pending_approval` → `applied` | `rejected` | `failed` (the target
/// changed before approval could apply it). Only a pending one may be decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ApprovalStatus {
    PendingApproval,
    Applied,
    Rejected,
    Failed,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::PendingApproval => "PENDING_APPROVAL",
            ApprovalStatus::Applied => "APPLIED",
            ApprovalStatus::Rejected => "REJECTED",
            ApprovalStatus::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalStatus> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    pub fn is_decided(self) -> bool {
        self != ApprovalStatus::PendingApproval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_from_the_threshold_need_approval_and_rule_changes_always_do() {
        let mut rules = defaults();
        assert!(!needs_approval(&rules, "exception.write_off", 999_999));
        assert!(needs_approval(&rules, "exception.write_off", 1_000_000));
        assert!(needs_approval(&rules, "exception.accept_mismatch", -1_500_000), "a shortfall counts by size");
        assert!(needs_approval(&rules, "exception.manual_match", 1));
        assert!(!needs_approval(&rules, "exception.accept_suggestion", 10_000_000), "not gated");
        rules.insert(RULE_CHANGE.into(), Rule { min_amount_paise: None });
        rules.insert("merchant.update".into(), Rule { min_amount_paise: None });
        assert!(needs_approval(&rules, RULE_CHANGE, 0), "the rules cannot switch themselves off");
        assert!(!needs_approval(&rules, "merchant.update", 0));
        for a in ACTIONS {
            assert!(defaults().contains_key(a), "{a} has a default");
        }
    }

    #[test]
    fn a_maker_never_checks_their_own() {
        assert_eq!(standing("u1", "u1", true), Standing::OwnRequest);
        assert_eq!(standing("u1", "u2", false), Standing::LacksPermission);
        assert_eq!(standing("u1", "u2", true), Standing::May);
        assert!(ApprovalStatus::Applied.is_decided() && !ApprovalStatus::PendingApproval.is_decided());
        assert_eq!(ApprovalStatus::parse("PENDING_APPROVAL"), Some(ApprovalStatus::PendingApproval));
    }
}
