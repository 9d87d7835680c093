//! Lambda entry point of `settle-cycle` (EventBridge schedule, or ops with `{"cycleDate": …}`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_settlement::cycle_run;
use settlepaisa_store::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    settlepaisa_aws::logs::init(false);
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        // Boxed: the run's future nests deep enough to pass the compiler's layout depth inline.
        let summary = Box::pin(cycle_run::handle(ctx, event.payload)).await?;
        Ok::<_, Error>(serde_json::to_value(summary)?)
    }))
    .await
}
