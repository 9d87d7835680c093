//! `settlepaisa bench-report`: a merchant statement of `--rows` settlement lines generated the way
//! the stack does (`POST /api/reports` → the report queue → `generate-report` streaming into an
//! S3 multipart upload), in-process against the emulator. Prints the generation's wall time, the
//! most heap the invocation held above its start (the counting allocator this binary installs)
//! and the sink's largest buffer, beside the report's size: a million rows must fit one Lambda
//! run (900 s) in bounded memory. In the same run, on the same object, a peer that does what a
//! first version would: read the lines whole, build the CSV in memory, put it in one request.

use crate::error::CliError;
use crate::local::LocalStack;
use serde_json::json;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchReportArgs {
    /// Settlement lines in the statement.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: usize,
}

fn fail(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn run(args: &BenchReportArgs) -> Result<(), CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(fail)?;
    rt.block_on(async {
        let stack = LocalStack::start(None).await.map_err(fail)?;
        let ctx = &stack.runner.ctx;
        let id = "STL-MERCH001-20261102";
        let mut lines = String::with_capacity(args.rows * 48);
        lines.push_str(settlepaisa_payout::reports::LINES_HEADER);
        lines.push('\n');
        for i in 0..args.rows {
            lines.push_str(&format!("{id},payment,TXN{i:09},{},200,36\n", 10_000 + i % 977));
        }
        let input_bytes = lines.len();
        let key = format!("settlements/MERCH001/{id}/lines-bench.csv");
        settlepaisa_aws::s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key, lines.into_bytes())
            .await
            .map_err(fail)?;
        let batch = settlepaisa_store::settlements::BatchRecord {
            settlement_id: id.into(),
            merchant_id: "MERCH001".into(),
            cycle_date: "2026-11-02".into(),
            totals: settlepaisa_payout::cycle::Totals::default(),
            status: settlepaisa_payout::payout_response::BatchStatus::Credited,
            lines_key: key,
            days: Default::default(),
            created_at: "2026-11-02T00:00:00Z".into(),
            on_demand: false,
            payout_key: None,
            payout_bank: None,
            utr: None,
            failure_reason: None,
            last_response_at: None,
            updated_at: None,
        };
        ctx.clients
            .dynamodb
            .put_item()
            .table_name(&ctx.resources.settlements_table)
            .set_item(Some(batch.to_item()))
            .send()
            .await
            .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?;
        let body = json!({ "type": "merchant_statement", "from": "2026-11-02", "to": "2026-11-02", "merchantId": "MERCH001" });
        let asked = stack
            .call_api_as(settlepaisa_auth::Role::SpFinance, "bench", "POST", "/api/reports", Some(body))
            .await
            .map_err(fail)?;
        let report_id = asked["reportId"].as_str().ok_or_else(|| fail(format!("not queued: {asked}")))?.to_string();
        let started = Instant::now();
        stack.runner.run_until_idle(std::time::Duration::from_secs(900)).await.map_err(fail)?;
        let wall = started.elapsed();
        let r = settlepaisa_store::reports::get(&ctx.clients.dynamodb, &ctx.resources.reports_table, &report_id)
            .await
            .map_err(fail)?
            .ok_or_else(|| fail("the report vanished"))?;
        let inv = stack.runner.invocations().get("generate-report").cloned().unwrap_or_default();
        // The peer: whole object in, whole report out.
        let heap = crate::memory::window_start();
        let peer_started = Instant::now();
        let bytes = settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &batch.lines_key)
            .await
            .map_err(fail)?;
        let text = String::from_utf8_lossy(&bytes);
        let mut out = String::from(settlepaisa_governance::reports::kind::Kind::MerchantStatement.header());
        out.push('\n');
        for line in text.lines().skip(1) {
            out.push_str("MERCH001,2026-11-02,");
            out.push_str(line);
            out.push('\n');
        }
        let peer_bytes = out.len();
        settlepaisa_aws::s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, "reports/peer.csv", out.into_bytes())
            .await
            .map_err(fail)?;
        let peer_wall = peer_started.elapsed();
        let peer_heap = crate::memory::window_peak(heap);
        println!("| rows | report bytes | input bytes | status | generate-report (longest) | wall, queue to ready | heap peak above start | sink's largest buffer |");
        println!("|---:|---:|---:|---|---:|---:|---:|---:|");
        println!(
            "| {} | {} | {} | {} | {:.2} s | {:.2} s | {:.1} MiB | {:.1} MiB |",
            r.rows.unwrap_or(0),
            r.bytes.unwrap_or(0),
            input_bytes,
            r.status.as_str(),
            inv.longest.as_secs_f64(),
            wall.as_secs_f64(),
            inv.heap_peak as f64 / (1 << 20) as f64,
            r.max_buffered_bytes.unwrap_or(0) as f64 / (1 << 20) as f64,
        );
        println!(
            "| peer: whole in memory, one PutObject | {peer_bytes} | {input_bytes} | written | {:.2} s | — | {:.1} MiB | {:.1} MiB |",
            peer_wall.as_secs_f64(),
            peer_heap as f64 / (1 << 20) as f64,
            peer_bytes as f64 / (1 << 20) as f64,
        );
        Ok(())
    })
}
