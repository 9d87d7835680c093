//! Whose disputes a caller sees: staff every merchant's, a merchant user its own only. Another
//! merchant's dispute answers exactly as a missing one does, so its existence is not learned.

use crate::error::DisputeError;
use settlepaisa_dispute::model::Dispute;
use settlepaisa_http::{input::identifier, ApiError, Caller};
use settlepaisa_store::{disputes, Context};

pub fn visible(caller: &Caller, d: &Dispute) -> bool {
    caller.merchant_id.as_deref().is_none_or(|own| own == d.merchant_id)
}

/// The dispute `id` if the caller may see it.
pub async fn load(ctx: &Context, caller: &Caller, id: &str) -> Result<Dispute, ApiError> {
    identifier("dispute id", id)?;
    let found = disputes::get(&ctx.clients.dynamodb, &ctx.resources.disputes_table, id).await?;
    match found {
        Some(d) if visible(caller, &d) => Ok(d),
        _ => Err(DisputeError::NotFound(id.to_string()).into()),
    }
}
