//! Lambda entry point of `generate-report` (the report queue, one message at a time, partial
//! batch responses).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_store::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    settlepaisa_aws::logs::init(false);
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(settlepaisa_governance::reports::generate::handle(ctx, event.payload).await)
    }))
    .await
}
