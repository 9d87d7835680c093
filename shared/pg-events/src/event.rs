//! A PG webhook event: `{"id", "type", "created_at", "data"}`, read and checked before anything is
//! recorded. Payment events carry the PG export's fields, refund events the refunds file's; money
//! is a JSON integer of paise (a fraction or a string is refused, never rounded).

use crate::instant::Instant;
use serde::{Deserialize, Serialize};
use settlepaisa_recon::date::ist_date;
use settlepaisa_recon::money::Paise;
use settlepaisa_recon::pg_file::Method;
use settlepaisa_recon::utr::find_utr;

/// Bodies larger than this are refused (an event is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    #[serde(rename = "payment.captured")]
    PaymentCaptured,
    #[serde(rename = "payment.failed")]
    PaymentFailed,
    #[serde(rename = "refund.processed")]
    RefundProcessed,
    #[serde(rename = "refund.failed")]
    RefundFailed,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::PaymentCaptured, Kind::PaymentFailed, Kind::RefundProcessed, Kind::RefundFailed];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::PaymentCaptured => "payment.captured",
            Kind::PaymentFailed => "payment.failed",
            Kind::RefundProcessed => "refund.processed",
            Kind::RefundFailed => "refund.failed",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A payment event's `data`: one row of the PG export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub txn_id: String,
    pub merchant_id: String,
    #[serde(default)]
    pub merchant_ref: String,
    pub method: Method,
    pub amount_paise: i64,
    pub status: String,
    #[serde(default)]
    pub utr: Option<String>,
    pub captured_at: String,
}

impl Payment {
    /// Seconds since the epoch (checked when the event was read).
    pub fn captured_secs(&self) -> i64 {
        settlepaisa_recon::date::parse_rfc3339(&self.captured_at).unwrap_or(0)
    }

    /// The IST capture date: the day whose transactions this one is listed and settled with.
    pub fn capture_day(&self) -> settlepaisa_recon::date::Date {
        ist_date(self.captured_secs())
    }

    pub fn is_captured(&self) -> bool {
        self.status == settlepaisa_recon::pg_file::CAPTURED
    }
}

/// A refund event's `data`: one row of the refunds file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub txn_id: String,
    pub amount_paise: i64,
    pub refunded_at: String,
}

impl Refund {
    pub fn refunded_on(&self) -> settlepaisa_recon::date::Date {
        ist_date(settlepaisa_recon::date::parse_rfc3339(&self.refunded_at).unwrap_or(0))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Data {
    Payment(Payment),
    Refund(Refund),
}

/// An event as read, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: Kind,
    pub created_at: String,
    pub created: Instant,
    pub data: Data,
}

impl Event {
    /// The transaction the event is about.
    pub fn txn_id(&self) -> &str {
        match &self.data {
            Data::Payment(p) => &p.txn_id,
            Data::Refund(r) => &r.txn_id,
        }
    }

    /// Where the event sorts among its transaction's: time, then id.
    pub fn order(&self) -> (Instant, &str) {
        (self.created, &self.id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created_at: String,
    data: serde_json::Value,
}

/// Reads a delivery's body. Unknown fields inside `data` are ignored (a PG adds fields); the
/// envelope's are not. The error says what to fix.
pub fn parse(body: &[u8]) -> Result<Event, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!("the body is over {} KiB", MAX_BODY_BYTES / 1024));
    }
    let env: Envelope = serde_json::from_slice(body).map_err(|e| format!("the body is not an event: {e}"))?;
    identifier("id", &env.id, 256)?;
    let kind = Kind::parse(&env.kind).ok_or_else(|| {
        format!("type `{}` is not payment.captured, payment.failed, refund.processed or refund.failed", env.kind)
    })?;
    let created = Instant::parse(&env.created_at)
        .ok_or_else(|| format!("created_at `{}` is not RFC 3339 with an offset", env.created_at))?;
    let data = match kind {
        Kind::PaymentCaptured | Kind::PaymentFailed => {
            let p: Payment = serde_json::from_value(env.data).map_err(|e| format!("data is not a payment: {e}"))?;
            check_payment(kind, &p)?;
            Data::Payment(p)
        }
        Kind::RefundProcessed | Kind::RefundFailed => {
            let r: Refund = serde_json::from_value(env.data).map_err(|e| format!("data is not a refund: {e}"))?;
            check_refund(&r)?;
            Data::Refund(r)
        }
    };
    Ok(Event { id: env.id, kind, created_at: env.created_at, created, data })
}

fn identifier(name: &str, v: &str, max: usize) -> Result<(), String> {
    if v.is_empty() || v.len() > max || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)) {
        return Err(format!("{name} `{v}` is not 1–{max} letters, digits or -_.:"));
    }
    Ok(())
}

fn amount(name: &str, v: i64) -> Result<(), String> {
    if v <= 0 || v > Paise::MAX_ROW.0 {
        return Err(format!("{name} {v} is not a positive whole number of paise up to ₹1,000 crore"));
    }
    Ok(())
}

