//! What resolving an exception does — plain rules over the exception's facts, no AWS.
//!
//! Actions: `accept_suggestion` (pair with the engine's suggested counterpart),
//! `manual_match` (pair a single unmatched record with a named counterpart), `write_off` (close
//! without a pair) and `accept_mismatch` (an amount mismatch becomes a match with its delta; a
//! duplicate UTR is acknowledged as is). A pair's counterpart that sits in another open exception
//! is closed with it, in the same transaction.

use serde::{Deserialize, Serialize};
use settlepaisa_recon::exception_category::ExceptionCategory;
use settlepaisa_recon::outcome::{exception_id_of, Category};
use settlepaisa_recon::settlement::exceptions::SettlementCategory;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    AcceptSuggestion,
    ManualMatch,
    WriteOff,
    AcceptMismatch,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AcceptSuggestion => "accept_suggestion",
            Action::ManualMatch => "manual_match",
            Action::WriteOff => "write_off",
            Action::AcceptMismatch => "accept_mismatch",
        }
    }
}

/// What the rules need to know of an exception.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub category: Option<ExceptionCategory>,
    pub txn_ids: Vec<String>,
    pub bank_refs: Vec<String>,
    pub suggestion: Option<(String, String)>,
}

/// A record on the other side of a pair, and the exceptions that could hold it alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Counterpart {
    Bank(String),
    Pg(String),
}

impl Counterpart {
    /// Ids of the single-record exceptions that could hold this record.
    pub fn candidate_exception_ids(&self) -> Vec<String> {
        match self {
            Counterpart::Pg(txn) => {
                [Category::UnmatchedPg, Category::UtrMissing].map(|c| exception_id_of(c, &[txn.as_str()], &[])).to_vec()
            }
            Counterpart::Bank(r) => match split_bank_ref(r) {
                Some((file, line)) => [Category::UnmatchedBank, Category::UtrMissing]
                    .map(|c| exception_id_of(c, &[], &[(file, line)]))
                    .to_vec(),
                None => Vec::new(),
            },
        }
    }
}

/// `NAME:LINE` → (`NAME`, line).
pub fn split_bank_ref(r: &str) -> Option<(&str, u32)> {
    let (file, line) = r.rsplit_once(':')?;
    Some((file, line.parse().ok()?)).filter(|(f, _)| !f.is_empty())
}

/// The effect of a resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effect {
    /// The (txn_id, bank_ref) pair that joins the match set.
    pub pair: Option<(String, String)>,
    /// The other record of the pair, when it is not in this exception.
    pub counterpart: Option<Counterpart>,
}

