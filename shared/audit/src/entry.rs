//! One audit entry: who (a person through the API, or a function deciding on its own), what
//! (an action on a target), when (the event's time and the time it was recorded), with what
//! outcome and why, and what changed (before and after).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Actor {
    /// A person, as the authorizer vouched for them.
    #[serde(rename_all = "camelCase")]
    User {
        user_id: String,
        role: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        merchant_id: Option<String>,
    },
    /// A function deciding on its own (a pipeline stage, a scheduled job, a queue worker).
    Function { function: String },
}

impl Actor {
    /// The name the audit API filters on: the user's id or the function's name.
    pub fn name(&self) -> &str {
        match self {
            Actor::User { user_id, .. } => user_id,
            Actor::Function { function } => function,
        }
    }
}

/// How the action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made.
    Applied,
    /// The change waits for a second person (maker-checker).
    PendingApproval,
    /// A checker approved a parked change (its application is its own entry).
    Approved,
    /// A checker rejected a parked change: nothing was applied.
    Rejected,
    /// An automatic step ended in failure that is itself a state (a payout the bank failed, a
    /// connector run that failed).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::PendingApproval => "pending_approval",
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Outcome> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

/// An entry before it is placed on a chain: everything the acting code knows.
#[derive(Clone, Debug, PartialEq)]
pub struct Draft {
    /// When it happened (the request's arrival, the event's time), RFC 3339 UTC.
    pub event_time: String,
    pub actor: Actor,
    /// What was done, `noun.verb` (`exception.resolve`, `merchant.update`, `settlement.batch`).
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    /// The API request's id, or the invocation's.
    pub request_id: String,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub before: Value,
    pub after: Value,
}

impl Draft {
    pub fn new(
        event_time: impl Into<String>,
        actor: Actor,
        action: impl Into<String>,
        target: (&str, &str),
        request_id: impl Into<String>,
    ) -> Draft {
        Draft {
            event_time: event_time.into(),
            actor,
            action: action.into(),
            target_type: target.0.to_string(),
            target_id: target.1.to_string(),
            request_id: request_id.into(),
            outcome: Outcome::Applied,
            reason: None,
            before: Value::Null,
            after: Value::Null,
        }
    }

    pub fn outcome(mut self, outcome: Outcome) -> Draft {
        self.outcome = outcome;
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Draft {
        self.reason = Some(reason.into());
        self
    }

    /// What changed. A side larger than [`MAX_SIDE_BYTES`] is kept as its size and SHA-256 (an
    /// entry must fit its item with the change it records).
    pub fn change(mut self, before: Value, after: Value) -> Draft {
        self.before = bounded(before);
        self.after = bounded(after);
        self
    }
}

/// The largest `before` or `after` kept whole, in canonical bytes.
pub const MAX_SIDE_BYTES: usize = 32 * 1024;

fn bounded(v: Value) -> Value {
    let text = crate::canonical::encode(&v);
    if text.len() <= MAX_SIDE_BYTES {
        return v;
    }
    use sha2::Digest;
    json!({ "omitted": "larger than 32 KB", "bytes": text.len(), "sha256": hex::encode(sha2::Sha256::digest(text.as_bytes())) })
}

/// An entry on its chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The chain: the UTC day it was recorded on (`2026-11-30`).
    pub chain: String,
    /// 1, 2, 3, … on its chain, without gaps.
    pub seq: u64,
    pub record_time: String,
    pub draft: Draft,
    pub prev_hash: String,
    /// SHA-256 (hex) of the canonical encoding of [`Entry::hashed`].
    pub hash: String,
}

impl Entry {
    /// Everything the hash covers: the whole entry but the hash itself.
    pub fn hashed(&self) -> Value {
        let d = &self.draft;
        json!({
            "chain": self.chain,
            "seq": self.seq,
            "eventTime": d.event_time,
            "recordTime": self.record_time,
            "actor": d.actor,
            "action": d.action,
            "target": { "type": d.target_type, "id": d.target_id },
            "requestId": d.request_id,
            "outcome": d.outcome.as_str(),
            "reason": d.reason,
            "before": d.before,
            "after": d.after,
            "prevHash": self.prev_hash,
        })
    }

    /// The entry as the API shows it.
    pub fn view(&self) -> Value {
        let mut v = self.hashed();
        v["hash"] = json!(self.hash);
        v
    }
}
