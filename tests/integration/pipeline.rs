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

/// Generated PG export, statements and two acquirers' settlement reports (cards, net banking and
/// wallets settled in bulk), ingested through the local pipeline: the reports under
/// `incoming/settlements/{acquirer}/`.
struct SettlementWorld {
    dir: tempfile::TempDir,
    api: settlepaisa_tests::api::Api,
    pg: std::path::PathBuf,
    banks: Vec<std::path::PathBuf>,
    reports: Vec<std::path::PathBuf>,
}

impl SettlementWorld {
    async fn ingested(txns: usize, seed: u64, days: u32) -> SettlementWorld {
        use settlepaisa_tests::pipeline::{generated_with, upload};
        let dir = tempfile::tempdir().unwrap();
        let args = settlepaisa_cli::gen_cmd::GenArgs {
            settlements: true,
            ..settlepaisa_cli::gen_cmd::GenArgs::plain(txns, seed, days, dir.path().to_path_buf())
        };
        let (pg, banks) = generated_with(&args);
        let reports: Vec<std::path::PathBuf> =
            ["PAYU", "BILLDESK"].iter().map(|a| dir.path().join(format!("settlement_{a}.csv"))).collect();
        let api = settlepaisa_tests::api::Api::start().await;
        ingest_all(&api.stack, &pg, &banks).await;
        for (acquirer, report) in ["payu", "billdesk"].iter().zip(&reports) {
            let name = report.file_name().unwrap().to_string_lossy();
            upload(&api.stack, &format!("incoming/settlements/{acquirer}/{name}"), report).await;
        }
        api.stack.runner.run_until_idle(settlepaisa_tests::pipeline::IDLE).await.unwrap();
        SettlementWorld { dir, api, pg, banks, reports }
    }

    /// `settlepaisa recon --settlement` of the same files (with `--fees` when given) into `out`.
    fn offline(&self, fees: Option<std::path::PathBuf>, out: &std::path::Path) {
        settlepaisa_cli::recon_cmd::run(&settlepaisa_cli::recon_cmd::ReconArgs {
            pg: self.pg.clone(),
            bank: self.banks.clone(),
            out: out.to_path_buf(),
            format: None,
            template: vec![],
            settlement: self.reports.clone(),
            fees,
        })
        .unwrap();
    }
}

