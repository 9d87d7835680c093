//! An exception item of the results table, decoded once and strictly: a missing or malformed
//! attribute (an amount, a record list, a status) is an error naming it, never a zero or an empty
//! list that would let a resolution write a ₹0 manual match or miscount the KPIs.

use serde::Deserialize;
use serde_json::Value;
use settlepaisa_aws::dynamo::{Fields, Item, Malformed};
use settlepaisa_recon::exception_category::ExceptionCategory;
use settlepaisa_recon::kpi::exposure;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionStatus {
    Open,
    Resolved,
}

impl ExceptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionStatus::Open => "OPEN",
            ExceptionStatus::Resolved => "RESOLVED",
        }
    }

    fn parse(text: &str) -> Option<ExceptionStatus> {
        [ExceptionStatus::Open, ExceptionStatus::Resolved].into_iter().find(|s| s.as_str() == text)
    }
}

/// A PG transaction as an exception item carries it (`pg_records`, `suggestion_record`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PgRecord {
    pub txn_id: String,
    pub merchant_id: String,
    pub amount_paise: i64,
    pub utr: Option<String>,
    pub date: String,
}

/// A bank credit as an exception item carries it (`bank_records`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BankRecord {
    pub bank_ref: String,
    pub source: String,
    pub amount_paise: i64,
    pub utr: Option<String>,
    pub date: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub txn_id: String,
    pub bank_ref: String,
    pub confidence: String,
    pub explain: Option<String>,
    pub record: Value,
}

/// What a settlement exception is about beyond the engine's attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementFinding {
    pub settlement_id: String,
    /// `REPORT:LINE` of the row a line check is about; none for a settlement's status.
    pub row: Option<String>,
    pub expected_paise: Option<i64>,
    pub actual_paise: i64,
    /// The money at stake, never negative.
    pub at_stake_paise: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExceptionRecord {
    pub job_id: String,
    pub exception_id: String,
    pub category: ExceptionCategory,
    pub status: ExceptionStatus,
    pub version: i64,
    pub reason: String,
    pub day: Option<String>,
    pub merchant_id: Option<String>,
    pub amount_delta_paise: i64,
    pub pg_amount_paise: i64,
    pub txn_ids: Vec<String>,
    pub bank_refs: Vec<String>,
    /// As stored, for the API (the typed records below are checked against them).
    pub pg_json: Value,
    pub bank_json: Value,
    pub pg_records: Vec<PgRecord>,
    pub bank_records: Vec<BankRecord>,
    pub suggestion: Option<Suggestion>,
    pub resolution: Option<Value>,
    /// Present exactly on the settlement step's exceptions.
    pub settlement: Option<SettlementFinding>,
}

fn json(f: &Fields<'_>, name: &str) -> Result<Value, Malformed> {
    f.parsed(name, |t| serde_json::from_str(t).ok())
}

fn records<T: for<'de> Deserialize<'de>>(value: &Value, name: &str) -> Result<Vec<T>, Malformed> {
    serde_json::from_value(value.clone())
        .map_err(|e| Malformed { what: "exception", problem: format!("`{name}`: {e}") })
}

impl ExceptionRecord {
    pub fn from_item(item: &Item) -> Result<ExceptionRecord, Malformed> {
        let f = Fields::new("exception", item);
        let pg_json = json(&f, "pg_records")?;
        let bank_json = json(&f, "bank_records")?;
        let suggestion = match f.opt_s("suggestion_txn_id")? {
            None => None,
            Some(txn_id) => Some(Suggestion {
                txn_id,
                bank_ref: f.s("suggestion_bank_ref")?,
                confidence: f.s("suggestion_confidence")?,
                explain: f.opt_s("suggestion_explain")?,
                record: json(&f, "suggestion_record")?,
            }),
        };
        let record = ExceptionRecord {
            job_id: f.s("job_id")?,
            exception_id: f.s("exception_id")?,
            category: f.parsed("category", ExceptionCategory::parse)?,
            status: f.parsed("status", ExceptionStatus::parse)?,
            version: f.n("version")?,
            reason: f.s("reason")?,
            day: f.opt_s("day")?,
            merchant_id: f.opt_s("merchant_id")?,
            amount_delta_paise: f.n("amount_delta_paise")?,
            pg_amount_paise: f.n("pg_amount_paise")?,
            txn_ids: f.str_list("txn_ids")?,
            bank_refs: f.str_list("bank_refs")?,
            pg_records: records(&pg_json, "pg_records")?,
            bank_records: records(&bank_json, "bank_records")?,
            pg_json,
            bank_json,
            suggestion,
            resolution: f.opt_parsed("resolution", |t| serde_json::from_str(t).ok())?,
            settlement: match f.opt_s("settlement_id")? {
                None => None,
                Some(settlement_id) => Some(SettlementFinding {
                    settlement_id,
                    row: f.opt_s("settlement_row")?,
                    expected_paise: f.opt_n("expected_paise")?,
                    actual_paise: f.n("actual_paise")?,
                    at_stake_paise: f.n("at_stake_paise")?,
                }),
            },
        };
        if matches!(record.category, ExceptionCategory::Settlement(_)) != record.settlement.is_some() {
            return Err(Malformed {
                what: "exception",
                problem: "`settlement_id` is on a settlement category's exception, and only there".into(),
            });
        }
        let listed: Vec<&str> = record.pg_records.iter().map(|r| r.txn_id.as_str()).collect();
        if listed != record.txn_ids.iter().map(String::as_str).collect::<Vec<_>>() {
            return Err(Malformed { what: "exception", problem: "`pg_records` do not match `txn_ids`".into() });
        }
        Ok(record)
    }

