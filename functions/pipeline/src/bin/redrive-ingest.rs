//! Lambda entry point of `redrive-ingest` (invoked by ops with `{}` or `{"max_messages": N}`).

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_pipeline::redrive::{self, RedriveRequest};
use settlepaisa_pipeline::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<RedriveRequest>| async move {
        redrive::handle(ctx, event.payload).await.map_err(Error::from)
    }))
    .await
}
