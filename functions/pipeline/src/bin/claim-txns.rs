//! Lambda entry point of `claim-txns` (SQS FIFO: one claim group of a PG export per message).

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_pipeline::{claims, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let ctx = runtime::context_or_exit().await;
    run(service_fn(
        |event: LambdaEvent<SqsEvent>| async move { Ok::<_, Error>(claims::handle(ctx, event.payload).await) },
    ))
    .await
}
