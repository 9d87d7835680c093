//! The bank's answer to a payout file (`incoming/payout-responses/{bank}/`:
//! `reference,status,utr,reason,processed_at`) and what each line does to its batch.
//!
//! A batch goes `PENDING_PAYOUT` (made by a run) → `SENT_TO_BANK` (in a payout file) →
//! `CREDITED` (the bank's `SUCCESS`, with the payout UTR) or `FAILED` (`RETURNED` or `REJECTED`,
//! with the reason; its lines are eligible again). A credit the bank later returns fails too.
//! Re-delivered files and lines older than what was applied change nothing: the decision depends
//! only on the batch's status and the time of the last response applied to it.

use crate::files::{id, rows};
use crate::merchant::BadRow;
use settlepaisa_recon::date::parse_rfc3339;

pub const RESPONSES_HEADER: &str = "reference,status,utr,reason,processed_at";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BatchStatus {
    PendingPayout,
    SentToBank,
    Credited,
    Failed,
}

impl BatchStatus {
    pub const ALL: [BatchStatus; 4] =
        [BatchStatus::PendingPayout, BatchStatus::SentToBank, BatchStatus::Credited, BatchStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::PendingPayout => "PENDING_PAYOUT",
            BatchStatus::SentToBank => "SENT_TO_BANK",
            BatchStatus::Credited => "CREDITED",
            BatchStatus::Failed => "FAILED",
        }
    }

    pub fn parse(text: &str) -> Option<BatchStatus> {
        BatchStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The funnel stage of the batch's transactions (`in_settlement`, `sent_to_bank`,
    /// `credited`); a failed batch's are back to captured.
    pub fn stage(self) -> Option<&'static str> {
        match self {
            BatchStatus::PendingPayout => Some("in_settlement"),
            BatchStatus::SentToBank => Some("sent_to_bank"),
            BatchStatus::Credited => Some("credited"),
            BatchStatus::Failed => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseStatus {
    Success,
    Returned,
    Rejected,
}

impl ResponseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseStatus::Success => "SUCCESS",
            ResponseStatus::Returned => "RETURNED",
            ResponseStatus::Rejected => "REJECTED",
        }
    }
}

/// One line of a response file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayoutResponse {
    /// The settlement id the payout file gave as reference.
    pub reference: String,
    pub status: ResponseStatus,
    pub utr: Option<String>,
    pub reason: Option<String>,
    /// Unix seconds.
    pub processed_at: i64,
}

/// Every line, or every bad line (none applied): a `SUCCESS` needs its UTR, a return or
/// rejection its reason; a reference with one status twice is refused.
pub fn parse_responses(text: &str) -> Result<Vec<PayoutResponse>, Vec<BadRow>> {
    rows(text, RESPONSES_HEADER, 5, |f| {
        let reference = id("reference", f[0])?;
        let status = match f[1] {
            "SUCCESS" => ResponseStatus::Success,
            "RETURNED" => ResponseStatus::Returned,
            "REJECTED" => ResponseStatus::Rejected,
            other => return Err(format!("status `{other}` is not SUCCESS, RETURNED or REJECTED")),
        };
        let utr = Some(f[2].trim()).filter(|u| !u.is_empty()).map(str::to_string);
        let reason = Some(f[3].trim()).filter(|r| !r.is_empty()).map(str::to_string);
        if status == ResponseStatus::Success && utr.is_none() {
            return Err("a SUCCESS needs the payout's utr".into());
        }
        if status != ResponseStatus::Success && reason.is_none() {
            return Err(format!("a {} needs its reason", status.as_str()));
        }
        if utr.as_ref().is_some_and(|u| u.len() > 35 || !u.bytes().all(|b| b.is_ascii_alphanumeric())) {
            return Err(format!("utr `{}` is not 1–35 letters and digits", f[2]));
        }
        let processed_at =
            parse_rfc3339(f[4]).ok_or_else(|| format!("processed_at `{}` is not an RFC 3339 time", f[4]))?;
        let key = format!("{reference}#{}", status.as_str());
        Ok((key, PayoutResponse { reference, status, utr, reason, processed_at }))
    })
}

/// What a response line does to a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Credit {
        utr: String,
    },
    Fail {
        reason: String,
    },
    /// Nothing changes, and why (shown to ops in the file's outcome).
    Unchanged(String),
    /// Nothing changes, but the bank contradicts what the batch went through: ops must look
    /// (an alarm, not a note).
    Conflict(String),
}

