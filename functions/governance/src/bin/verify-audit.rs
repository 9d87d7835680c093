//! Lambda entry point of `verify-audit` (EventBridge Scheduler daily; ops invoke it with
//! `{"day": "2026-11-30"}` or `{"from": "…", "to": "…"}`). Fails when a chain is broken, so the
//! function's error alarm pages someone.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_store::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    settlepaisa_aws::logs::init(false);
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        settlepaisa_governance::verify::handle(ctx, event.payload).await.map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
