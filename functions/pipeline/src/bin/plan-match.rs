//! Lambda entry point of `plan-match` (invoked with a plan request: job id, date range, shards).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_pipeline::plan::{self, PlanRequest};
use settlepaisa_pipeline::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<PlanRequest>| async move {
        plan::handle(ctx, event.payload).await.map_err(Error::from)
    }))
    .await
}
