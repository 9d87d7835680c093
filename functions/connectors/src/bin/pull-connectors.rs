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
        pull::handle(ctx, event.payload).await.map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
