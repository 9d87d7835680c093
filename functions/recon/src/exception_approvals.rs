//! Requests waiting on a page of exceptions (issue 15 §2: a parked resolution is visible on its
//! target). One BatchGetItem of the approvals table's pending markers per page.

use serde_json::Value;
use settlepaisa_http::ApiError;

/// Sets each open exception's `pendingApproval` (the request waiting for a checker, or null);
/// resolved exceptions carry none.
pub async fn add_pending(ctx: &settlepaisa_store::Context, views: &mut [Value]) -> Result<(), ApiError> {
    let open: Vec<String> =
        views.iter().filter(|v| v["status"] == "OPEN").filter_map(|v| v["id"].as_str().map(str::to_string)).collect();
    let pending = if open.is_empty() {
        Default::default()
    } else {
        settlepaisa_store::approvals::pending_on_each(
            &ctx.clients.dynamodb,
            &ctx.resources.approvals_table,
            "exception",
            &open,
        )
        .await
        .map_err(ApiError::store)?
    };
    for v in views {
        let id = v["id"].as_str().unwrap_or_default();
        v["pendingApproval"] = pending.get(id).cloned().unwrap_or(Value::Null);
    }
    Ok(())
}
