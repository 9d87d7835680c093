//! Lambda entry point of `ingest-chunk` (SQS: one part of a large PG export per message).

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_pipeline::{chunks, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let ctx = runtime::context_or_exit().await;
    run(service_fn(
        |event: LambdaEvent<SqsEvent>| async move { Ok::<_, Error>(chunks::handle(ctx, event.payload).await) },
    ))
    .await
}
