//! Lambda entry point of `ingest-file` (S3 ObjectCreated on the uploads bucket).

use aws_lambda_events::s3::S3Event;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_pipeline::{ingest, runtime};

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<S3Event>| async move {
        ingest::handle(ctx, event.payload).await.map_err(Error::from)
    }))
    .await
}
