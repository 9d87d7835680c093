//! At-least-once delivery and failures on the local stack: redelivered S3 events and SQS batches
//! change nothing, a batch fails only its bad message, a poison shard ends in the dead-letter queue
//! with its job marked failed, and unusable files are rejected with a reason.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use settlepaisa_aws::dynamo::{query_all, s};
use settlepaisa_cli::local::LocalStack;
use settlepaisa_pipeline::file_record::FileRecord;
use settlepaisa_pipeline::job::{self, ShardMessage};
use settlepaisa_pipeline::plan::{self, PlanRequest};
use settlepaisa_pipeline::{finalize, ingest, worker};
use settlepaisa_tests::pipeline::{
    contains_all, generated, ingest_all, job_results, listed_txn_ids, results_items, run_job, s3_event, upload_bytes,
    IDLE,
};

/// Every file record (a test-only scan).
async fn files(stack: &LocalStack) -> Vec<FileRecord> {
    let ctx = &stack.runner.ctx;
    let scan = ctx.clients.dynamodb.scan().table_name(&ctx.resources.files_table).send().await.unwrap();
    // Content-hash items (`SHA256#…`) share the table; they are not file records.
    let mut all: Vec<FileRecord> = scan
        .items
        .unwrap_or_default()
        .iter()
        // Nor are a file's chunk (`#C…`) and claim group (`#G…`) records.
        .filter(|i| i.get("file_id").and_then(|v| v.as_s().ok()).is_some_and(|id| !id.contains('#')))
        .map(|i| FileRecord::from_item(i).unwrap())
        .collect();
    all.sort_by(|a, b| a.file_id.cmp(&b.file_id));
    all
}

