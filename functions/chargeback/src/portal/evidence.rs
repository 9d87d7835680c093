//! `POST /merchant/disputes/{id}/evidence`: a document for the current stage's response. The
//! answer is a presigned S3 PUT (15 minutes; the content type and length signed) to the
//! artifacts bucket; the document is recorded on the dispute as a draft until a response
//! submits it, which checks that it arrived, its size, and that its bytes are the type declared.

use crate::change::{change, now, Changed};
use crate::{access, views, AppState};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use settlepaisa_dispute::lifecycle::{apply, Action, Context as Rules};
use settlepaisa_dispute::model::Evidence;
use settlepaisa_http::input::Body;
use settlepaisa_http::{Acting, ApiError};
use settlepaisa_recon::date::format_ist;

/// The largest document: 5 MiB, what acquirers accept per representment document.
pub const MAX_BYTES: u64 = 5 << 20;
const UPLOAD_SECONDS: u64 = 900;

/// The types accepted, their file extensions, and the bytes their files start with.
pub const TYPES: [(&str, &[&str], &[u8]); 3] = [
    ("application/pdf", &["pdf"], b"%PDF-"),
    ("image/jpeg", &["jpg", "jpeg"], &[0xFF, 0xD8, 0xFF]),
    ("image/png", &["png"], &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]),
];

/// Whether `head` (a document's first bytes) is a file of `content_type`.
pub fn looks_like(content_type: &str, head: &[u8]) -> bool {
    TYPES.iter().any(|(t, _, magic)| *t == content_type && head.starts_with(magic))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EvidenceBody {
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
}

fn validated(b: &EvidenceBody) -> Result<(), ApiError> {
    let Some((_, extensions, _)) = TYPES.iter().find(|(t, _, _)| *t == b.content_type) else {
        return Err(ApiError::bad_request("contentType must be application/pdf, image/jpeg or image/png"));
    };
    let name_ok = (1..=100).contains(&b.file_name.len())
        && b.file_name.bytes().all(|c| c.is_ascii_alphanumeric() || b"._- ".contains(&c))
        && !b.file_name.starts_with('.');
    if !name_ok {
        return Err(ApiError::bad_request("fileName must be 1–100 letters, digits, spaces or ._-"));
    }
    let ext = b.file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if !extensions.contains(&ext.as_str()) {
        return Err(ApiError::bad_request(format!(
            "a {} file's name ends in .{}",
            b.content_type,
            extensions.join(" or .")
        )));
    }
    if b.size_bytes == 0 || b.size_bytes > MAX_BYTES {
        return Err(ApiError::bad_request(format!("sizeBytes must be 1 to {MAX_BYTES} (5 MiB)")));
    }
    Ok(())
}

/// `POST /merchant/disputes/{id}/evidence`
pub async fn add_dispute_evidence(
    State(state): State<AppState>,
    acting: Acting,
    Path(id): Path<String>,
    Body(body): Body<EvidenceBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let caller = &acting.caller;
    let ctx = state.ctx;
    access::load(ctx, caller, &id).await?;
    validated(&body)?;
    let at = now();
    let evidence_id = format!("EV-{:016x}", fastrand::u64(..));
    let key = format!("evidence/{id}/{evidence_id}");
    let evidence = Evidence {
        evidence_id: evidence_id.clone(),
        file_name: body.file_name.clone(),
        content_type: body.content_type.clone(),
        size_bytes: body.size_bytes,
        key: key.clone(),
        stage: settlepaisa_dispute::model::Stage::Retrieval,
        submitted: false,
        created_at: at,
    };
    let changed = change(ctx, &id, acting.draft("dispute.evidence", ("dispute", &id)), |current| {
        let Some(d) = current else { return Err(format!("dispute {id} not found")) };
        let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now: at, by: &caller.user_id };
        apply(d, &Action::AddEvidence(evidence.clone()), &cx)
    })
    .await?;
    let Changed::Written(d) = changed else { return Err(ApiError::conflict("the evidence was recorded already")) };
    let url = settlepaisa_aws::s3::presigned_put(
        &ctx.clients.s3,
        &ctx.resources.artifacts_bucket,
        &key,
        &body.content_type,
        body.size_bytes,
        std::time::Duration::from_secs(UPLOAD_SECONDS),
    )
    .await
    .map_err(ApiError::store)?;
    let recorded = d.evidence.iter().find(|e| e.evidence_id == evidence_id).map(views::evidence);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "evidence": recorded,
            "upload": {
                "method": "PUT",
                "url": url,
                "headers": { "Content-Type": body.content_type, "Content-Length": body.size_bytes.to_string() },
                "expiresAt": format_ist(at + UPLOAD_SECONDS as i64),
            },
        })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_the_type_its_first_bytes_say() {
        assert!(looks_like("application/pdf", b"%PDF-1.7\n"));
        assert!(looks_like("image/png", &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]));
        assert!(!looks_like("image/png", b"%PDF-1.7"));
        assert!(!looks_like("text/html", b"<html>"));
    }

    #[test]
    fn names_types_and_sizes_are_checked() {
        let body =
            |n: &str, t: &str, s: u64| EvidenceBody { file_name: n.into(), content_type: t.into(), size_bytes: s };
        assert!(validated(&body("invoice.pdf", "application/pdf", 1000)).is_ok());
        assert!(validated(&body("photo.JPG", "image/jpeg", 1000)).is_ok());
        assert!(validated(&body("invoice.pdf", "image/png", 1000)).is_err());
        assert!(validated(&body("../x.pdf", "application/pdf", 1000)).is_err());
        assert!(validated(&body("x.pdf", "application/pdf", MAX_BYTES + 1)).is_err());
        assert!(validated(&body("x.exe", "application/x-msdownload", 10)).is_err());
    }
}
