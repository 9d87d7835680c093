//! Large PG exports read in parallel chunks (byte ranges starting on a line): the file's line
//! accounting and the job's results equal the offline run of the same file, whatever the chunk
//! count; redelivered chunks change nothing; a chunk that keeps failing fails the file, and a
//! re-drive finishes only what is left.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use settlepaisa_aws::faults::Fault;
use settlepaisa_cli::local::LocalStack;
use settlepaisa_pipeline::chunks::{self, ChunkMessage};
use settlepaisa_pipeline::file_record::{FileRecord, FileStatus};
use settlepaisa_pipeline::job::JobStatus;
use settlepaisa_pipeline::{ingest, redrive, Context};
use settlepaisa_tests::pipeline::{bank_key, generated, job_results, offline_rows, run_job, s3_event, upload, IDLE};

const PG_KEY: &str = "incoming/pg/2026-10-01/pg_transactions.csv";

async fn pg_record(stack: &LocalStack) -> FileRecord {
    let ctx = &stack.runner.ctx;
    let scan = ctx.clients.dynamodb.scan().table_name(&ctx.resources.files_table).send().await.unwrap();
    let mut found: Vec<FileRecord> = scan
        .items
        .unwrap_or_default()
        .iter()
        .filter(|i| i.get("key").and_then(|v| v.as_s().ok()).is_some_and(|k| k == PG_KEY))
        .filter(|i| i.get("kind").and_then(|v| v.as_s().ok()).is_some_and(|k| k != "pg-chunk" && k != "pg-claims"))
        .map(|i| FileRecord::from_item(i).unwrap())
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

/// The context of a stack whose ingestion cuts files into chunks of `bytes`.
fn chunking(stack: &LocalStack, bytes: u64) -> Context {
    let mut ctx = stack.runner.ctx.clone();
    ctx.chunk_bytes = bytes;
    ctx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_export_read_in_chunks_equals_the_offline_run_and_redelivered_chunks_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 3_000, 41);
    let stack = LocalStack::start(None).await.unwrap();
    for b in &banks {
        upload(&stack, &bank_key(b), b).await;
    }
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let bytes = std::fs::read(&pg).unwrap();
    let whole = settlepaisa_recon::pg_file::parse_pg_file(&bytes).unwrap();
    upload(&stack, PG_KEY, &pg).await;
    let ctx = chunking(&stack, 40_000);
    let started =
        ingest::handle(&ctx, s3_event("ObjectCreated:Put", &ctx.resources.uploads_bucket, PG_KEY, None)).await.unwrap();
    assert_eq!(started[0].status, "RECEIVED", "handed to ingest-chunk");
    stack.runner.run_until_idle(IDLE).await.unwrap();

    let file = pg_record(&stack).await;
    let expected_chunks = bytes.len() as u32 / 40_000;
    assert!(file.chunks >= expected_chunks && file.chunks <= expected_chunks + 1, "{file:?}");
    assert_eq!(file.status, Some(FileStatus::Normalized), "{file:?}");
    let s = &whole.stats;
    assert_eq!(
        (file.lines_read, file.data_rows, file.rejected_rows, file.non_data_lines, file.records),
        (s.lines_read, s.data_rows, s.rejected_rows, s.non_data_lines, s.captured),
        "the line accounting of the whole file"
    );
    let entries = FileRecord::segment_counts(&file.partitions).unwrap();
    assert!(entries.iter().any(|e| e.1 == Some(1)), "{:?}", file.partitions);
    assert!(file.partitions.len() <= 2 * 65, "run-length encoded over chunks: {:?}", file.partitions);
    assert_eq!(file.size, bytes.len() as u64);

    let job = run_job(&stack, "JOB-CHUNKS", 4).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    let got = job_results(&stack, "JOB-CHUNKS").await;
    let want = offline_rows(&dir.path().join("want"), &pg, &banks);
    assert!(want.0.len() > 2_000);
    assert!(got == want, "matches and exceptions equal the offline run (as multisets)");

    // Every chunk delivered again: nothing moves.
    for chunk in 0..file.chunks {
        let body = serde_json::to_string(&ChunkMessage { file_id: file.file_id.clone(), chunk }).unwrap();
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("again-{chunk}"));
        m.body = Some(body);
        let mut event = SqsEvent::default();
        event.records.push(m);
        assert!(chunks::handle(&stack.runner.ctx, event).await.batch_item_failures.is_empty());
    }
    assert_eq!(pg_record(&stack).await, file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_failing_every_attempt_fails_the_file_and_a_redrive_finishes_only_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 2_000, 42);
    let stack = LocalStack::start(None).await.unwrap();
    for b in &banks {
        upload(&stack, &bank_key(b), b).await;
    }
    stack.runner.run_until_idle(IDLE).await.unwrap();
    upload(&stack, PG_KEY, &pg).await;
    let ctx = chunking(&stack, 30_000);
    // Chunk 2 cannot write its segments.
    stack.faults.add(Fault::s3_internal_error("PUT", "/c0002-", 100_000));
    ingest::handle(&ctx, s3_event("ObjectCreated:Put", &ctx.resources.uploads_bucket, PG_KEY, None)).await.unwrap();
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let failed = pg_record(&stack).await;
    assert_eq!(failed.status, Some(FileStatus::Failed), "{failed:?}");
    assert!(failed.error.as_deref().unwrap().starts_with("chunk 2 failed:"), "{failed:?}");
    assert_eq!(stack.runner.queue_depth("IngestChunkDeadLetterQueue").await.unwrap(), 1);
    let done = chunks::done_chunks(&stack.runner.ctx, &failed).await.unwrap();
    assert_eq!(done.len() as u32, failed.chunks - 1, "the other chunks finished: {done:?}");

    // Its S3 event waits where every failed ingestion does.
    assert_eq!(stack.runner.queue_depth("IngestDeadLetterQueue").await.unwrap(), 1);

    stack.faults.clear();
    let before = stack.runner.invocations()["ingest-chunk"].count;
    let redriven = redrive::handle(&stack.runner.ctx, redrive::RedriveRequest::default()).await.unwrap();
    assert!(redriven.failed.is_empty(), "{:?}", redriven.failed);
    assert_eq!(stack.runner.queue_depth("IngestDeadLetterQueue").await.unwrap(), 0);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    assert_eq!(stack.runner.invocations()["ingest-chunk"].count - before, 1, "only the failed chunk ran again");
    let file = pg_record(&stack).await;
    assert_eq!((file.status, file.error.as_deref()), (Some(FileStatus::Normalized), None), "{file:?}");
    let job = run_job(&stack, "JOB-CHUNK-REDRIVE", 2).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert!(job_results(&stack, "JOB-CHUNK-REDRIVE").await == offline_rows(&dir.path().join("want"), &pg, &banks));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_with_the_wrong_header_is_rejected_before_any_chunk_runs() {
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = chunking(&stack, 10_000);
    let mut text = String::from("id,merchant,amount\n");
    for i in 0..3_000 {
        text.push_str(&format!("TXN{i:08},MERCH001,ORD-{i},UPI,10000,captured,,2026-10-01T10:00:00+05:30\n"));
    }
    settlepaisa_tests::pipeline::upload_bytes(&stack, PG_KEY, text.into_bytes()).await;
    let done =
        ingest::handle(&ctx, s3_event("ObjectCreated:Put", &ctx.resources.uploads_bucket, PG_KEY, None)).await.unwrap();
    assert_eq!(done[0].status, "REJECTED", "{done:?}");
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let file = pg_record(&stack).await;
    assert!(file.error.as_deref().unwrap().contains("expected the header"), "{file:?}");
    assert_eq!(stack.runner.invocations().get("ingest-chunk").map_or(0, |c| c.count), 0, "no chunk ran");
    let txns = settlepaisa_tests::pipeline::count_items(&stack, &stack.runner.ctx.resources.transactions_table).await;
    assert_eq!(txns, 0, "no transaction page written for a rejected file");
}
