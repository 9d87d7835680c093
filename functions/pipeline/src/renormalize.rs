//! `renormalize-file`: a statement uploaded to a job, read again with the template ops chose
//! (`POST /api/jobs/{id}/normalize` put it back to `RECEIVED` and queued it). The read and its
//! outcome are `ingest::renormalize`'s; a read failing on its last attempt leaves the file
//! `FAILED` with the cause, on its job too, instead of `RECEIVED` for ever.

use crate::error::PipelineError;
use crate::file_record::{self, FileStatus, LayoutRequest};
use crate::{sqs_batch, Context};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

pub async fn handle(ctx: &Context, event: SqsEvent) -> SqsBatchResponse {
    sqs_batch::each(&event, "renormalize", |message| Box::pin(handle_message(ctx, message))).await
}

async fn handle_message(ctx: &Context, message: &SqsMessage) -> Result<(), PipelineError> {
    let req: LayoutRequest = sqs_batch::body(message, "renormalize request")?;
    let result = crate::ingest::renormalize(ctx, &req.file_id, &req.layout, req.requested_at).await;
    if let Err(e) = &result {
        if sqs_batch::is_last_attempt(message, ctx.max_receive_renormalize) {
            let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.files_table);
            if let Ok(Some(mut file)) = file_record::get(db, table, &req.file_id).await {
                file.error = Some(format!("reading it with template {} failed: {e}", req.layout));
                // Only over this request: a newer one is not failed by an old message.
                if file.layout_requested_at != Some(req.requested_at)
                    || !file_record::mark_failed(db, table, &file).await
                {
                    return result.map(|_| ());
                }
                if let Some(job_id) = &file.job_id {
                    file.status = Some(FileStatus::Failed);
                    let _ = crate::job::record_upload(db, &ctx.resources.jobs_table, job_id, &file).await;
                }
            }
        }
    }
    result.map(|_| ())
}