fn check_payment(kind: Kind, p: &Payment) -> Result<(), String> {
    identifier("data.txn_id", &p.txn_id, 64)?;
    identifier("data.merchant_id", &p.merchant_id, 64)?;
    if p.merchant_ref.len() > 128 || p.merchant_ref.chars().any(char::is_control) {
        return Err("data.merchant_ref is over 128 characters or holds control characters".into());
    }
    amount("data.amount_paise", p.amount_paise)?;
    let want = if kind == Kind::PaymentCaptured { "captured" } else { "failed" };
    if p.status != want {
        return Err(format!("data.status `{}` does not agree with type {} (`{want}`)", p.status, kind.as_str()));
    }
    if let Some(utr) = p.utr.as_deref().filter(|u| !u.is_empty()) {
        if find_utr(utr).is_none() {
            return Err(format!("data.utr `{utr}` is not a UTR (a 12-digit RRN, NEFT 16 or RTGS 22 characters)"));
        }
    }
    if settlepaisa_recon::date::parse_rfc3339(&p.captured_at).is_none() {
        return Err(format!("data.captured_at `{}` is not RFC 3339 with an offset", p.captured_at));
    }
    Ok(())
}

fn check_refund(r: &Refund) -> Result<(), String> {
    identifier("data.refund_id", &r.refund_id, 64)?;
    identifier("data.txn_id", &r.txn_id, 64)?;
    amount("data.amount_paise", r.amount_paise)?;
    if settlepaisa_recon::date::parse_rfc3339(&r.refunded_at).is_none() {
        return Err(format!("data.refunded_at `{}` is not RFC 3339 with an offset", r.refunded_at));
    }
    Ok(())
}

/// An event's body as the PG sends it (the mock PG, tests).
pub fn body(id: &str, kind: Kind, created_at: &str, data: &Data) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "id": id, "type": kind.as_str(), "created_at": created_at, "data": data }))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment_json(amount: &str, status: &str) -> String {
        format!(
            r#"{{"id":"evt_1","type":"payment.captured","created_at":"2026-10-01T10:15:00.5+05:30","data":{{"txn_id":"T1","merchant_id":"MERCH001","merchant_ref":"ORD-1","method":"UPI","amount_paise":{amount},"status":"{status}","utr":"629412345678","captured_at":"2026-10-01T10:15:00+05:30","extra":"ignored"}}}}"#
        )
    }

    #[test]
    fn a_payment_event_reads_back_as_sent() {
        let e = parse(payment_json("85000", "captured").as_bytes()).unwrap();
        assert_eq!(e.kind, Kind::PaymentCaptured);
        assert_eq!(e.txn_id(), "T1");
        let Data::Payment(p) = &e.data else { panic!() };
        assert_eq!(p.amount_paise, 85_000);
        assert_eq!(p.capture_day().to_string(), "2026-10-01");
        let again = parse(&body(&e.id, e.kind, &e.created_at, &e.data)).unwrap();
        assert_eq!(again, e);
    }

    #[test]
    fn money_must_be_whole_paise_and_fields_must_agree() {
        for bad in ["850.5", "\"85000\"", "0", "-1", "100000000000001", "8.5e4"] {
            assert!(parse(payment_json(bad, "captured").as_bytes()).is_err(), "{bad}");
        }
        let e = parse(payment_json("85000", "failed").as_bytes()).unwrap_err();
        assert!(e.contains("does not agree"), "{e}");
    }

    #[test]
    fn refunds_and_bad_envelopes() {
        let ok = br#"{"id":"evt_2","type":"refund.processed","created_at":"2026-10-02T10:00:00Z","data":{"refund_id":"R1","txn_id":"T1","amount_paise":1000,"refunded_at":"2026-10-02T10:00:00Z"}}"#;
        let e = parse(ok).unwrap();
        assert!(
            matches!(&e.data, Data::Refund(r) if r.refund_id == "R1" && r.refunded_on().to_string() == "2026-10-02")
        );
        for (bad, says) in [
            (r#"{"id":"e","type":"payment.refunded","created_at":"2026-10-02T10:00:00Z","data":{}}"#, "type"),
            (r#"{"id":"e","type":"refund.failed","created_at":"yesterday","data":{}}"#, "created_at"),
            (r#"{"id":"e e","type":"refund.failed","created_at":"2026-10-02T10:00:00Z","data":{}}"#, "id"),
            (
                r#"{"id":"e","type":"refund.failed","created_at":"2026-10-02T10:00:00Z","data":{"txn_id":"T1"}}"#,
                "refund",
            ),
            (
                r#"{"id":"e","type":"refund.failed","created_at":"2026-10-02T10:00:00Z","data":{},"x":1}"#,
                "unknown field",
            ),
            ("[1,2]", "not an event"),
        ] {
            let err = parse(bad.as_bytes()).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert!(parse(&vec![b' '; MAX_BODY_BYTES + 1]).unwrap_err().contains("KiB"));
    }
}