    /// What the exception puts at stake (paise): a settlement finding's own figure, else the PG
    /// amount, or the bank amount when it has no PG side.
    pub fn exposure(&self) -> i64 {
        match &self.settlement {
            Some(s) => s.at_stake_paise,
            None => exposure(self.txn_ids.len() as u64, self.pg_amount_paise, self.amount_delta_paise),
        }
    }

    pub fn pg_record(&self, txn_id: &str) -> Option<&PgRecord> {
        self.pg_records.iter().find(|r| r.txn_id == txn_id)
    }

    pub fn bank_record(&self, bank_ref: &str) -> Option<&BankRecord> {
        self.bank_records.iter().find(|r| r.bank_ref == bank_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_aws::dynamo::{lv, nv, sv};

    fn item() -> Item {
        Item::from([
            ("job_id".into(), sv("JOB-1")),
            ("item".into(), sv("E#EXC-1")),
            ("exception_id".into(), sv("EXC-1")),
            ("category".into(), sv("UNMATCHED_PG")),
            ("status".into(), sv("OPEN")),
            ("version".into(), nv(1)),
            ("reason".into(), sv("no credit")),
            ("day".into(), sv("2026-10-01")),
            ("merchant_id".into(), sv("M1")),
            ("amount_delta_paise".into(), nv(-500)),
            ("pg_amount_paise".into(), nv(500)),
            ("txn_ids".into(), lv(["T1".to_string()])),
            ("bank_refs".into(), lv([])),
            (
                "pg_records".into(),
                sv(
                    r#"[{"kind":"pg","txnId":"T1","merchantId":"M1","merchantRef":"","method":"UPI","amountPaise":500,"utr":null,"date":"2026-10-01"}]"#,
                ),
            ),
            ("bank_records".into(), sv("[]")),
        ])
    }

    #[test]
    fn an_exception_item_reads_back() {
        let e = ExceptionRecord::from_item(&item()).unwrap();
        assert_eq!(e.pg_record("T1").map(|r| r.amount_paise), Some(500));
        assert_eq!(
            (e.status, e.version, e.category),
            (ExceptionStatus::Open, 1, ExceptionCategory::Recon(settlepaisa_recon::outcome::Category::UnmatchedPg))
        );
        assert_eq!((e.settlement.is_none(), e.exposure()), (true, 500));
    }

    #[test]
    fn a_record_without_its_amount_is_an_error_not_a_zero_rupee_match() {
        let mut i = item();
        i.insert(
            "pg_records".into(),
            sv(r#"[{"kind":"pg","txnId":"T1","merchantId":"M1","utr":null,"date":"2026-10-01"}]"#),
        );
        assert!(ExceptionRecord::from_item(&i).unwrap_err().to_string().contains("amountPaise"));
        for (name, value) in [("status", Some(sv("MAYBE"))), ("version", None), ("pg_amount_paise", Some(sv("5")))] {
            let mut i = item();
            match value {
                Some(v) => i.insert(name.into(), v),
                None => i.remove(name),
            };
            assert!(ExceptionRecord::from_item(&i).unwrap_err().to_string().contains(name), "{name}");
        }
        let mut i = item();
        i.insert("txn_ids".into(), lv(["T2".to_string()]));
        assert!(ExceptionRecord::from_item(&i).is_err(), "records that disagree with the ids");
    }

    #[test]
    fn a_settlement_finding_carries_its_settlement_and_its_own_exposure() {
        let mut i = item();
        i.insert("category".into(), sv("FEE_MISMATCH"));
        assert!(ExceptionRecord::from_item(&i).is_err(), "a settlement category without its settlement");
        i.insert("settlement_id".into(), sv("setl_1"));
        i.insert("settlement_row".into(), sv("acq.csv:4"));
        i.insert("expected_paise".into(), nv(2_000));
        i.insert("actual_paise".into(), nv(2_100));
        assert!(ExceptionRecord::from_item(&i).unwrap_err().to_string().contains("at_stake_paise"));
        i.insert("at_stake_paise".into(), nv(100));
        let e = ExceptionRecord::from_item(&i).unwrap();
        assert_eq!(e.exposure(), 100, "the overcharge, not the transaction's amount");
        assert_eq!(e.settlement.unwrap().row.as_deref(), Some("acq.csv:4"));
        let mut i = item();
        i.insert("settlement_id".into(), sv("setl_1"));
        assert!(ExceptionRecord::from_item(&i).is_err(), "an engine category with a settlement");
    }
}
