//! Lambda entry point of `expire-disputes` (EventBridge schedule, or ops with `{"time": …}`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_chargeback::expire;
use settlepaisa_store::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    settlepaisa_aws::logs::init(false);
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        let summary = expire::handle(ctx, event.payload).await?;
        Ok::<_, Error>(serde_json::to_value(summary)?)
    }))
    .await
}
