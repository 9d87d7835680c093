//! The serverless pipeline on the local stack (moto on a free loopback port): S3 → ingest → SQS →
//! match shards → DynamoDB, checked against the offline `settlepaisa recon` of the same files.

use settlepaisa_cli::local::LocalStack;
use settlepaisa_tests::pipeline::{generated, ingest_all, job_results, offline_rows as offline, run_job};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_distributed_run_gives_exactly_the_offline_result_with_1_and_16_shards() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 10_000, 11);
    let stack = LocalStack::start(None).await.unwrap();
    ingest_all(&stack, &pg, &banks).await;

    let want = offline(dir.path(), &pg, &banks);
    assert!(want.0.len() > 8_000 && want.1.len() > 200, "the offline run reconciled the data");
    for (job_id, shards) in [("JOB-ONE", 1), ("JOB-SIXTEEN", 16)] {
        let job = run_job(&stack, job_id, shards).await;
        assert_eq!(job.status, "COMPLETED", "{job:?}");
        assert_eq!(job.shards_done, shards);
        let got = job_results(&stack, job_id).await;
        assert_eq!(got.0.len(), want.0.len(), "{job_id}: match count");
        assert!(got.0 == want.0, "{job_id}: matches differ from the offline run");
        assert_eq!(got.1.len(), want.1.len(), "{job_id}: exception count");
        assert!(got.1 == want.1, "{job_id}: exceptions differ from the offline run");
        let kpi = &job.summary.as_ref().unwrap()["kpi"];
        assert_eq!(kpi["matched_count"].as_u64().unwrap() as usize, want.0.len());
    }
}