/// The batch's next state given its status, whether it went into a payout file, and the time of
/// the last response applied to it. A line older than that one changes nothing; one as old is
/// still read (a bank that stamps dates only gives a credit and its return the same time).
pub fn decide(status: BatchStatus, in_a_file: bool, last_applied: Option<i64>, r: &PayoutResponse) -> Decision {
    if last_applied.is_some_and(|t| r.processed_at < t) {
        return Decision::Unchanged("older than the response already applied".into());
    }
    if !in_a_file {
        return Decision::Conflict("the batch is in no payout file: the bank cannot have paid it".into());
    }
    let reason = || r.reason.clone().unwrap_or_default();
    match (status, r.status) {
        // The credit a return at the same time (or later) undid: read again, nothing new.
        (BatchStatus::Failed, ResponseStatus::Success) if last_applied.is_some_and(|t| r.processed_at <= t) => {
            Decision::Unchanged("the credit a later return undid".into())
        }
        (BatchStatus::Failed, ResponseStatus::Success) => Decision::Conflict(
            "the bank reports a credit for a batch that failed, whose lines are back in the pool: a second payout may follow"
                .into(),
        ),
        (BatchStatus::Failed, _) => {
            Decision::Unchanged("the batch failed already; its lines are back in the pool".into())
        }
        (BatchStatus::PendingPayout | BatchStatus::SentToBank, ResponseStatus::Success) => {
            Decision::Credit { utr: r.utr.clone().unwrap_or_default() }
        }
        (BatchStatus::PendingPayout | BatchStatus::SentToBank, _) => Decision::Fail { reason: reason() },
        (BatchStatus::Credited, ResponseStatus::Returned) => Decision::Fail { reason: reason() },
        (BatchStatus::Credited, ResponseStatus::Success) => Decision::Unchanged("credited already".into()),
        (BatchStatus::Credited, ResponseStatus::Rejected) => {
            Decision::Conflict("a rejection after the credit contradicts it: ops to check with the bank".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: ResponseStatus, at: i64) -> PayoutResponse {
        PayoutResponse {
            reference: "STL-M1-20261012".into(),
            status,
            utr: (status == ResponseStatus::Success).then(|| "UTR1".into()),
            reason: (status != ResponseStatus::Success).then(|| "account closed".into()),
            processed_at: at,
        }
    }

    #[test]
    fn responses_read_and_bad_lines_are_named() {
        let ok = parse_responses(&format!(
            "{RESPONSES_HEADER}\nSTL-M1-20261012,SUCCESS,HDFCN1,,2026-10-12T10:00:00Z\nSTL-M2-20261012,RETURNED,,account closed,2026-10-12T10:00:00+05:30\n"
        ))
        .unwrap();
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].reason.as_deref(), Some("account closed"));
        let bad = parse_responses(&format!(
            "{RESPONSES_HEADER}\nSTL-1,SUCCESS,,,2026-10-12T10:00:00Z\nSTL-2,RETURNED,,,2026-10-12T10:00:00Z\nSTL-3,PAID,U,,2026-10-12T10:00:00Z\nSTL-4,SUCCESS,U1,,noon\n"
        ))
        .unwrap_err();
        assert_eq!(bad.iter().map(|b| b.line).collect::<Vec<_>>(), [2, 3, 4, 5]);
    }

    #[test]
    fn a_success_credits_a_return_fails_and_nothing_applies_twice() {
        use BatchStatus::*;
        use ResponseStatus::*;
        let sent = true;
        assert_eq!(decide(SentToBank, sent, None, &resp(Success, 10)), Decision::Credit { utr: "UTR1".into() });
        assert_eq!(
            decide(SentToBank, sent, None, &resp(Rejected, 10)),
            Decision::Fail { reason: "account closed".into() }
        );
        // The same file again: the batch is credited and that response applied.
        assert!(matches!(decide(Credited, sent, Some(10), &resp(Success, 10)), Decision::Unchanged(_)));
        // A return after the credit fails it, even stamped the same time; an older one does not.
        assert!(matches!(decide(Credited, sent, Some(10), &resp(Returned, 20)), Decision::Fail { .. }));
        assert!(matches!(decide(Credited, sent, Some(10), &resp(Returned, 10)), Decision::Fail { .. }));
        assert!(matches!(decide(Credited, sent, Some(10), &resp(Returned, 5)), Decision::Unchanged(_)));
        // A failed batch's lines are back in the pool: a late success is an alarm, a late
        // return nothing.
        assert!(matches!(decide(Failed, sent, Some(10), &resp(Success, 30)), Decision::Conflict(_)));
        assert!(matches!(decide(Failed, sent, Some(10), &resp(Success, 10)), Decision::Unchanged(_)), "re-read");
        assert!(matches!(decide(Failed, sent, Some(10), &resp(Returned, 30)), Decision::Unchanged(_)));
        assert!(matches!(decide(Credited, sent, Some(10), &resp(Rejected, 30)), Decision::Conflict(_)));
        // A batch in no payout file cannot have been paid.
        assert!(matches!(decide(PendingPayout, false, None, &resp(Success, 10)), Decision::Conflict(_)));
    }
}