pub fn decide(f: &Facts, action: Action, counterpart: Option<&str>) -> Result<Effect, String> {
    let category = match f.category.ok_or("the exception has no known category")? {
        ExceptionCategory::Settlement(c) => return decide_settlement(c, action, counterpart),
        ExceptionCategory::Recon(c) => c,
    };
    let single_pg = (f.txn_ids.len() == 1 && f.bank_refs.is_empty()).then(|| f.txn_ids[0].clone());
    let single_bank = (f.bank_refs.len() == 1 && f.txn_ids.is_empty()).then(|| f.bank_refs[0].clone());
    if action != Action::ManualMatch && counterpart.is_some() {
        return Err(format!("counterpart is only for manual_match, not {}", action.as_str()));
    }
    match action {
        Action::WriteOff => Ok(Effect { pair: None, counterpart: None }),
        Action::AcceptMismatch => match category {
            Category::AmountMismatch if f.txn_ids.len() == 1 && f.bank_refs.len() == 1 => {
                Ok(Effect { pair: Some((f.txn_ids[0].clone(), f.bank_refs[0].clone())), counterpart: None })
            }
            Category::AmountMismatch => {
                Err("this amount mismatch spans several records; match them one by one with manual_match".into())
            }
            Category::DuplicateUtr => Ok(Effect { pair: None, counterpart: None }),
            other => {
                Err(format!("accept_mismatch applies to AMOUNT_MISMATCH and DUPLICATE_UTR, not {}", other.as_str()))
            }
        },
        Action::AcceptSuggestion => {
            let (txn, bank) = f.suggestion.clone().ok_or("this exception has no suggestion to accept")?;
            let has_txn = f.txn_ids.contains(&txn);
            let has_bank = f.bank_refs.contains(&bank);
            let counterpart = match (has_txn, has_bank) {
                (true, true) => None,
                (true, false) => Some(Counterpart::Bank(bank.clone())),
                (false, true) => Some(Counterpart::Pg(txn.clone())),
                (false, false) => return Err("the suggestion names no record of this exception".into()),
            };
            Ok(Effect { pair: Some((txn, bank)), counterpart })
        }
        Action::ManualMatch => {
            let other = counterpart
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or("manual_match needs counterpart: a bank ref (NAME:LINE) or a txn_id")?;
            match (single_pg, single_bank) {
                (Some(txn), None) => {
                    split_bank_ref(other).ok_or(format!("counterpart `{other}` is not a bank ref; write NAME:LINE"))?;
                    Ok(Effect {
                        pair: Some((txn, other.to_string())),
                        counterpart: Some(Counterpart::Bank(other.to_string())),
                    })
                }
                (None, Some(bank)) => Ok(Effect {
                    pair: Some((other.to_string(), bank)),
                    counterpart: Some(Counterpart::Pg(other.to_string())),
                }),
                _ => Err(format!(
                    "manual_match applies to a single unmatched record; this {} has {} PG and {} bank records",
                    category.as_str(),
                    f.txn_ids.len(),
                    f.bank_refs.len()
                )),
            }
        }
    }
}

