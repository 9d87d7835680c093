//! Who is making a state-changing request, for its audit entry: the caller the authorizer vouched
//! for, the request's id and when it arrived. An extractor, so a handler that changes state takes
//! one argument and every entry it drafts names the same person and request.

use crate::edge::RequestId;
use crate::error::ApiError;
use crate::Caller;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use settlepaisa_audit::{Actor, Draft};

#[derive(Clone, Debug)]
pub struct Acting {
    pub caller: Caller,
    pub request_id: String,
    /// When the request arrived, RFC 3339 UTC.
    pub at: String,
}

impl Acting {
    pub fn actor(&self) -> Actor {
        Actor::User {
            user_id: self.caller.user_id.clone(),
            role: self.caller.role.as_str().to_string(),
            merchant_id: self.caller.merchant_id.clone(),
        }
    }

    /// An entry of `action` on `target` (type, id) by this caller in this request.
    pub fn draft(&self, action: &str, target: (&str, &str)) -> Draft {
        Draft::new(self.at.clone(), self.actor(), action, target, self.request_id.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Acting, ApiError> {
        let caller = parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a state-changing route was served without a caller"))?;
        let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        Ok(Acting { caller, request_id, at: settlepaisa_store::audit::now_rfc3339() })
    }
}
