//! A dispute: one transaction's challenge by the customer's bank, at a stage of the network's
//! process and a status within it, with the deadline of the response the stage asks for.

use serde::{Deserialize, Serialize};
use settlepaisa_recon::date::{format_utc, Date};

/// The rails a dispute comes from; each has its own clock ([`crate::rules`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Network {
    Upi,
    Visa,
    Mastercard,
    Rupay,
}

impl Network {
    pub const ALL: [Network; 4] = [Network::Upi, Network::Visa, Network::Mastercard, Network::Rupay];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Upi => "UPI",
            Network::Visa => "VISA",
            Network::Mastercard => "MASTERCARD",
            Network::Rupay => "RUPAY",
        }
    }

    pub fn parse(text: &str) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.as_str().eq_ignore_ascii_case(text))
    }
}

/// The network's process, in order: a dispute only moves forward through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The issuer asks for documents; no money moves yet.
    Retrieval,
    Chargeback,
    PreArbitration,
    Arbitration,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Retrieval, Stage::Chargeback, Stage::PreArbitration, Stage::Arbitration];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Retrieval => "retrieval",
            Stage::Chargeback => "chargeback",
            Stage::PreArbitration => "pre_arbitration",
            Stage::Arbitration => "arbitration",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the stage takes the money back from the merchant (every stage but retrieval).
    pub fn moves_money(self) -> bool {
        self != Stage::Retrieval
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the merchant until `respond_by`.
    NeedsResponse,
    /// The merchant contested; the network decides.
    UnderReview,
    Won,
    Lost,
    /// The merchant accepted the dispute: lost, by choice.
    Accepted,
    /// `respond_by` passed with no response: lost.
    Expired,
}

impl Status {
    pub const ALL: [Status; 6] =
        [Status::NeedsResponse, Status::UnderReview, Status::Won, Status::Lost, Status::Accepted, Status::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::NeedsResponse => "needs_response",
            Status::UnderReview => "under_review",
            Status::Won => "won",
            Status::Lost => "lost",
            Status::Accepted => "accepted",
            Status::Expired => "expired",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Still being decided: the amount is at risk.
    pub fn is_open(self) -> bool {
        matches!(self, Status::NeedsResponse | Status::UnderReview)
    }

    /// Lost, whichever way: the merchant bears the amount.
    pub fn is_lost(self) -> bool {
        matches!(self, Status::Lost | Status::Accepted | Status::Expired)
    }
}

/// The network's decision, as a file or ops record it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Won,
    Lost,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Won => "won",
            Outcome::Lost => "lost",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        [Outcome::Won, Outcome::Lost].into_iter().find(|o| o.as_str() == text)
    }

    pub fn status(self) -> Status {
        match self {
            Outcome::Won => Status::Won,
            Outcome::Lost => Status::Lost,
        }
    }
}

/// What a network row says: a stage was raised, or the current stage was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Step {
    Stage(Stage),
    Outcome(Outcome),
}

/// A fact from the network (a dispute file's row, or ops passing one on): the dispute's stage
/// and status are derived from all of them in their own order, not in the order they came
/// (`crate::network`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkRow {
    pub step: Step,
    /// The raise date of the stage the row raises or decides.
    #[serde(with = "iso_date")]
    pub raised_on: Date,
    /// Unix seconds, when the row gives the deadline.
    pub respond_by: Option<i64>,
}

/// The disputed transaction as the PG export showed it when the dispute was opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Txn {
    pub txn_id: String,
    pub merchant_id: String,
    pub merchant_ref: String,
    pub method: String,
    pub amount_paise: i64,
    /// The PG's UTR / RRN.
    pub rrn: Option<String>,
    /// Unix seconds.
    pub captured_at: i64,
    /// The IST capture day.
    #[serde(with = "iso_date")]
    pub capture_day: Date,
}

/// A document the merchant uploads for its response; a draft until a response submits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub evidence_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    /// Where the upload goes (the artifacts bucket).
    pub key: String,
    pub stage: Stage,
    pub submitted: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Accept,
    Contest,
}

