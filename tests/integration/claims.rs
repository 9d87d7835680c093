//! Transaction ids claimed per (scope, id group), one file at a time: the id a second export brings
//! is a reject naming the first, even on the next capture day; a job's uploads never take ids from
//! `incoming/` nor show in the transaction list; a claim step that fails every attempt, or that the
//! queue dead-letters without failing the file (a timeout), is taken up again by a re-drive.

use settlepaisa_aws::faults::Fault;
use settlepaisa_aws::sqs::{self, FifoMessage};
use settlepaisa_cli::local::LocalStack;
use settlepaisa_pipeline::file_record::{FileRecord, FileStatus};
use settlepaisa_pipeline::job::JobStatus;
use settlepaisa_pipeline::{ingest, redrive};
use settlepaisa_tests::pipeline::{
    assert_same_rows, bank_key, generated, job_results, listed_txn_ids, offline_rows, run_job, s3_event, upload,
    upload_bytes, IDLE,
};

const PG_KEY: &str = "incoming/pg/2026-10-01/pg_transactions.csv";
const HEADER: &str = "txn_id,merchant_id,merchant_ref,method,amount_paise,status,utr,captured_at";

async fn file_by_key(stack: &LocalStack, key: &str) -> FileRecord {
    let ctx = &stack.runner.ctx;
    let scan = ctx.clients.dynamodb.scan().table_name(&ctx.resources.files_table).send().await.unwrap();
    let mut found: Vec<FileRecord> = scan
        .items
        .unwrap_or_default()
        .iter()
        .filter(|i| i.get("key").and_then(|v| v.as_s().ok()).is_some_and(|k| k == key))
        .map(|i| FileRecord::from_item(i).unwrap())
        .filter(|f| f.kind != "pg-chunk" && f.kind != "pg-claims")
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

async fn rejects_of(stack: &LocalStack, file: &FileRecord) -> String {
    let artifacts = &stack.runner.ctx.resources.artifacts_bucket;
    let mut text = String::new();
    for key in
        settlepaisa_aws::s3::list(&stack.clients.s3, artifacts, &format!("rejects/{}", file.file_id)).await.unwrap()
    {
        text.push_str(
            &String::from_utf8(settlepaisa_aws::s3::get_bytes(&stack.clients.s3, artifacts, &key).await.unwrap())
                .unwrap(),
        );
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_a_second_export_brings_on_the_next_capture_day_is_a_reject_naming_the_first() {
    let stack = LocalStack::start(None).await.unwrap();
    let first = format!(
        "{HEADER}\nTXNA1,MERCH001,ORD1,UPI,10000,captured,,2026-10-01T23:59:00+05:30\n\
         TXNA2,MERCH001,ORD2,UPI,20000,captured,,2026-10-01T12:00:00+05:30\n"
    );
    // The same transaction a minute later by the clock of a corrected export: the next IST day.
    let second = format!(
        "{HEADER}\nTXNA1,MERCH001,ORD1,UPI,10000,captured,,2026-10-02T00:01:00+05:30\n\
         TXNB1,MERCH002,ORD3,CARD,30000,captured,,2026-10-02T09:00:00+05:30\n"
    );
    upload_bytes(&stack, "incoming/pg/2026-10-01/a.csv", first.into_bytes()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    upload_bytes(&stack, "incoming/pg/2026-10-02/b.csv", second.into_bytes()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();

    let b = file_by_key(&stack, "incoming/pg/2026-10-02/b.csv").await;
    assert_eq!(b.status, Some(FileStatus::Normalized));
    assert_eq!((b.data_rows, b.rejected_rows, b.records), (1, 1, 1), "{b:?}");
    assert!(rejects_of(&stack, &b).await.contains("txn_id `TXNA1` already came from a.csv line 2"));
    assert_eq!(listed_txn_ids(&stack).await, ["TXNA1", "TXNA2", "TXNB1"], "each transaction listed once");
}

/// A chunked export repeating an id days apart (each chunk only sees its own rows): the later
/// line is a reject naming the first, as the offline run rejects any repeated `txn_id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_a_chunked_export_repeats_days_apart_is_counted_once() {
    let stack = LocalStack::start(None).await.unwrap();
    let mut text = format!("{HEADER}\n");
    for i in 0..600 {
        text.push_str(&format!("TXNX{i:05},MERCH001,ORD{i},UPI,10000,captured,,2026-10-01T10:00:00+05:30\n"));
    }
    // Line 602, far from line 2 (another chunk), four capture days later.
    text.push_str("TXNX00000,MERCH001,ORD0,UPI,10000,captured,,2026-10-05T10:00:00+05:30\n");
    upload_bytes(&stack, PG_KEY, text.into_bytes()).await;
    let mut ctx = stack.runner.ctx.clone();
    ctx.chunk_bytes = 8_000;
    ingest::handle(&ctx, s3_event("ObjectCreated:Put", &ctx.resources.uploads_bucket, PG_KEY, None)).await.unwrap();
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let file = file_by_key(&stack, PG_KEY).await;
    assert!(file.chunks > 1, "{file:?}");
    assert_eq!((file.status, file.data_rows, file.rejected_rows), (Some(FileStatus::Normalized), 600, 1), "{file:?}");
    assert!(rejects_of(&stack, &file)
        .await
        .contains("txn_id `TXNX00000` already came from pg_transactions.csv line 2"));
    let listed = listed_txn_ids(&stack).await;
    assert_eq!(listed.len(), 600, "each id listed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_upload_keeps_its_ids_in_its_job_and_is_not_listed_as_the_pgs_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, _) = generated(dir.path(), 400, 51);
    let stack = LocalStack::start(None).await.unwrap();
    upload(&stack, PG_KEY, &pg).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let listed = listed_txn_ids(&stack).await;
    // The same rows uploaded to a job (other bytes: a trailing blank line).
    let mut bytes = std::fs::read(&pg).unwrap();
    bytes.extend_from_slice(b"\n");
    upload_bytes(&stack, "jobs/JOB-OWN/pg.csv", bytes).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();

    let incoming = file_by_key(&stack, PG_KEY).await;
    let own = file_by_key(&stack, "jobs/JOB-OWN/pg.csv").await;
    assert_eq!(own.status, Some(FileStatus::Normalized));
    assert_eq!((own.data_rows, own.records), (incoming.data_rows, incoming.records), "every row counts in its job");
    assert_eq!(listed_txn_ids(&stack).await, listed, "the transaction list shows the PG's export once");
    let incoming_again = file_by_key(&stack, PG_KEY).await;
    assert_eq!(incoming_again, incoming, "the export in incoming/ lost nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_step_failing_every_attempt_fails_the_file_and_a_redrive_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 52);
    let stack = LocalStack::start(None).await.unwrap();
    for b in &banks {
        upload(&stack, &bank_key(b), b).await;
    }
    stack.runner.run_until_idle(IDLE).await.unwrap();
    // No claim set can be read: every step fails on every attempt.
    stack.faults.add(Fault::s3_internal_error("GET", "claims/", 100_000));
    upload(&stack, PG_KEY, &pg).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let failed = file_by_key(&stack, PG_KEY).await;
    assert_eq!(failed.status, Some(FileStatus::Failed), "{failed:?}");
    assert!(failed.error.as_deref().unwrap().starts_with("claim group "), "{failed:?}");
    assert_eq!(
        stack.runner.queue_depth("IngestDeadLetterQueue").await.unwrap(),
        1,
        "its S3 event waits for a re-drive"
    );
    let early = run_job(&stack, "JOB-EARLY", 2).await;
    assert!(early.skipped.iter().any(|s| s.starts_with(&format!("{PG_KEY} is FAILED"))), "{:?}", early.skipped);

    stack.faults.clear();
    let out = redrive::handle(&stack.runner.ctx, redrive::RedriveRequest::default()).await.unwrap();
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let done = file_by_key(&stack, PG_KEY).await;
    assert_eq!((done.status, done.error.as_deref()), (Some(FileStatus::Normalized), None), "{done:?}");
    let job = run_job(&stack, "JOB-CLAIM-REDRIVE", 2).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_same_rows(
        &job_results(&stack, "JOB-CLAIM-REDRIVE").await,
        &offline_rows(&dir.path().join("want"), &pg, &banks),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_steps_dead_lettered_without_failing_the_file_are_queued_again_by_a_redrive() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_000, 53);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    upload(&stack, PG_KEY, &pg).await;
    ingest::handle(ctx, s3_event("ObjectCreated:Put", &ctx.resources.uploads_bucket, PG_KEY, None)).await.unwrap();
    // Every step times out on every attempt: SQS moves its message to the dead-letter queue and the
    // step's own last-attempt handling never runs.
    let url = |logical: &str| stack.runner.deployed.queues[logical].1.clone();
    let mut moved = 0;
    loop {
        let batch = sqs::receive(&ctx.clients.sqs, &url("ClaimQueue"), 10).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for m in batch {
            let dead = FifoMessage { body: m.body.clone(), group: "dead".into(), dedup: format!("dead-{moved}") };
            sqs::send_all_fifo(&ctx.clients.sqs, &url("ClaimDeadLetterQueue"), vec![dead]).await.unwrap();
            sqs::delete(&ctx.clients.sqs, &url("ClaimQueue"), &m.receipt_handle).await.unwrap();
            moved += 1;
        }
    }
    assert!(moved > 0);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let stuck = file_by_key(&stack, PG_KEY).await;
    assert_eq!(stuck.status, Some(FileStatus::Received), "waiting on steps that will never run: {stuck:?}");

    let out = redrive::handle(ctx, redrive::RedriveRequest::default()).await.unwrap();
    assert_eq!(out.claims_requeued, std::slice::from_ref(&stuck.file_id), "{out:?}");
    assert_eq!(stack.runner.queue_depth("ClaimDeadLetterQueue").await.unwrap(), 0);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let done = file_by_key(&stack, PG_KEY).await;
    assert_eq!(done.status, Some(FileStatus::Normalized), "{done:?}");
    for b in &banks {
        upload(&stack, &bank_key(b), b).await;
    }
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let job = run_job(&stack, "JOB-CLAIM-DLQ", 2).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_same_rows(&job_results(&stack, "JOB-CLAIM-DLQ").await, &offline_rows(&dir.path().join("want"), &pg, &banks));
}
