//! What a busy first day brings and the emulator does not: the same export under a second name,
//! deletes racing their events, ingestions that keep failing, DynamoDB transaction conflicts, SQS
//! refusing sends, a finalizer that keeps failing, messages for jobs that do not exist. The faults
//! the emulator cannot produce are injected into the SDK's HTTP client (`settlepaisa_aws::faults`).

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use settlepaisa_aws::faults::Fault;
use settlepaisa_cli::local::LocalStack;
use settlepaisa_pipeline::file_record::{FileRecord, FileStatus};
use settlepaisa_pipeline::job::{self, JobStatus, ShardMessage};
use settlepaisa_pipeline::plan::{self, PlanRequest};
use settlepaisa_pipeline::{ingest, redrive, worker};
use settlepaisa_tests::pipeline::{
    bank_key, generated, ingest_all, job_results, offline_rows, run_job, s3_event, upload, upload_bytes, IDLE,
};
use std::path::Path;

const PG_KEY: &str = "incoming/pg/2026-10-01/pg_transactions.csv";

async fn file_by_key(stack: &LocalStack, key: &str) -> Vec<FileRecord> {
    let ctx = &stack.runner.ctx;
    let scan = ctx.clients.dynamodb.scan().table_name(&ctx.resources.files_table).send().await.unwrap();
    scan.items
        .unwrap_or_default()
        .iter()
        .filter(|i| i.get("key").and_then(|v| v.as_s().ok()).is_some_and(|k| k == key))
        .map(|i| FileRecord::from_item(i).unwrap())
        // A file's chunk and claim group records carry its key too.
        .filter(|f| f.kind != "pg-chunk" && f.kind != "pg-claims")
        .collect()
}

fn sqs_event(body: String, receive_count: u32) -> SqsEvent {
    let mut m = SqsMessage::default();
    m.message_id = Some("m-1".into());
    m.body = Some(body);
    m.attributes.insert("ApproximateReceiveCount".into(), receive_count.to_string());
    let mut event = SqsEvent::default();
    event.records.push(m);
    event
}

fn plan_request(job_id: &str, shards: u32) -> PlanRequest {
    PlanRequest {
        job_id: Some(job_id.into()),
        from: "2026-10-01".into(),
        to: "2026-10-01".into(),
        shards: Some(shards),
    }
}

async fn get_job(stack: &LocalStack, job_id: &str) -> job::Job {
    let ctx = &stack.runner.ctx;
    job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id).await.unwrap().unwrap()
}