/// The merchant's response at one stage (at most one a stage).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub stage: Stage,
    pub answer: Answer,
    pub evidence_ids: Vec<String>,
    pub note: String,
    pub idempotency_key: String,
    pub by: String,
    pub at: i64,
}

/// One step of a dispute's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub at: i64,
    /// `opened`, `escalated`, `responded`, `won`, `lost`, `expired`, `reminded`, `evidence`,
    /// `representment`.
    pub kind: String,
    pub stage: Stage,
    pub status: Status,
    /// A file (`incoming/disputes/…` and line), a user id, or a function.
    pub by: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dispute {
    /// The acquirer's or NPCI's reference (unique across sources), or one ops chose.
    pub dispute_id: String,
    pub network: Network,
    /// The folder its first file came from, or `ops`.
    pub source: String,
    pub merchant_id: String,
    pub txn: Txn,
    pub amount_paise: i64,
    pub reason_code: String,
    pub reason: String,
    pub stage: Stage,
    pub status: Status,
    #[serde(with = "iso_date")]
    pub raised_on: Date,
    /// Unix seconds: the last moment a response is on time.
    pub respond_by: i64,
    /// `chargeback_debit` adjustments made (a re-dispute after a win debits again).
    #[serde(default)]
    pub debits: u32,
    /// `chargeback_reversal` adjustments made. The merchant is debited now when
    /// `debits > reversals`; the two never differ by more than one.
    #[serde(default)]
    pub reversals: u32,
    /// Moves by one with every stored change (the store's optimistic lock).
    pub version: u64,
    pub evidence: Vec<Evidence>,
    pub responses: Vec<Response>,
    /// The stage whose due-soon reminder was recorded.
    pub reminded: Option<Stage>,
    /// Every distinct fact the network sent, in arrival order.
    #[serde(default)]
    pub rows: Vec<NetworkRow>,
    /// Stages whose deadline passed with no response (`expire-disputes`).
    #[serde(default)]
    pub expired: Vec<Stage>,
    /// The adjustments made, as the store recorded them (the day each took effect).
    #[serde(default)]
    pub adjustments: Vec<AdjustmentMade>,
    pub history: Vec<Event>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Dispute {
    pub fn response_at(&self, stage: Stage) -> Option<&Response> {
        self.responses.iter().find(|r| r.stage == stage)
    }

    /// Whether the merchant is debited for it now.
    pub fn is_debited(&self) -> bool {
        self.debits > self.reversals
    }

    /// The `respond_by` instant as RFC 3339 UTC: lexical order is time order (index sort keys).
    pub fn due(&self) -> String {
        format_utc(self.respond_by)
    }
}

/// An adjustment a dispute made, and the IST day it took effect for settlement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdjustmentMade {
    pub adjustment_id: String,
    /// Signed: debits negative.
    pub amount_paise: i64,
    #[serde(with = "iso_date")]
    pub effective_on: Date,
}

/// The settlement adjustments a dispute makes, each exactly once, by a fixed id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Money {
    /// `chargeback_debit` of the amount (negative in the merchant's batch).
    Debit { adjustment_id: String, amount_paise: i64 },
    /// `chargeback_reversal`: the debit given back.
    Reversal { adjustment_id: String, amount_paise: i64 },
}

/// The `n`th debit's adjustment id (`{id}-debit`, then `{id}-debit-2`, …).
pub fn debit_id(dispute_id: &str, n: u32) -> String {
    if n <= 1 {
        format!("{dispute_id}-debit")
    } else {
        format!("{dispute_id}-debit-{n}")
    }
}

/// The `n`th reversal's adjustment id.
pub fn reversal_id(dispute_id: &str, n: u32) -> String {
    if n <= 1 {
        format!("{dispute_id}-reversal")
    } else {
        format!("{dispute_id}-reversal-{n}")
    }
}

/// Dispute ids: 1–48 letters, digits or `-_.:` (with the adjustment suffixes, within the
/// settlement engine's 64).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 48 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// Dates as `YYYY-MM-DD` in the stored document and the API.
mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use settlepaisa_recon::date::Date;

    pub fn serialize<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse_iso(&text).ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not YYYY-MM-DD")))
    }
}