fn sqs_event(bodies: &[(&str, String)]) -> SqsEvent {
    let mut event = SqsEvent::default();
    for (id, body) in bodies {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.to_string());
        m.body = Some(body.clone());
        m.attributes.insert("ApproximateReceiveCount".into(), "1".into());
        event.records.push(m);
    }
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_s3_event_ingests_once_and_a_new_version_is_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, _) = generated(dir.path(), 1_000, 3);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    let key = "incoming/pg/2026-10-01/pg export.csv";
    upload_bytes(&stack, key, std::fs::read(&pg).unwrap()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let before = files(&stack).await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].key, key, "the URL-encoded key was decoded");
    let txns = listed_txn_ids(&stack).await;
    assert_eq!(txns.len() as u64, before[0].data_rows, "every PG row paged once");

    let again = ingest::handle(
        ctx,
        s3_event("ObjectCreated:Put", &ctx.resources.uploads_bucket, key, Some(&before[0].version)),
    )
    .await
    .unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].duplicate, "{again:?}");
    assert_eq!(files(&stack).await, before);
    assert_eq!(listed_txn_ids(&stack).await, txns);

    // The same bytes again as a new version: a new file, recorded as a duplicate of the first.
    upload_bytes(&stack, key, std::fs::read(&pg).unwrap()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let after = files(&stack).await;
    assert_eq!(after.len(), 2, "a new version of the key is a new file");
    let copy = after.iter().find(|f| f.file_id != before[0].file_id).unwrap();
    assert_eq!(copy.status.map(|s| s.as_str()), Some("DUPLICATE"));
    assert_eq!(copy.duplicate_of.as_deref(), Some(before[0].file_id.as_str()));
    // A corrected re-upload of the key (one row's amount changed): it supersedes the first version
    // and takes its transactions over, so no row becomes a reject.
    let text = std::fs::read_to_string(&pg).unwrap();
    let corrected = text.replacen(",captured,", ",failed,", 1);
    assert_ne!(corrected, text);
    upload_bytes(&stack, key, corrected.into_bytes()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let latest = files(&stack).await;
    assert_eq!(latest.len(), 3);
    let third = latest.iter().find(|f| f.file_id != before[0].file_id && f.file_id != copy.file_id).unwrap();
    assert_eq!(third.status.map(|s| s.as_str()), Some("NORMALIZED"));
    assert_eq!((third.rejected_rows, third.data_rows), (before[0].rejected_rows, before[0].data_rows), "{third:?}");
    assert_eq!(third.records + 1, before[0].records, "one capture fewer");
    assert_eq!(listed_txn_ids(&stack).await, txns, "the same transactions listed, once each");
    let first = files(&stack).await.into_iter().find(|f| f.file_id == before[0].file_id).unwrap();
    assert_eq!(first.superseded_by.as_deref(), Some(third.file_id.as_str()), "the first version is replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivered_shard_and_finalize_messages_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 2_000, 4);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    ingest_all(&stack, &pg, &banks).await;
    let job1 = run_job(&stack, "JOB-REDELIVER", 2).await;
    assert_eq!(job1.status, "COMPLETED");
    let results = results_items(&stack, "JOB-REDELIVER").await;
    let kpis = query_all(&ctx.clients.dynamodb, &ctx.resources.kpi_table, None, "day", "2026-10-01").await.unwrap();

    let bodies: Vec<(&str, String)> = [Some(0), Some(1), None]
        .iter()
        .enumerate()
        .map(|(i, shard)| {
            (
                ["a", "b", "c"][i],
                serde_json::to_string(&ShardMessage { job_id: "JOB-REDELIVER".into(), shard: *shard }).unwrap(),
            )
        })
        .collect();
    let response = worker::handle(ctx, sqs_event(&bodies)).await;
    assert!(response.batch_item_failures.is_empty());
    let fin = finalize::handle(ctx, sqs_event(&[("f", r#"{"job_id":"JOB-REDELIVER"}"#.to_string())])).await;
    assert!(fin.batch_item_failures.is_empty());
    stack.runner.run_until_idle(IDLE).await.unwrap();

    let job2 = job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, "JOB-REDELIVER").await.unwrap().unwrap();
    assert_eq!(job2.shards_done, 2, "counters did not move");
    assert_eq!(job2.summary, job1.summary);
    assert_eq!(results_items(&stack, "JOB-REDELIVER").await, results);
    assert_eq!(
        query_all(&ctx.clients.dynamodb, &ctx.resources.kpi_table, None, "day", "2026-10-01").await.unwrap(),
        kpis
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_fails_only_its_bad_message_and_a_second_delivery_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 2_000, 5);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    ingest_all(&stack, &pg, &banks).await;
    let req = PlanRequest {
        job_id: Some("JOB-HALF".into()),
        from: "2026-10-01".into(),
        to: "2026-10-01".into(),
        shards: Some(1),
    };
    plan::handle(ctx, req).await.unwrap();
    // The planner queued shard 0; deliver it ourselves in a batch with a message that cannot parse.
    let good = serde_json::to_string(&ShardMessage { job_id: "JOB-HALF".into(), shard: Some(0) }).unwrap();
    let batch = sqs_event(&[("good", good), ("bad", "{not json".into())]);
    for _ in 0..2 {
        let response = worker::handle(ctx, batch.clone()).await;
        let failed: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
        assert_eq!(failed, ["bad"]);
    }
    let (j, shards) =
        job::get_with_shards(&ctx.clients.dynamodb, &ctx.resources.jobs_table, "JOB-HALF").await.unwrap().unwrap();
    assert_eq!(j.shards_done, 1, "the shard was counted once");
    assert_eq!(shards.iter().find(|s| s.shard == "000").unwrap().status, "DONE");
    let once = job_results(&stack, "JOB-HALF").await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let j = job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, "JOB-HALF").await.unwrap().unwrap();
    assert_eq!(j.status, "COMPLETED");
    let all = job_results(&stack, "JOB-HALF").await;
    assert!(contains_all(&all.0, &once.0) && contains_all(&all.1, &once.1));
    let pages =
        results_items(&stack, "JOB-HALF").await.iter().filter(|i| s(i, "item").unwrap().starts_with("M#000#")).count();
    assert!(pages > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_shard_reaches_the_dead_letter_queue_and_the_job_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_000, 6);
    let stack = LocalStack::start(None).await.unwrap();
    let ctx = &stack.runner.ctx;
    ingest_all(&stack, &pg, &banks).await;
    // Corrupt one normalized segment: every attempt at the shard that reads it fails.
    let f = files(&stack).await.into_iter().find(|f| f.kind == "pg").unwrap();
    let segments = FileRecord::segment_counts(&f.partitions).unwrap();
    let (part, chunk, _) = segments.iter().find(|(name, _, _)| name.starts_with('p')).unwrap();
    let key = ingest::segment_key(&f.file_id, part, *chunk, 0);
    ctx.clients
        .s3
        .put_object()
        .bucket(&ctx.resources.artifacts_bucket)
        .key(&key)
        .body(b"P\tbroken\n".to_vec().into())
        .send()
        .await
        .unwrap();

    let job = run_job(&stack, "JOB-POISON", 1).await;
    assert_eq!(job.status, "FAILED");
    assert!(job.error.as_deref().unwrap().contains(&key), "{:?}", job.error);
    let (_, shards) =
        job::get_with_shards(&ctx.clients.dynamodb, &ctx.resources.jobs_table, "JOB-POISON").await.unwrap().unwrap();
    let shard = shards.iter().find(|s| s.shard == "000").unwrap();
    assert_eq!(shard.status, "FAILED");
    assert!(shard.error.as_deref().unwrap().contains("unknown record shape"));
    assert_eq!(stack.runner.queue_depth("MatchDeadLetterQueue").await.unwrap(), 1);
    assert_eq!(stack.runner.queue_depth("MatchQueue").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_files_are_rejected_with_a_reason_and_not_retried() {
    let stack = LocalStack::start(None).await.unwrap();
    upload_bytes(
        &stack,
        "incoming/hdfc/garbage.csv",
        (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect(),
    )
    .await;
    upload_bytes(&stack, "incoming/axis/notes.txt", b"hello\nthis is not a statement\n".to_vec()).await;
    upload_bytes(&stack, "incoming/pg/empty.csv", Vec::new()).await;
    upload_bytes(
        &stack,
        "jobs/JOB-X/latin1.csv",
        b"Tran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL\n02-10-2026,,CAF\xc9,,850,1,1\n".to_vec(),
    )
    .await;
    upload_bytes(&stack, "elsewhere/file.csv", b"x".to_vec()).await;
    stack.runner.run_until_idle(IDLE).await.unwrap();
    let mut reasons: Vec<(String, String, String)> = files(&stack)
        .await
        .into_iter()
        .map(|f| (f.key, f.status.map(|s| s.as_str().to_string()).unwrap_or_default(), f.error.unwrap_or_default()))
        .collect();
    reasons.sort();
    let find = |k: &str| reasons.iter().find(|(key, _, _)| key == k).unwrap().clone();
    assert_eq!(find("incoming/hdfc/garbage.csv").1, "REJECTED");
    assert!(find("incoming/hdfc/garbage.csv").2.contains("binary"));
    assert!(find("incoming/axis/notes.txt").2.contains("axis header row was not found"), "{reasons:?}");
    assert!(find("incoming/pg/empty.csv").2.contains("empty"), "{reasons:?}");
    let latin1 = find("jobs/JOB-X/latin1.csv");
    assert_eq!(latin1.1, "NORMALIZED", "a bad line is a reject, not a bad file");
    assert_eq!(reasons.len(), 4, "keys outside the known prefixes trigger nothing: {reasons:?}");

    // An event for an object deleted before ingestion: rejected, not retried forever.
    let ctx = &stack.runner.ctx;
    let gone = ingest::handle(
        ctx,
        s3_event("ObjectCreated:Put", &ctx.resources.uploads_bucket, "incoming/hdfc/deleted.csv", None),
    )
    .await
    .unwrap();
    assert_eq!(gone[0].status, "REJECTED");
    assert!(gone[0].error.as_deref().unwrap().contains("no longer exists"), "{gone:?}");
}