fn assert_equals_offline(got: &settlepaisa_tests::pipeline::Rows, dir: &Path, pg: &Path, banks: &[std::path::PathBuf]) {
    let want = offline_rows(&dir.join("want"), pg, banks);
    assert!(want.0.len() > 100, "the offline run matched the data");
    assert_eq!(got.0.len(), want.0.len(), "match count");
    assert!(got.0 == want.0, "matches differ from the offline run (as multisets)");
    assert_eq!(got.1.len(), want.1.len(), "exception count");
    assert!(got.1 == want.1, "exceptions differ from the offline run (as multisets)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_export_under_a_second_key_is_a_duplicate_and_a_repeated_txn_id_is_a_reject() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 2_000, 21);
    let stack = LocalStack::start(None).await.unwrap();
    ingest_all(&stack, &pg, &banks).await;
    let original = file_by_key(&stack, PG_KEY).await.remove(0);

    // The operator's mistake: the same export again, under the name a browser gives a second copy.
    let copy_key = "incoming/pg/2026-10-01/pg_transactions (1).csv";
    upload(&stack, copy_key, &pg).await;
    // A re-export holding the first 50 rows again: different bytes, repeated ids.
    let text = std::fs::read_to_string(&pg).unwrap();
    let partial: String = text.lines().take(51).map(|l| format!("{l}\n")).collect();
    upload_bytes(&stack, "incoming/pg/2026-10-01/re-export.csv", partial.into_bytes()).await;
    // A file directly under incoming/ names no bank.
    upload_bytes(&stack, "incoming/x.csv", b"anything\n".to_vec()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();

    let copy = file_by_key(&stack, copy_key).await.remove(0);
    assert_eq!(copy.status, Some(FileStatus::Duplicate), "{copy:?}");
    assert_eq!(copy.duplicate_of.as_deref(), Some(original.file_id.as_str()));
    let again = file_by_key(&stack, "incoming/pg/2026-10-01/re-export.csv").await.remove(0);
    assert_eq!(again.status, Some(FileStatus::Normalized));
    assert_eq!((again.data_rows, again.rejected_rows, again.records), (0, 50, 0), "{again:?}");
    assert_eq!(again.lines_read, again.data_rows + again.rejected_rows + again.non_data_lines);
    // Rows that lost their ids are rejected by their claim group's step: `rejects/{file}/gNNNN.csv`.
    let artifacts = &stack.runner.ctx.resources.artifacts_bucket;
    let mut rejects = String::new();
    for key in
        settlepaisa_aws::s3::list(&stack.clients.s3, artifacts, &format!("rejects/{}", again.file_id)).await.unwrap()
    {
        let bytes = settlepaisa_aws::s3::get_bytes(&stack.clients.s3, artifacts, &key).await.unwrap();
        rejects.push_str(&String::from_utf8(bytes).unwrap());
    }
    assert_eq!(rejects.lines().filter(|l| !l.starts_with("file,line,")).count(), 50, "{rejects}");
    assert!(rejects.contains("already came from pg_transactions.csv line 2"), "{rejects}");
    let stray = file_by_key(&stack, "incoming/x.csv").await.remove(0);
    assert_eq!(stray.status, Some(FileStatus::Rejected));
    assert!(stray.error.as_deref().unwrap().contains("names no bank"), "{stray:?}");

    let job = run_job(&stack, "JOB-DUP", 4).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert!(job.files.iter().all(|f| f.key != copy_key), "the duplicate is not counted");
    assert_equals_offline(&job_results(&stack, "JOB-DUP").await, dir.path(), &pg, &banks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_deleted_before_its_event_is_rejected_and_one_deleted_later_stops_counting() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_000, 22);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    let bucket = ctx.resources.uploads_bucket.clone();
    upload(&stack, PG_KEY, &pg).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();

    // Uploaded, then deleted before its event is handled: AWS's event carries the version, which
    // stays readable behind the delete marker.
    let early = bank_key(&banks[0]);
    let put = ctx
        .clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&early)
        .body(std::fs::read(&banks[0]).unwrap().into())
        .send()
        .await
        .unwrap();
    let version = put.version_id.unwrap();
    ctx.clients.s3.delete_object().bucket(&bucket).key(&early).send().await.unwrap();
    let _ = stack.runner.run_until_idle(IDLE).await; // the emulator's own event (no version)
    let done = ingest::handle(ctx, s3_event("ObjectCreated:Put", &bucket, &early, Some(&version))).await.unwrap();
    assert_eq!(done[0].status, "REJECTED", "{done:?}");
    let record = file_by_key(&stack, &early).await.into_iter().find(|f| f.version == version).unwrap();
    assert!(record.error.as_deref().unwrap().contains("deleted before it was ingested"), "{record:?}");
    // A version that no longer exists at all.
    let gone = ingest::handle(ctx, s3_event("ObjectCreated:Put", &bucket, &early, Some("no-such-version"))).await;
    assert_eq!(gone.unwrap()[0].status, "REJECTED");

    // Ingested, then deleted: the delete marker's event marks it, and later jobs leave it out.
    let later = bank_key(&banks[1]);
    upload(&stack, &later, &banks[1]).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let counted = file_by_key(&stack, &later).await.remove(0);
    assert_eq!(counted.status, Some(FileStatus::Normalized));
    let deleted = ctx.clients.s3.delete_object().bucket(&bucket).key(&later).send().await.unwrap();
    let marker = deleted.version_id.unwrap();
    ingest::handle(ctx, s3_event("ObjectRemoved:DeleteMarkerCreated", &bucket, &later, Some(&marker))).await.unwrap();
    let record = file_by_key(&stack, &later).await.remove(0);
    assert_eq!(record.status, Some(FileStatus::Deleted), "{record:?}");
    assert!(record.deleted_at.is_some() && record.error.as_deref().unwrap().contains("deleted from S3"));

    let job = run_job(&stack, "JOB-DELETED", 2).await;
    assert_eq!(job.status, JobStatus::Completed);
    let keys: Vec<&str> = job.files.iter().map(|f| f.key.as_str()).collect();
    assert!(!keys.contains(&early.as_str()) && !keys.contains(&later.as_str()), "{keys:?}");
    let counted: Vec<_> = banks[2..].to_vec();
    for b in &counted {
        upload(&stack, &bank_key(b), b).await;
    }
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let job = run_job(&stack, "JOB-REST", 2).await;
    assert_equals_offline(&job_results(&stack, "JOB-REST").await, dir.path(), &pg, &counted);
    assert_eq!(job.files.len(), 1 + counted.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ingestion_failing_every_attempt_is_failed_and_dead_lettered_and_a_redrive_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 23);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    stack.faults.add(Fault::s3_internal_error("GET", PG_KEY, 1_000));
    ingest_all(&stack, &pg, &banks).await;

    let failed = file_by_key(&stack, PG_KEY).await.remove(0);
    assert_eq!(failed.status, Some(FileStatus::Failed), "{failed:?}");
    assert!(failed.error.as_deref().unwrap().contains("InternalError"), "{failed:?}");
    assert_eq!(stack.runner.queue_depth("IngestDeadLetterQueue").await.unwrap(), 1, "the event is kept");
    // A job planned meanwhile names what it could not take.
    let early = run_job(&stack, "JOB-EARLY", 1).await;
    assert_eq!(early.skipped.len(), 1, "{early:?}");
    assert!(early.skipped[0].starts_with(&format!("{PG_KEY} is FAILED: ")), "{:?}", early.skipped);

    stack.faults.clear();
    let out = redrive::handle(ctx, redrive::RedriveRequest::default()).await.unwrap();
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    assert_eq!(out.ingested.len(), 1);
    assert_eq!(out.ingested[0].status, "RECEIVED", "read again, its ids being claimed");
    assert_eq!(stack.runner.queue_depth("IngestDeadLetterQueue").await.unwrap(), 0);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let done = file_by_key(&stack, PG_KEY).await.remove(0);
    assert_eq!((done.status, done.error.as_deref()), (Some(FileStatus::Normalized), None));
    let job = run_job(&stack, "JOB-REDRIVE", 2).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_equals_offline(&job_results(&stack, "JOB-REDRIVE").await, dir.path(), &pg, &banks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_conflicts_on_every_shard_completion_are_retried_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 24);
    let stack = LocalStack::start(None).await.unwrap();
    ingest_all(&stack, &pg, &banks).await;
    let shards = 3;
    // Two conflicts for each of the 3 UTR shards and the residual shard.
    let conflicts = 2 * (shards + 1);
    stack.faults.add(Fault::transaction_conflict(conflicts).passing_every(3));
    let before = stack.runner.invocations().get("match-shard").map_or(0, |c| c.count);
    let job = run_job(&stack, "JOB-CONFLICT", shards).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(stack.faults.injected("DynamoDB_20120810.TransactWriteItems"), conflicts as usize);
    let runs = stack.runner.invocations()["match-shard"].count - before;
    assert_eq!(runs, u64::from(shards) + 1, "no shard was run twice");
    assert_eq!(job.shards_done, shards);
    assert_eq!(stack.runner.queue_depth("MatchDeadLetterQueue").await.unwrap(), 0);
    assert_equals_offline(&job_results(&stack, "JOB-CONFLICT").await, dir.path(), &pg, &banks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_sends_surface_and_a_second_match_request_queues_the_job() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 25);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    ingest_all(&stack, &pg, &banks).await;
    stack.faults.add(Fault::sqs_internal_error("SendMessageBatch", 1_000));
    let err = plan::handle(ctx, plan_request("JOB-SEND", 2)).await.unwrap_err();
    assert!(err.to_string().contains("SendMessageBatch"), "{err}");
    let stuck = get_job(&stack, "JOB-SEND").await;
    assert_eq!((stuck.status, stuck.queued_at), (JobStatus::Matching, None));
    assert!(plan::resumable(&stuck, ctx.stall_secs, job::now_secs()));

    stack.faults.clear();
    let again = plan::handle(ctx, plan_request("JOB-SEND", 2)).await.unwrap();
    assert!(again.resumed && !again.created);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let job = get_job(&stack, "JOB-SEND").await;
    assert_eq!(job.status, JobStatus::Completed);
    assert!(!plan::resumable(&job, ctx.stall_secs, job::now_secs()));
    assert!(!plan::handle(ctx, plan_request("JOB-SEND", 2)).await.unwrap().resumed, "a finished job stays finished");
    assert_equals_offline(&job_results(&stack, "JOB-SEND").await, dir.path(), &pg, &banks);
}

/// From an independent review: the job's META written but its shard items not (the second write
/// failed). A shard's completion needs its item, so without them the job would never count a shard
/// done; the resume a second match request makes puts them back, and the job completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_items_lost_after_the_job_was_written_are_put_back_by_a_resume() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 27);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    ingest_all(&stack, &pg, &banks).await;
    stack.faults.add(Fault::dynamodb_internal_error("BatchWriteItem", 1_000));
    let err = plan::handle(ctx, plan_request("JOB-NOSHARDS", 2)).await.unwrap_err();
    assert!(err.to_string().contains("BatchWriteItem"), "{err}");
    stack.faults.clear();
    let (_, states) =
        job::get_with_shards(&ctx.clients.dynamodb, &ctx.resources.jobs_table, "JOB-NOSHARDS").await.unwrap().unwrap();
    assert!(states.is_empty(), "the META item alone: {states:?}");

    let again = plan::handle(ctx, plan_request("JOB-NOSHARDS", 2)).await.unwrap();
    assert!(again.resumed && !again.created);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let job = get_job(&stack, "JOB-NOSHARDS").await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_equals_offline(&job_results(&stack, "JOB-NOSHARDS").await, dir.path(), &pg, &banks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finalizer_in_the_dead_letter_queue_fails_the_job_with_its_cause_and_a_resume_completes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 26);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    ingest_all(&stack, &pg, &banks).await;
    stack.faults.add(Fault::s3_internal_error("GET", "work/JOB-FINAL/kpi/", 10_000));
    let job = run_job(&stack, "JOB-FINAL", 2).await;
    assert_eq!(job.status, JobStatus::Failed, "{job:?}");
    let error = job.error.unwrap();
    assert!(error.starts_with("finalize failed:") && error.contains("work/JOB-FINAL/kpi/"), "{error}");
    assert_eq!(stack.runner.queue_depth("FinalizeDeadLetterQueue").await.unwrap(), 1);

    stack.faults.clear();
    let resumed = plan::handle(ctx, plan_request("JOB-FINAL", 2)).await.unwrap();
    assert!(resumed.resumed);
    assert_eq!(resumed.job.status, JobStatus::Finalizing, "only the finalizer runs again");
    let before = stack.runner.invocations()["match-shard"].count;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    assert_eq!(stack.runner.invocations()["match-shard"].count, before, "no shard ran again");
    let job = get_job(&stack, "JOB-FINAL").await;
    assert_eq!((job.status, job.error), (JobStatus::Completed, None));
    assert_equals_offline(&job_results(&stack, "JOB-FINAL").await, dir.path(), &pg, &banks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_segment_fails_the_job_once_with_the_root_cause_and_a_resume_runs_only_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 2_000, 27);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    ingest_all(&stack, &pg, &banks).await;
    let f = file_by_key(&stack, PG_KEY).await.remove(0);
    let segments = FileRecord::segment_counts(&f.partitions).unwrap();
    let (part, chunk, _) = segments.iter().find(|(name, _, _)| name.starts_with('p')).unwrap();
    let key = ingest::segment_key(&f.file_id, part, *chunk, 0);
    let artifacts = &ctx.resources.artifacts_bucket;
    let saved = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, artifacts, &key).await.unwrap();
    ctx.clients.s3.delete_object().bucket(artifacts).key(&key).send().await.unwrap();

    let shards = 4;
    let job = run_job(&stack, "JOB-ROOT", shards).await;
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.error.unwrap();
    assert!(error.contains(&key) && error.contains("NoSuchKey"), "names the missing object: {error}");
    assert!(!error.contains("failed: job"), "not a nested second-hand error: {error}");
    assert_eq!(stack.runner.queue_depth("MatchDeadLetterQueue").await.unwrap(), 1, "only the failing shard");
    let (_, states) =
        job::get_with_shards(&ctx.clients.dynamodb, &ctx.resources.jobs_table, "JOB-ROOT").await.unwrap().unwrap();
    assert_eq!(states.iter().filter(|s| s.status == "FAILED").count(), 1, "{states:?}");

    settlepaisa_aws::s3::put(&ctx.clients.s3, artifacts, &key, saved).await.unwrap();
    let done_before: Vec<String> = states.iter().filter(|s| s.status == "DONE").map(|s| s.shard.clone()).collect();
    let before = stack.runner.invocations()["match-shard"].count;
    assert!(plan::handle(ctx, plan_request("JOB-ROOT", shards)).await.unwrap().resumed);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let runs = stack.runner.invocations()["match-shard"].count - before;
    assert_eq!(runs as usize, shards as usize + 1 - done_before.len(), "only the shards not done ran");
    let job = get_job(&stack, "JOB-ROOT").await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_equals_offline(&job_results(&stack, "JOB-ROOT").await, dir.path(), &pg, &banks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_message_for_a_job_that_does_not_exist_creates_nothing() {
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    let body = serde_json::to_string(&ShardMessage { job_id: "JOB-GHOST".into(), shard: Some(0) }).unwrap();
    for attempt in 1..=ctx.max_receive_count {
        let response = worker::handle(ctx, sqs_event(body.clone(), attempt)).await;
        assert!(response.batch_item_failures.is_empty(), "acknowledged: nothing can ever run it");
    }
    let items = settlepaisa_aws::dynamo::query_all(
        &ctx.clients.dynamodb,
        &ctx.resources.jobs_table,
        None,
        "job_id",
        "JOB-GHOST",
    )
    .await
    .unwrap();
    assert!(items.is_empty(), "no phantom META or SHARD items: {items:?}");
}

// From an independent review: races and ties the tests above did not reach.

/// Two copies of one export under two keys, ingested at the same time (two S3 events handled by
/// two concurrent invocations): each row's txn_id goes to whichever copy's put lands first, the
/// copy that loses the content hash becomes DUPLICATE, and the rows it won are rejects in the copy
/// that counts. Those transactions are in neither job file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_ingested_at_the_same_moment_lose_no_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 2_000, 31);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    let bucket = ctx.resources.uploads_bucket.clone();
    for b in &banks {
        upload(&stack, &bank_key(b), b).await;
    }
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let copy_key = "incoming/pg/2026-10-01/pg_transactions (1).csv";
    upload(&stack, PG_KEY, &pg).await;
    upload(&stack, copy_key, &pg).await;
    let (a, b) = tokio::join!(
        ingest::handle(ctx, s3_event("ObjectCreated:Put", &bucket, PG_KEY, None)),
        ingest::handle(ctx, s3_event("ObjectCreated:Put", &bucket, copy_key, None)),
    );
    let mut outcomes = vec![a.unwrap()[0].status, b.unwrap()[0].status];
    outcomes.sort_unstable();
    assert_eq!(outcomes, ["DUPLICATE", "RECEIVED"], "one copy claims its ids, the other names it");
    // The claim steps, and the emulator's own events (already ingested).
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let counted: Vec<FileRecord> = [file_by_key(&stack, PG_KEY).await, file_by_key(&stack, copy_key).await]
        .concat()
        .into_iter()
        .filter(|f| f.status == Some(FileStatus::Normalized))
        .collect();
    assert_eq!(counted.len(), 1, "one copy counts");
    assert_eq!(counted[0].rejected_rows, 0, "the copy that counts kept every row: {:?}", counted[0]);
    let job = run_job(&stack, "JOB-RACE", 2).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_equals_offline(&job_results(&stack, "JOB-RACE").await, dir.path(), &pg, &banks);
}

