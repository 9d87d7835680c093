//! Lambda entry point of `plan-match`: from the plan queue (SQS, queued by `POST
//! /api/jobs/{id}/match`), or invoked with a plan request (job id, date range, shards) by ops.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use settlepaisa_pipeline::plan::{self, PlanRequest};
use settlepaisa_pipeline::runtime;

#[tokio::main]
async fn main() -> Result<(), Error> {
    runtime::init_tracing();
    let ctx = runtime::context_or_exit().await;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        if event.payload.get("Records").is_some() {
            let sqs: SqsEvent = serde_json::from_value(event.payload)?;
            return Ok::<Value, Error>(serde_json::to_value(plan::handle_queued(ctx, sqs).await)?);
        }
        let req: PlanRequest = serde_json::from_value(event.payload)?;
        Ok(serde_json::to_value(plan::handle(ctx, req).await?)?)
    }))
    .await
}
