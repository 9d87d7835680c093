//! Lambda entry point of `pull-connectors` (EventBridge Scheduler every 15 minutes; ops invoke
//! it with `{"connector": "HDFC"}` to run one now).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_connectors::pull;
use settlepaisa_store::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    settlepaisa_aws::logs::init(false);
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        // Lambda's deadline (epoch ms) as an instant of this clock.
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let left = event.context.deadline.saturating_sub(now_ms);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(left);
        pull::handle(ctx, event.payload, Some(deadline)).await.map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
