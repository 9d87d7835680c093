//! Lambda entry point of `renormalize-file` (SQS: a statement to read again with a chosen template).

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_pipeline::{renormalize, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(renormalize::handle(ctx, event.payload).await)
    }))
    .await
}