/// A settlement finding pairs nothing (its transactions are already matched through the bulk
/// credit, or not captured at all): it is accepted as the acquirer stated it, or written off once
/// recovered or forgone.
fn decide_settlement(c: SettlementCategory, action: Action, counterpart: Option<&str>) -> Result<Effect, String> {
    if counterpart.is_some() {
        return Err(format!("counterpart is only for manual_match of an unmatched record, not a {}", c.as_str()));
    }
    match action {
        Action::WriteOff => Ok(Effect { pair: None, counterpart: None }),
        Action::AcceptMismatch if c.has_a_figure_to_accept() => Ok(Effect { pair: None, counterpart: None }),
        Action::AcceptMismatch => Err(format!(
            "a {} has no differing figure to accept; recover it from the acquirer or write it off with write_off",
            c.as_str()
        )),
        Action::AcceptSuggestion | Action::ManualMatch => Err(format!(
            "{} pairs records; a {} is a settlement finding and is closed with accept_mismatch or write_off",
            action.as_str(),
            c.as_str()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settlement_finding_is_accepted_or_written_off_never_paired() {
        use settlepaisa_recon::settlement::LineCategory;
        let finding = |c| Facts { category: Some(ExceptionCategory::Settlement(c)), ..Facts::default() };
        let short = finding(SettlementCategory::ShortCredit);
        let none = Effect { pair: None, counterpart: None };
        assert_eq!(decide(&short, Action::AcceptMismatch, None), Ok(none.clone()));
        assert_eq!(decide(&short, Action::WriteOff, None), Ok(none.clone()));
        assert!(decide(&short, Action::ManualMatch, Some("T1")).unwrap_err().contains("counterpart"));
        assert!(decide(&short, Action::AcceptSuggestion, None).unwrap_err().contains("settlement finding"));
        let missing = finding(SettlementCategory::CreditMissing);
        assert!(decide(&missing, Action::AcceptMismatch, None).unwrap_err().contains("write_off"));
        assert_eq!(decide(&missing, Action::WriteOff, None), Ok(none.clone()));
        let fee = finding(SettlementCategory::Line(LineCategory::FeeMismatch));
        assert_eq!(decide(&fee, Action::AcceptMismatch, None), Ok(none));
        let twice = finding(SettlementCategory::Line(LineCategory::DoubleSettled));
        assert!(decide(&twice, Action::AcceptMismatch, None).is_err());
    }

    fn facts(category: Category, txns: &[&str], banks: &[&str], suggestion: Option<(&str, &str)>) -> Facts {
        Facts {
            category: Some(ExceptionCategory::Recon(category)),
            txn_ids: txns.iter().map(|s| s.to_string()).collect(),
            bank_refs: banks.iter().map(|s| s.to_string()).collect(),
            suggestion: suggestion.map(|(a, b)| (a.to_string(), b.to_string())),
        }
    }

    #[test]
    fn accepting_a_suggestion_pairs_and_closes_the_counterpart() {
        let f = facts(Category::UnmatchedPg, &["T1"], &[], Some(("T1", "hdfc.csv:7")));
        let e = decide(&f, Action::AcceptSuggestion, None).unwrap();
        assert_eq!(e.pair, Some(("T1".into(), "hdfc.csv:7".into())));
        assert_eq!(e.counterpart, Some(Counterpart::Bank("hdfc.csv:7".into())));
        let ids = e.counterpart.unwrap().candidate_exception_ids();
        assert_eq!(ids[0], exception_id_of(Category::UnmatchedBank, &[], &[("hdfc.csv", 7)]));
        assert!(decide(&facts(Category::UnmatchedPg, &["T1"], &[], None), Action::AcceptSuggestion, None).is_err());
    }

    #[test]
    fn manual_match_needs_a_single_record_and_a_counterpart_of_the_other_side() {
        let pg = facts(Category::UnmatchedPg, &["T1"], &[], None);
        assert!(decide(&pg, Action::ManualMatch, None).unwrap_err().contains("counterpart"));
        assert!(decide(&pg, Action::ManualMatch, Some("T2")).unwrap_err().contains("NAME:LINE"));
        assert_eq!(
            decide(&pg, Action::ManualMatch, Some("a.csv:3")).unwrap().pair,
            Some(("T1".into(), "a.csv:3".into()))
        );
        let bank = facts(Category::UnmatchedBank, &[], &["a.csv:3"], None);
        assert_eq!(
            decide(&bank, Action::ManualMatch, Some("T9")).unwrap().counterpart,
            Some(Counterpart::Pg("T9".into()))
        );
        let dup = facts(Category::DuplicateUtr, &["T1", "T2"], &["a.csv:3"], None);
        assert!(decide(&dup, Action::ManualMatch, Some("T9")).is_err());
    }

    #[test]
    fn mismatches_and_write_offs() {
        let m = facts(Category::AmountMismatch, &["T1"], &["a.csv:3"], None);
        assert_eq!(
            decide(&m, Action::AcceptMismatch, None).unwrap(),
            Effect { pair: Some(("T1".into(), "a.csv:3".into())), counterpart: None }
        );
        let dup = facts(Category::DuplicateUtr, &["T1"], &["a.csv:3", "a.csv:4"], None);
        assert_eq!(decide(&dup, Action::AcceptMismatch, None).unwrap().pair, None);
        let pg = facts(Category::UnmatchedPg, &["T1"], &[], None);
        assert!(decide(&pg, Action::AcceptMismatch, None).is_err());
        assert_eq!(decide(&pg, Action::WriteOff, None).unwrap(), Effect { pair: None, counterpart: None });
        assert!(decide(&pg, Action::WriteOff, Some("x")).is_err());
    }

    #[test]
    fn bank_refs_split_at_the_last_colon() {
        assert_eq!(split_bank_ref("HDFC:2026:11.csv:12"), Some(("HDFC:2026:11.csv", 12)));
        assert_eq!(split_bank_ref("nope"), None);
        assert_eq!(split_bank_ref(":3"), None);
    }
}

/// An exception's place in the KPI items: the day and merchant it was counted under, and what
/// it put at stake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KpiPlace {
    pub category: String,
    pub day: String,
    pub merchant: Option<String>,
    pub exposure_paise: i64,
}

/// A pair joining the match set, as the KPI items count matches: the PG record's day, merchant
/// and amount, the bank record's source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairPlace {
    pub day: String,
    pub merchant: Option<String>,
    pub amount_paise: i64,
    pub source: Option<String>,
}

/// `(day, dimension) → [(attribute, delta)]`: one `ADD` update per KPI item.
pub type KpiDeltas = std::collections::BTreeMap<(String, String), Vec<(String, i64)>>;

/// What a resolution adds to the KPI items: each closed exception counts as resolved (with its
/// exposure) under its category; a pair counts as matched, for the day, merchant and bank.
pub fn kpi_deltas(closed: &[KpiPlace], pair: Option<&PairPlace>) -> KpiDeltas {
    let mut out = KpiDeltas::new();
    let mut add = |day: &str, merchant: Option<&str>, deltas: &[(String, i64)], all_only: &[(String, i64)]| {
        let dims = std::iter::once("ALL".to_string()).chain(merchant.map(|m| format!("MERCHANT#{m}")));
        for (i, dim) in dims.enumerate() {
            let entry = out.entry((day.to_string(), dim)).or_default();
            let extra = if i == 0 { all_only } else { &[] };
            for (attr, v) in deltas.iter().chain(extra) {
                match entry.iter_mut().find(|(a, _)| a == attr) {
                    Some((_, x)) => *x += v,
                    None => entry.push((attr.clone(), *v)),
                }
            }
        }
    };
    for c in closed {
        let deltas = [(format!("res_n_{}", c.category), 1), (format!("res_p_{}", c.category), c.exposure_paise)];
        add(&c.day, c.merchant.as_deref(), &deltas, &[]);
    }
    if let Some(p) = pair {
        let deltas = [("matched_count".to_string(), 1), ("matched_amount_paise".to_string(), p.amount_paise)];
        let sources: Vec<(String, i64)> =
            p.source.iter().flat_map(|s| [(format!("src_n_{s}"), 1), (format!("src_p_{s}"), p.amount_paise)]).collect();
        add(&p.day, p.merchant.as_deref(), &deltas, &sources);
    }
    out
}

#[cfg(test)]
mod kpi_tests {
    use super::*;

    #[test]
    fn a_suggested_pair_resolves_two_exceptions_and_adds_one_match() {
        let closed = [
            KpiPlace {
                category: "UNMATCHED_PG".into(),
                day: "2026-11-20".into(),
                merchant: Some("M1".into()),
                exposure_paise: 500,
            },
            KpiPlace {
                category: "UNMATCHED_BANK".into(),
                day: "2026-11-21".into(),
                merchant: None,
                exposure_paise: 500,
            },
        ];
        let pair = PairPlace {
            day: "2026-11-20".into(),
            merchant: Some("M1".into()),
            amount_paise: 500,
            source: Some("HDFC".into()),
        };
        let d = kpi_deltas(&closed, Some(&pair));
        let all20 = &d[&("2026-11-20".to_string(), "ALL".to_string())];
        assert!(all20.contains(&("res_n_UNMATCHED_PG".into(), 1)));
        assert!(all20.contains(&("matched_count".into(), 1)));
        assert!(all20.contains(&("src_n_HDFC".into(), 1)));
        let m20 = &d[&("2026-11-20".to_string(), "MERCHANT#M1".to_string())];
        assert!(m20.contains(&("matched_amount_paise".into(), 500)));
        assert!(!m20.iter().any(|(a, _)| a.starts_with("src_")), "sources live on ALL items only");
        assert_eq!(
            d[&("2026-11-21".to_string(), "ALL".to_string())],
            vec![("res_n_UNMATCHED_BANK".into(), 1), ("res_p_UNMATCHED_BANK".into(), 500)]
        );
        assert_eq!(d.len(), 3);
    }
}
