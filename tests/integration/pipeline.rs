//! The serverless pipeline on the local stack (moto on a free loopback port): S3 → ingest → SQS →
//! match shards → DynamoDB, checked against the offline `settlepaisa recon` of the same files.

use settlepaisa_aws::dynamo::{query_all, s};
use settlepaisa_cli::gen_cmd::{self, GenArgs};
use settlepaisa_cli::local::LocalStack;
use settlepaisa_cli::recon_cmd::{self, ReconArgs};
use settlepaisa_pipeline::job;
use settlepaisa_pipeline::plan::{self, PlanRequest};
use settlepaisa_pipeline::results::{exception_row, match_rows};
use settlepaisa_tests::read_csv;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const IDLE: Duration = Duration::from_secs(300);

fn generated(dir: &Path, txns: usize) -> (PathBuf, Vec<PathBuf>) {
    gen_cmd::run(&GenArgs { txns, seed: 11, start: "2026-10-01".into(), days: 1, out: dir.to_path_buf() }).unwrap();
    let mut banks: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            ["HDFC_", "ICICI_", "AXIS_"].iter().any(|b| p.file_name().unwrap().to_string_lossy().starts_with(b))
        })
        .collect();
    banks.sort();
    (dir.join("pg_transactions.csv"), banks)
}

async fn upload(stack: &LocalStack, key: &str, path: &Path) {
    let bucket = &stack.runner.ctx.resources.uploads_bucket;
    let body = std::fs::read(path).unwrap();
    stack.clients.s3.put_object().bucket(bucket).key(key).body(body.into()).send().await.unwrap();
}

fn bank_prefix(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let bank = name.split('_').next().unwrap().to_lowercase();
    format!("incoming/{bank}/{name}")
}

type Rows = (BTreeSet<Vec<String>>, BTreeSet<Vec<String>>);

async fn job_results(stack: &LocalStack, job_id: &str) -> Rows {
    let ctx = &stack.runner.ctx;
    let items = query_all(&ctx.clients.dynamodb, &ctx.resources.results_table, None, "job_id", job_id).await.unwrap();
    let matches = items.iter().filter(|i| s(i, "item").unwrap().starts_with("M#")).flat_map(match_rows).collect();
    let exceptions =
        items.iter().filter(|i| s(i, "item").unwrap().starts_with("E#")).map(|i| exception_row(i).to_vec()).collect();
    (matches, exceptions)
}

fn offline(dir: &Path, pg: &Path, banks: &[PathBuf]) -> Rows {
    let out = dir.join("offline");
    recon_cmd::run(&ReconArgs {
        pg: pg.to_path_buf(),
        bank: banks.to_vec(),
        out: out.clone(),
        format: None,
        template: vec![],
    })
    .unwrap();
    (
        read_csv(&out.join("matches.csv")).into_iter().collect(),
        read_csv(&out.join("exceptions.csv")).into_iter().collect(),
    )
}

async fn run_job(stack: &LocalStack, job_id: &str, shards: u32) -> job::Job {
    let ctx = &stack.runner.ctx;
    let req = PlanRequest {
        job_id: Some(job_id.into()),
        from: "2026-10-01".into(),
        to: "2026-10-01".into(),
        shards: Some(shards),
    };
    let planned = plan::handle(ctx, req).await.unwrap();
    assert!(planned.created);
    stack.runner.run_until_idle(IDLE).await.unwrap();
    job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, job_id).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_distributed_run_gives_exactly_the_offline_result_with_1_and_16_shards() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 10_000);
    let stack = LocalStack::start(None).await.unwrap();
    upload(&stack, "incoming/pg/2026-10-01/pg_transactions.csv", &pg).await;
    for b in &banks {
        upload(&stack, &bank_prefix(b), b).await;
    }
    stack.runner.run_until_idle(IDLE).await.unwrap();

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