/// A bank/PG re-sending its file under the same key with the same bytes makes a DUPLICATE version
/// that has nevertheless taken every txn_id from the version that counts (same key passes ids
/// on). A DUPLICATE passes its ids on to anyone, so a later re-export (different bytes, same rows)
/// takes them too and counts beside the original: every transaction twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_key_resend_then_a_re_export_counts_each_transaction_once() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 2_000, 32);
    let stack = LocalStack::start(None).await.unwrap();
    ingest_all(&stack, &pg, &banks).await;
    // The same export again under the same key (a new version, the same bytes).
    upload(&stack, PG_KEY, &pg).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let first = file_by_key(&stack, PG_KEY).await.into_iter().find(|f| f.status == Some(FileStatus::Normalized));
    let first = first.unwrap();
    let mut versions: Vec<_> = file_by_key(&stack, PG_KEY).await.into_iter().map(|f| f.status).collect();
    versions.sort_by_key(|s| s.map(FileStatus::as_str));
    assert_eq!(versions, [Some(FileStatus::Duplicate), Some(FileStatus::Normalized)]);
    // A re-export of the same rows: different bytes (a trailing blank line).
    let mut bytes = std::fs::read(&pg).unwrap();
    bytes.extend_from_slice(b"\n");
    upload_bytes(&stack, "incoming/pg/2026-10-01/re-export.csv", bytes).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let re = file_by_key(&stack, "incoming/pg/2026-10-01/re-export.csv").await.remove(0);
    let all_rows = first.data_rows + first.rejected_rows;
    assert_eq!((re.status, re.data_rows, re.rejected_rows), (Some(FileStatus::Normalized), 0, all_rows), "{re:?}");
    let job = run_job(&stack, "JOB-RESEND", 2).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    let mut pg_files: Vec<_> = job.files.iter().filter(|f| f.kind == "pg").map(|f| f.key.clone()).collect();
    pg_files.sort();
    assert_eq!(pg_files, ["incoming/pg/2026-10-01/pg_transactions.csv", "incoming/pg/2026-10-01/re-export.csv"]);
    assert_equals_offline(&job_results(&stack, "JOB-RESEND").await, dir.path(), &pg, &banks);
}

