//! Disputes as the APIs show them: amounts in paise, instants in IST RFC 3339.

use serde_json::{json, Value};
use settlepaisa_dispute::model::{Dispute, Evidence};
use settlepaisa_recon::date::format_ist;

pub fn evidence(e: &Evidence) -> Value {
    json!({
        "evidenceId": e.evidence_id,
        "fileName": e.file_name,
        "contentType": e.content_type,
        "sizeBytes": e.size_bytes,
        "stage": e.stage.as_str(),
        "submitted": e.submitted,
        "createdAt": format_ist(e.created_at),
    })
}

/// A list's row.
pub fn summary(d: &Dispute) -> Value {
    json!({
        "disputeId": d.dispute_id,
        "network": d.network.as_str(),
        "merchantId": d.merchant_id,
        "txnId": d.txn.txn_id,
        "amountPaise": d.amount_paise,
        "reasonCode": d.reason_code,
        "reason": d.reason,
        "stage": d.stage.as_str(),
        "status": d.status.as_str(),
        "raisedOn": d.raised_on.to_string(),
        "respondBy": format_ist(d.respond_by),
        "updatedAt": format_ist(d.updated_at),
    })
}

/// The merchant user a view is for (`None`: staff see everything).
pub fn viewer(caller: &settlepaisa_http::Caller) -> Option<&str> {
    caller.is_merchant().then_some(caller.user_id.as_str())
}

/// Who did something, as a merchant user may see it: itself, the network (a file), or
/// SettlePaisa — never the acquirer's file names or staff user ids.
fn who(by: &str, merchant_user: Option<&str>) -> String {
    match merchant_user {
        None => by.to_string(),
        Some(me) if me == by => "you".into(),
        Some(_) if by.starts_with("incoming/") => "network".into(),
        Some(_) => "SettlePaisa".into(),
    }
}

/// The whole dispute: its transaction, deadlines, money, evidence, responses and history. A
/// merchant user (`merchant_user`: its user id) sees who did what only as [`who`] says.
pub fn detail(d: &Dispute, settlement: Value, merchant_user: Option<&str>) -> Value {
    let mut v = summary(d);
    let t = &d.txn;
    let extra = json!({
        "source": d.source,
        "transaction": {
            "txnId": t.txn_id,
            "merchantRef": t.merchant_ref,
            "method": t.method,
            "amountPaise": t.amount_paise,
            "rrn": t.rrn,
            "capturedAt": format_ist(t.captured_at),
            "captureDay": t.capture_day.to_string(),
        },
        "settlement": settlement,
        "money": {
            "debitedPaise": i64::from(d.debits) * d.amount_paise,
            "reversedPaise": i64::from(d.reversals) * d.amount_paise,
            "netDebitedPaise": if d.is_debited() { d.amount_paise } else { 0 },
        },
        "evidence": d.evidence.iter().map(evidence).collect::<Vec<_>>(),
        "responses": d.responses.iter().map(|r| json!({
            "stage": r.stage.as_str(),
            "answer": r.answer,
            "evidenceIds": r.evidence_ids,
            "note": r.note,
            "by": who(&r.by, merchant_user),
            "at": format_ist(r.at),
        })).collect::<Vec<_>>(),
        "history": d.history.iter().map(|e| json!({
            "at": format_ist(e.at),
            "event": e.kind,
            "stage": e.stage.as_str(),
            "status": e.status.as_str(),
            "by": who(&e.by, merchant_user),
            "detail": e.detail,
        })).collect::<Vec<_>>(),
        "createdAt": format_ist(d.created_at),
    });
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}