/// Acquirer settlement reports dropped under `incoming/settlements/{acquirer}/`: the sharded job
/// gives exactly what `settlepaisa recon --settlement` gives for the same files — matches (those
/// paid through bulk credits included), exceptions, each settlement's status and each line check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settlement_reports_through_the_pipeline_give_the_offline_result_with_1_and_8_shards() {
    use serde_json::json;
    use settlepaisa_tests::pipeline::sorted;
    use settlepaisa_tests::read_csv;
    use std::collections::BTreeMap;
    let w = SettlementWorld::ingested(6_000, 23, 1).await;
    let (dir, api) = (&w.dir, &w.api);
    let stack = &api.stack;
    // Ops' contracted rates: cards at 2.1 %, not the default 2 %. The jobs hold the reports to
    // these, as the offline run does with --fees.
    let rates = "gst_bps = 1800\n[mdr_bps]\nCARD = 210\n";
    let fees = dir.path().join("fees.toml");
    std::fs::write(&fees, rates).unwrap();
    let ctx = &stack.runner.ctx;
    let (s3, artifacts) = (&ctx.clients.s3, ctx.resources.artifacts_bucket.as_str());
    let fees_key = settlepaisa_pipeline::settlement_step::FEES_KEY;
    settlepaisa_aws::s3::put(s3, artifacts, fees_key, rates.as_bytes().to_vec()).await.unwrap();

    let offline_with = |fees: Option<std::path::PathBuf>, out: &std::path::Path| w.offline(fees, out);
    let out = dir.path().join("offline-settlements");
    offline_with(Some(fees.clone()), &out);
    let at_default_rates = dir.path().join("offline-default-rates");
    offline_with(None, &at_default_rates);
    let fee_rows = |dir: &std::path::Path| {
        read_csv(&dir.join("settlement_exceptions.csv")).iter().filter(|r| r[2] == "FEE_MISMATCH").count()
    };
    assert!(fee_rows(&out) > fee_rows(&at_default_rates), "the rates change what is a fee mismatch");
    let want_matches = sorted(read_csv(&out.join("matches.csv")));
    let want_exceptions = sorted(read_csv(&out.join("exceptions.csv")));
    let through_settlements = want_matches.iter().filter(|m| m[5] == "settlement").count();
    assert!(through_settlements > 500, "bulk credits paid transactions: {through_settlements}");
    let want_settlements = sorted(read_csv(&out.join("settlements.csv")));
    let want_lines = sorted(read_csv(&out.join("settlement_exceptions.csv")));
    let statuses: std::collections::BTreeSet<&str> = want_settlements.iter().map(|s| s[12].as_str()).collect();
    assert!(statuses.len() >= 2, "credits found and missing: {statuses:?}");
    assert!(!want_lines.is_empty());

    let artifact = |job: &str, name: &str| {
        let key = format!("results/{job}/{name}");
        async move {
            let bytes =
                settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &key).await.unwrap();
            // The pipeline names a report by its key under incoming/settlements/ (acquirer and
            // file), the offline run by its file name: reasons naming a report differ by that.
            let text = String::from_utf8(bytes).unwrap().replace("PAYU/", "").replace("BILLDESK/", "");
            let rows: Vec<Vec<String>> = text.lines().skip(1).map(settlepaisa_tests::split_csv_line).collect();
            sorted(rows)
        }
    };
    for (job_id, shards) in [("JOB-SETL-ONE", 1), ("JOB-SETL-EIGHT", 8)] {
        let job = run_job(stack, job_id, shards).await;
        assert_eq!(job.status, "COMPLETED", "{job:?}");
        let held_to = job.settlement_fees.as_ref().expect("the rates the job was held to");
        assert_eq!((held_to.gst_bps, held_to.mdr_bps), (1800, [0, 210, 190, 190]), "{job_id}");
        let (matches, exceptions) = job_results(stack, job_id).await;
        assert_eq!(matches.len(), want_matches.len(), "{job_id}: match count");
        assert!(matches == want_matches, "{job_id}: matches differ from the offline run");
        assert_eq!(exceptions.len(), want_exceptions.len(), "{job_id}: exception count");
        assert!(exceptions == want_exceptions, "{job_id}: exceptions differ from the offline run");
        assert_eq!(artifact(job_id, "settlements.csv").await, want_settlements, "{job_id}: settlements");
        assert_eq!(artifact(job_id, "settlement_exceptions.csv").await, want_lines, "{job_id}: line checks");
        let summary = job.summary.as_ref().unwrap();
        assert_eq!(summary["kpi"]["matched_count"].as_u64().unwrap() as usize, want_matches.len(), "{job_id}");
        // The job's summary counts the settlements by status, as the rows say.
        assert_eq!(summary["settlements"]["settlements"], want_settlements.len() as u64);
        for status in ["SETTLED", "SHORT_CREDIT", "EXCESS_CREDIT", "CREDIT_MISSING"] {
            let n = want_settlements.iter().filter(|s| s[12] == status).count() as u64;
            assert_eq!(summary["settlements"]["by_status"][status]["settlements"], n, "{job_id} {status}");
        }
        // The API lists them, a page at a time, filtered as asked.
        let ops = api.token(settlepaisa_auth::Role::SpOps, None);
        let pages = |path: String| {
            let (api, ops) = (&api, ops.clone());
            async move {
                let mut items = Vec::new();
                let mut offset = 0u64;
                loop {
                    let r = api.call("GET", &format!("{path}&offset={offset}"), Some(&ops), None).await;
                    assert_eq!(r.status, 200, "{path}: {}", r.body);
                    items.extend(r.body["items"].as_array().unwrap().iter().cloned());
                    match r.body["nextOffset"].as_u64() {
                        Some(n) => offset = n,
                        None => return items,
                    }
                }
            }
        };
        let listed = pages(format!("/api/jobs/{job_id}/settlements?limit=3")).await;
        let mut got: Vec<(String, String, i64)> = listed
            .iter()
            .map(|s| {
                let id = s["settlementId"].as_str().unwrap().to_string();
                (id, s["status"].as_str().unwrap().to_string(), s["deltaPaise"].as_i64().unwrap())
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String, i64)> =
            want_settlements.iter().map(|s| (s[0].clone(), s[12].clone(), s[11].parse().unwrap())).collect();
        want.sort();
        assert_eq!(got, want, "{job_id}: each settlement once, with its status and delta");
        let missing = pages(format!("/api/jobs/{job_id}/settlements?status=CREDIT_MISSING&limit=500")).await;
        assert_eq!(missing.len(), want.iter().filter(|w| w.1 == "CREDIT_MISSING").count());
        let checks = pages(format!("/api/jobs/{job_id}/settlement-checks?limit=7")).await;
        let mut got: Vec<(String, String, String)> = checks
            .iter()
            .map(|c| {
                let f = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (f("settlementId"), f("txnId"), f("category"))
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String, String)> =
            want_lines.iter().map(|l| (l[0].clone(), l[1].clone(), l[2].clone())).collect();
        want.sort();
        assert_eq!(got, want, "{job_id}: each line check once");
        let (first, category) = (&want[0].0, &want[0].2);
        let narrowed =
            pages(format!("/api/jobs/{job_id}/settlement-checks?settlementId={first}&category={category}&limit=500"))
                .await;
        assert_eq!(narrowed.len(), want.iter().filter(|w| &w.0 == first && &w.2 == category).count());
        let r = api.call("GET", &format!("/api/jobs/{job_id}/settlements?status=PAID"), Some(&ops), None).await;
        settlepaisa_tests::api::assert_seed_error(&r, 400);

        // The findings are exceptions of the job too: one per settlement not SETTLED (its status,
        // what was owed, what was credited) and one per line check, beside the engine's.
        let listed = api.all_pages(&ops, &format!("/api/jobs/{job_id}/exceptions?limit=500")).await;
        let finding = |e: &serde_json::Value| {
            let f = &e["settlement"];
            let expected = f["expectedPaise"].as_i64().map(|p| p.to_string()).unwrap_or_default();
            let category = e["category"].as_str().unwrap().to_string();
            (category, f["settlementId"].as_str().unwrap().to_string(), expected, f["actualPaise"].to_string())
        };
        let mut got: Vec<_> = listed.iter().filter(|e| e["settlement"].is_object()).map(finding).collect();
        got.sort();
        let mut want: Vec<(String, String, String, String)> = want_settlements
            .iter()
            .filter(|s| s[12] != "SETTLED")
            .map(|s| (s[12].clone(), s[0].clone(), s[9].clone(), s[10].clone()))
            .chain(want_lines.iter().map(|l| (l[2].clone(), l[0].clone(), l[3].clone(), l[4].clone())))
            .collect();
        want.sort();
        assert_eq!(got, want, "{job_id}: each finding once, as the offline reports have it");
        assert_eq!(listed.len(), want_exceptions.len() + want.len(), "{job_id}: and the engine's exceptions");
        // Money at stake, from the offline reports' figures: what is short or in excess, what a
        // row charged over the contract (nothing when it charged less), what differs, the
        // amount of an unknown or twice-paid row; a missing credit's money is at stake in its
        // transactions' own exceptions.
        let mut got: Vec<(String, String, i64)> = listed
            .iter()
            .filter(|e| e["settlement"].is_object())
            .map(|e| {
                let (c, s, _, _) = finding(e);
                (c, s, e["atStakePaise"].as_i64().unwrap())
            })
            .collect();
        got.sort();
        let figure = |text: &str| text.parse::<i64>().unwrap_or(0);
        let mut want_at_stake: Vec<(String, String, i64)> = want
            .iter()
            .map(|(category, settlement, expected, actual)| {
                let delta = figure(actual) - figure(expected);
                let at_stake = match category.as_str() {
                    "CREDIT_MISSING" => 0,
                    "FEE_MISMATCH" | "GST_MISMATCH" => delta.max(0),
                    _ => delta.abs(),
                };
                (category.clone(), settlement.clone(), at_stake)
            })
            .collect();
        want_at_stake.sort();
        assert_eq!(got, want_at_stake, "{job_id}: money at stake");
        let fees = want.iter().filter(|w| w.0 == "FEE_MISMATCH").count();
        assert!(fees > 0);
        let by_category = api.all_pages(&ops, &format!("/api/jobs/{job_id}/exceptions?category=fee_mismatch")).await;
        assert_eq!(by_category.len(), fees, "{job_id}: filtered by a settlement category");

        // The overview's top reasons count them, open, under their settlement's day.
        let range = "from=2026-09-25&to=2026-10-25";
        let reasons = |body: &serde_json::Value| -> BTreeMap<String, (u64, i64)> {
            body["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let open = (r["open"].as_u64().unwrap(), r["openAmountPaise"].as_i64().unwrap());
                    (r["category"].as_str().unwrap().to_string(), open)
                })
                .collect()
        };
        let r = api.call("GET", &format!("/api/top-reasons?{range}"), Some(&ops), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let before = reasons(&r.body);
        let mut want_open: BTreeMap<String, (u64, i64)> = BTreeMap::new();
        for e in &listed {
            let x = want_open.entry(e["category"].as_str().unwrap().to_string()).or_default();
            x.0 += 1;
            x.1 += e["atStakePaise"].as_i64().unwrap();
        }
        for (category, open) in want_open.iter().filter(|(c, _)| want.iter().any(|w| &w.0 == *c)) {
            assert_eq!(before.get(category), Some(open), "{job_id}: top reasons' {category}");
        }

        // Accepting the acquirer's fee closes the finding and takes it off the open figures; a
        // finding is never paired with a record.
        let target = by_category[0].clone();
        let id = target["id"].as_str().unwrap();
        let path = format!("/api/exceptions/{id}/resolve");
        let pair = json!({ "action": "manual_match", "note": "x", "counterpart": "T1" });
        let r = api.call("POST", &path, Some(&ops), Some(pair)).await;
        settlepaisa_tests::api::assert_seed_error(&r, 400);
        let accept = json!({ "action": "accept_mismatch", "note": "rate revised by the acquirer", "version": 1 });
        let r = api.call("POST", &path, Some(&ops), Some(accept)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!((r.body["status"].as_str(), r.body["category"].as_str()), (Some("RESOLVED"), Some("FEE_MISMATCH")));
        let r = api.call("GET", &format!("/api/top-reasons?{range}"), Some(&ops), None).await;
        let after = reasons(&r.body);
        let (n, paise) = before["FEE_MISMATCH"];
        assert_eq!(after["FEE_MISMATCH"], (n - 1, paise - target["atStakePaise"].as_i64().unwrap()), "{job_id}");
        // Each bank's matched credits never pass its total: a bulk credit is matched once.
        let r = api.call("GET", "/api/sources?from=2026-10-01&to=2026-10-04", Some(&ops), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let rows = r.body["sources"].as_array().unwrap();
        for s in rows.iter().filter(|s| s["kind"] == "bank") {
            assert!(s["matched"].as_u64() <= s["total"].as_u64(), "{s}");
            assert!(s["matchedAmountPaise"].as_i64() <= s["totalAmountPaise"].as_i64(), "{s}");
        }
        let pg_row = rows.iter().find(|s| s["kind"] == "pg").unwrap();
        assert_eq!(pg_row["matched"].as_u64().unwrap() as usize, want_matches.len(), "{}", r.body);
    }

    // Rates nobody could have contracted fail the job, naming the object, instead of proving
    // settlements against them.
    settlepaisa_aws::s3::put(s3, artifacts, fees_key, b"[mdr_bps]\nCARDS = 200\n".to_vec()).await.unwrap();
    let job = run_job(stack, "JOB-SETL-BAD-RATES", 1).await;
    assert_eq!(job.status, "FAILED", "{job:?}");
    let error = job.error.unwrap_or_default();
    assert!(error.contains(fees_key) && error.contains("CARDS"), "{error}");
    // Planned again with the rates still wrong: still refused. Once fixed, the job is held to the
    // fixed rates, never to the defaults.
    let again = || settlepaisa_pipeline::plan::PlanRequest {
        job_id: Some("JOB-SETL-BAD-RATES".into()),
        from: "2026-10-01".into(),
        to: "2026-10-01".into(),
        shards: Some(1),
    };
    let refused = settlepaisa_pipeline::plan::handle(ctx, again()).await.unwrap();
    assert_eq!((refused.resumed, refused.job.status.as_str()), (false, "FAILED"));
    settlepaisa_aws::s3::put(s3, artifacts, fees_key, b"[mdr_bps]\nCARD = 205\n".to_vec()).await.unwrap();
    let resumed = settlepaisa_pipeline::plan::handle(ctx, again()).await.unwrap();
    assert!(resumed.resumed, "{:?}", resumed.job);
    stack.runner.run_until_idle(settlepaisa_tests::pipeline::IDLE).await.unwrap();
    let job = settlepaisa_store::job::get(&ctx.clients.dynamodb, &ctx.resources.jobs_table, "JOB-SETL-BAD-RATES")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.status, "COMPLETED", "{job:?}");
    assert_eq!(job.settlement_fees.map(|f| f.mdr_bps), Some([0, 205, 190, 190]));
}

/// Daily jobs over two days of captures, with reports that settle each day's captures the next
/// day: each job takes both reports, yet raises nothing one run over both days does not — a row
/// paying the other day's capture is that day's job's to check, never an `UNKNOWN_TXN` of this
/// one — and between them they raise everything it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_jobs_raise_no_finding_the_run_over_their_days_does_not() {
    use settlepaisa_tests::read_csv;
    let w = SettlementWorld::ingested(4_000, 29, 2).await;
    let (api, stack) = (&w.api, &w.api.stack);
    let out = w.dir.path().join("offline");
    w.offline(None, &out);
    let mut want: Vec<(String, String, String, String)> = read_csv(&out.join("settlements.csv"))
        .into_iter()
        .filter(|s| s[12] != "SETTLED")
        .map(|s| (s[12].clone(), s[0].clone(), s[9].clone(), s[10].clone()))
        .chain(
            read_csv(&out.join("settlement_exceptions.csv"))
                .into_iter()
                .map(|l| (l[2].clone(), l[0].clone(), l[3].clone(), l[4].clone())),
        )
        .collect();
    want.sort();
    let settled_on: std::collections::BTreeSet<String> =
        read_csv(&out.join("settlements.csv")).into_iter().map(|s| s[3].clone()).collect();
    assert_eq!(settled_on.len(), 2, "two days of settlements: {settled_on:?}");
    assert!(want.iter().any(|w| w.0 == "UNKNOWN_TXN"), "the data has truly unknown transactions");

    let ops = api.token(settlepaisa_auth::Role::SpOps, None);
    let mut union = std::collections::BTreeSet::new();
    for day in ["2026-10-01", "2026-10-02"] {
        let job_id = format!("JOB-DAY-{day}");
        let req = settlepaisa_pipeline::plan::PlanRequest {
            job_id: Some(job_id.clone()),
            from: day.into(),
            to: day.into(),
            shards: Some(2),
        };
        assert!(settlepaisa_pipeline::plan::handle(&stack.runner.ctx, req).await.unwrap().created);
        stack.runner.run_until_idle(settlepaisa_tests::pipeline::IDLE).await.unwrap();
        let listed = api.all_pages(&ops, &format!("/api/jobs/{job_id}/exceptions?limit=500")).await;
        let got: Vec<(String, String, String, String)> = listed
            .iter()
            .filter(|e| e["settlement"].is_object())
            .map(|e| {
                let f = &e["settlement"];
                let expected = f["expectedPaise"].as_i64().map(|p| p.to_string()).unwrap_or_default();
                let category = e["category"].as_str().unwrap().to_string();
                (category, f["settlementId"].as_str().unwrap().to_string(), expected, f["actualPaise"].to_string())
            })
            .collect();
        assert!(settlepaisa_tests::pipeline::contains_all(&as_rows(&want), &as_rows(&got)), "{job_id}: {got:?}");
        union.extend(got);
    }
    let whole: std::collections::BTreeSet<_> = want.iter().cloned().collect();
    assert_eq!(union, whole, "between them, the daily jobs raise every finding of the two days' run");
}

/// (category, settlement id, expected, actual) of a settlement finding.
type Finding = (String, String, String, String);

fn as_rows(findings: &[Finding]) -> Vec<Vec<String>> {
    findings.iter().map(|(a, b, c, d)| vec![a.clone(), b.clone(), c.clone(), d.clone()]).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_without_settlement_reports_lists_none_and_an_unknown_job_is_404() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 500, 5);
    let api = settlepaisa_tests::api::Api::start().await;
    ingest_all(&api.stack, &pg, &banks).await;
    run_job(&api.stack, "JOB-NO-SETL", 2).await;
    let ops = api.token(settlepaisa_auth::Role::SpFinance, None);
    let r = api.call("GET", "/api/jobs/JOB-NO-SETL/settlements", Some(&ops), None).await;
    assert_eq!((r.status.as_u16(), r.body["items"].as_array().map(Vec::len)), (200, Some(0)), "{}", r.body);
    let r = api.call("GET", "/api/jobs/JOB-NOPE/settlement-checks", Some(&ops), None).await;
    settlepaisa_tests::api::assert_seed_error(&r, 404);
}