/// The same export uploaded to two jobs (a second job for the same day: the first failed for two
/// statements with one name, whose error says to upload again): the second job's copy is a
/// DUPLICATE of a file only the first job can see, so the second job has no PG export at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_files_uploaded_to_a_second_job_count_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 33);
    let stack = LocalStack::start(None).await.unwrap();
    for job in ["JOB-FIRST", "JOB-SECOND"] {
        upload(&stack, &format!("jobs/{job}/pg_transactions.csv"), &pg).await;
        for b in &banks {
            let name = b.file_name().unwrap().to_string_lossy().to_string();
            upload(&stack, &format!("jobs/{job}/{name}"), b).await;
        }
        stack.runner.run_until_idle(IDLE).await.unwrap();
    }
    let job = run_job(&stack, "JOB-SECOND", 2).await;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.files.len(), 1 + banks.len(), "every file uploaded to the job counts in it: {:?}", job.files);
    assert_equals_offline(&job_results(&stack, "JOB-SECOND").await, dir.path(), &pg, &banks);
}

/// Delete then upload again within one second (a sync tool replacing a file, an operator fixing a
/// drop): ListObjectVersions' LastModified is whole seconds, `deleted_since` picks the "latest" by
/// it, and on a tie `max_by_key` takes the delete marker (markers are listed after versions), so
/// the current object is rejected as "deleted before it was ingested".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_uploaded_again_right_after_a_delete_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (_pg, banks) = generated(dir.path(), 500, 34);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    let bucket = ctx.resources.uploads_bucket.clone();
    let key = bank_key(&banks[0]);
    let body = std::fs::read(&banks[0]).unwrap();
    ctx.clients.s3.put_object().bucket(&bucket).key(&key).body(body.clone().into()).send().await.unwrap();
    // Start just after a second boundary so the delete and the new upload share one second.
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_millis();
    tokio::time::sleep(std::time::Duration::from_millis(u64::from(1_050 - ms))).await;
    let marker = ctx.clients.s3.delete_object().bucket(&bucket).key(&key).send().await.unwrap().version_id.unwrap();
    let put = ctx.clients.s3.put_object().bucket(&bucket).key(&key).body(body.into()).send().await.unwrap();
    let v2 = put.version_id.unwrap();
    let done = ingest::handle(ctx, s3_event("ObjectCreated:Put", &bucket, &key, Some(&v2))).await.unwrap();
    assert_eq!(done[0].status, "NORMALIZED", "the current version counts: {done:?}");
    let _ = ingest::handle(ctx, s3_event("ObjectRemoved:DeleteMarkerCreated", &bucket, &key, Some(&marker))).await;
    let record = file_by_key(&stack, &key).await.into_iter().find(|f| f.version == v2).unwrap();
    assert_eq!(record.status, Some(FileStatus::Normalized), "a delete before it does not remove it: {record:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_without_line_breaks_and_one_of_bad_lines_are_read_in_bounded_memory() {
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    // 3 MiB and not one line break: rejected once 1 MiB has come without one, not read whole.
    upload_bytes(&stack, "incoming/pg/2026-10-01/blob.csv", vec![b'7'; 3 << 20]).await;
    // 150,000 bad lines under a good header: their rejects go to S3 in parts as they are found.
    let mut text = String::from(settlepaisa_recon::pg_file::PG_HEADER);
    text.push('\n');
    for i in 0..150_000 {
        text.push_str(&format!("not,a,row,{i}\n"));
    }
    upload_bytes(&stack, "incoming/pg/2026-10-01/garbage.csv", text.into_bytes()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();

    let blob = file_by_key(&stack, "incoming/pg/2026-10-01/blob.csv").await.remove(0);
    assert_eq!(blob.status, Some(FileStatus::Rejected));
    assert!(blob.error.as_deref().unwrap().contains("without a line break"), "{blob:?}");
    let garbage = file_by_key(&stack, "incoming/pg/2026-10-01/garbage.csv").await.remove(0);
    assert_eq!((garbage.data_rows, garbage.rejected_rows), (0, 150_000), "{garbage:?}");
    assert_eq!(garbage.lines_read, garbage.data_rows + garbage.rejected_rows + garbage.non_data_lines);
    let key = format!("rejects/{}.csv", garbage.file_id);
    let head = ctx.clients.s3.head_object().bucket(&ctx.resources.artifacts_bucket).key(&key).send().await.unwrap();
    assert!(head.e_tag.unwrap_or_default().contains('-'), "written as a multipart upload");
    let body = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await.unwrap();
    let lines: Vec<&str> = std::str::from_utf8(&body).unwrap().lines().collect();
    assert_eq!(lines.len(), 150_001, "the header and every reject, once");
    let numbers: Vec<u32> = lines[1..].iter().map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in line order");
    assert_eq!((numbers[0], numbers[149_999]), (2, 150_001));
}
