//! Bank connectors (issue 14, part 2) against real servers on loopback: Debian's OpenSSH serving
//! SFTP behind a relay that cuts, stalls and refuses; an HTTP bank that answers 500s and hangs.
//! Each file is taken once, whole, and none is lost; retries back off; the breaker opens after
//! failed runs, skips while open, tries again after its cool-down and closes; the health endpoint
//! says so; payout files reach the bank once, never half.

use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_store::context::ConnectorSettings;
use settlepaisa_tests::api::{now, Api};
use settlepaisa_tests::bank_servers::{HttpBank, HttpMode, Mode, Proxy, SshServer};
use settlepaisa_tests::pipeline::{generated, IDLE};
use std::collections::BTreeMap;

/// The stack's context with a test's timing: 10 ms backoff base, 2 s timeouts, files taken as
/// soon as listed, the breaker opening after 3 failed runs for 600 s.
fn fast(api: &Api) -> &'static settlepaisa_pipeline::Context {
    let mut ctx = api.stack.runner.ctx.clone();
    ctx.connectors = ConnectorSettings {
        backoff_base_ms: 10,
        timeout_secs: 2,
        settle_secs: 0,
        failures_to_open: 3,
        cool_down_secs: 600,
        // The tests move the clock (cool-downs, schedules) through the events' `time`.
        max_event_skew_secs: i64::MAX / 4,
    };
    Box::leak(Box::new(ctx))
}

async fn secret(api: &Api, name: &str, value: Value) {
    let ctx = &api.stack.runner.ctx;
    ctx.clients.secretsmanager().create_secret().name(name).secret_string(value.to_string()).send().await.unwrap();
}

async fn pull(ctx: &settlepaisa_pipeline::Context, event: Value) -> Value {
    settlepaisa_connectors::pull::handle(ctx, event, None).await.unwrap()
}

fn at(t: i64) -> Value {
    json!({ "time": settlepaisa_recon::date::format_utc(t) })
}

/// The uploads bucket's object under `key`.
async fn object(api: &Api, key: &str) -> Vec<u8> {
    let ctx = &api.stack.runner.ctx;
    settlepaisa_aws::s3::get_bytes(&ctx.clients.s3, &ctx.resources.uploads_bucket, key).await.unwrap()
}

async fn health_of(api: &Api, bank: &str) -> Value {
    let ops = api.token(Role::SpOps, None);
    // The generated statements are dated from 2026-10-01.
    let today = settlepaisa_http::time_filter::today();
    let path = format!("/api/connectors/health?from=2026-09-01&to={today}");
    let r = api.call_with("GET", &path, Some(&ops), None, &[("cache-control", "no-cache")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["connectors"].as_array().unwrap().iter().find(|c| c["connector"] == bank).cloned().unwrap()
}

/// Sets a file's modification time (what a connector remembers a file by, with its name and size).
fn touch(path: &std::path::Path, secs: i64) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    std::fs::File::options().write(true).open(path).unwrap().set_modified(t).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sftp_files_are_taken_once_whole_through_cuts_and_timeouts_and_the_breaker_opens_and_closes() {
    let api = Api::start().await;
    let ctx = fast(&api);
    let ssh = SshServer::start();
    let proxy = Proxy::start(ssh.port).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, banks) = generated(dir.path(), 3_000, 31);
    let hdfc = banks.iter().find(|p| p.to_string_lossy().to_lowercase().contains("hdfc")).unwrap();
    let statement = std::fs::read(hdfc).unwrap();
    assert!(statement.len() > 150_000, "big enough to cut mid-file: {}", statement.len());
    let start = now() as i64;
    let first = ssh.outbox().join("HDFC_STMT_1.csv");
    std::fs::write(&first, &statement).unwrap();
    touch(&first, start - 3_600);
    std::fs::write(ssh.outbox().join("notes.txt"), b"not ours").unwrap();
    // A statement past one 8 MiB upload part (the same rows again and again), oldest: taken first.
    let mut big = statement.clone();
    let rows = &statement[statement.iter().position(|b| *b == b'\n').unwrap() + 1..];
    while big.len() < 12 << 20 {
        big.extend_from_slice(rows);
    }
    let big_path = ssh.outbox().join("HDFC_BIG.csv");
    std::fs::write(&big_path, &big).unwrap();
    touch(&big_path, start - 7_200);

    secret(&api, "settlepaisa/connectors/hdfc-test", json!({ "privateKey": ssh.user_key })).await;
    let ops = api.token(Role::SpOps, None);
    let config = json!({
        "kind": "sftp", "host": "127.0.0.1", "port": proxy.port, "username": ssh.user, "hostKey": ssh.host_key,
        "remoteDir": ssh.outbox().to_string_lossy(), "filePattern": "HDFC_*.csv",
        "secretName": "settlepaisa/connectors/hdfc-test", "schedule": "* * * * *",
        "payoutDir": ssh.inbox().to_string_lossy(), "payoutsSince": "2026-10-01",
    });
    let r = api.call("PUT", "/api/connectors/HDFC", Some(&ops), Some(config.clone())).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(!r.body.to_string().contains("BEGIN OPENSSH"), "no secret value in any answer");

    // A cut mid-file, after the first 8 MiB part went up: that upload is abandoned (nothing
    // shows), the retry streams the file again, whole.
    proxy.set(Mode::CutOnceAfter(9_000_000));
    let run = pull(ctx, at(start)).await;
    let report = &run["connectors"][0];
    assert_eq!(report["outcome"], "ran", "{run}");
    assert_eq!(report["taken"], json!(["incoming/HDFC/HDFC_BIG.csv", "incoming/HDFC/HDFC_STMT_1.csv"]));
    assert!(report["retries"].as_u64().unwrap() >= 1, "the cut was retried: {run}");
    assert_eq!(object(&api, "incoming/HDFC/HDFC_BIG.csv").await, big, "every byte, once, in parts");
    assert_eq!(object(&api, "incoming/HDFC/HDFC_STMT_1.csv").await, statement);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let health = health_of(&api, "hdfc").await;
    assert_eq!(health["filesReceived"], 2, "ingestion ran as for any drop: {health}");
    assert_eq!(health["pull"]["breaker"], "closed");

    // Nothing twice: the next run lists and takes nothing; a new file and a rewritten one are taken.
    let run = pull(ctx, at(start + 60)).await;
    assert_eq!(run["connectors"][0]["taken"], json!([]), "{run}");
    let second = ssh.outbox().join("HDFC_STMT_2.csv");
    std::fs::write(&second, &statement[..statement.len() / 2]).unwrap();
    std::fs::write(&first, [&statement[..], b"\n"].concat()).unwrap();
    touch(&first, start + 30);
    let run = pull(ctx, at(start + 120)).await;
    let mut taken: Vec<String> = serde_json::from_value(run["connectors"][0]["taken"].clone()).unwrap();
    taken.sort();
    assert_eq!(taken, ["incoming/HDFC/HDFC_STMT_1.csv", "incoming/HDFC/HDFC_STMT_2.csv"], "{run}");

    // The bank takes payout files by SFTP: pushed once, whole, under their name.
    let ctx0 = &api.stack.runner.ctx;
    let payout = b"payout file body\n".repeat(1_000);
    let key = "outgoing/payouts/HDFC/2026-10-02/payouts-run1.csv";
    settlepaisa_aws::s3::put(&ctx0.clients.s3, &ctx0.resources.artifacts_bucket, key, payout.clone()).await.unwrap();
    let run = pull(ctx, at(start + 180)).await;
    assert_eq!(run["connectors"][0]["pushed"], json!([key]), "{run}");
    assert_eq!(std::fs::read(ssh.inbox().join("2026-10-02_payouts-run1.csv")).unwrap(), payout);
    let left: Vec<String> =
        std::fs::read_dir(ssh.inbox()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert_eq!(left, ["2026-10-02_payouts-run1.csv"], "no half-written file left behind");
    let run = pull(ctx, at(start + 240)).await;
    assert_eq!(run["connectors"][0]["pushed"], json!([]), "pushed once");

    // The bank goes away: refused, then stalled past the timeout, then refused. Three failed
    // runs, each retried with backoff, open the breaker.
    let mut t = start + 300;
    for mode in [Mode::Refuse, Mode::Stall, Mode::Refuse] {
        proxy.set(mode);
        let before = proxy.connections();
        let run = pull(ctx, at(t)).await;
        assert_eq!(run["connectors"][0]["outcome"], "failed", "{run}");
        assert_eq!(proxy.connections() - before, 4, "{mode:?}: four attempts, with backoff between");
        t += 60;
    }
    let health = health_of(&api, "hdfc").await;
    assert_eq!(health["status"], "circuit_open", "{health}");
    assert_eq!(health["pull"]["breaker"], "open");
    assert!(health["pull"]["lastError"].as_str().unwrap().contains("connect"), "{health}");
    // A file arriving while the bank is unreachable is not lost: taken once the breaker closes.
    let third = ssh.outbox().join("HDFC_STMT_3.csv");
    std::fs::write(&third, &statement[..1_000]).unwrap();
    touch(&third, start);
    // Open: runs within the cool-down do not touch the bank.
    let before = proxy.connections();
    let run = pull(ctx, at(t)).await;
    assert_eq!(run["connectors"][0]["outcome"], "skipped", "{run}");
    assert_eq!(proxy.connections(), before, "a dead endpoint is not hammered");
    // After the cool-down, a trial run; the bank is back: closed again, the waiting file taken.
    proxy.set(Mode::Pass);
    let run = pull(ctx, at(t + 700)).await;
    assert_eq!(run["connectors"][0]["outcome"], "ran", "{run}");
    assert_eq!(run["connectors"][0]["taken"], json!(["incoming/HDFC/HDFC_STMT_3.csv"]));
    let health = health_of(&api, "hdfc").await;
    assert_eq!(health["pull"]["breaker"], "closed", "{health}");
    assert_eq!(health["pull"]["lastSuccessAt"], settlepaisa_recon::date::format_utc(t + 700));

    // Every breaker change was recorded, and no read shows the secret.
    let r = api.call("GET", "/api/connectors/HDFC", Some(&ops), None).await;
    let changes: Vec<&str> = r.body["changes"].as_array().unwrap().iter().filter_map(|c| c["what"].as_str()).collect();
    for change in ["breaker closed → open", "breaker open → half_open", "breaker half_open → closed"] {
        assert!(changes.contains(&change), "{change}: {changes:?}");
    }
    assert!(!r.body.to_string().contains("BEGIN OPENSSH"));
    assert_eq!(r.body["state"]["filesTaken"], 5);

    // A server whose host key is not the pinned one is refused at once, not retried.
    let user_pub = std::fs::read_to_string(ssh.dir.path().join("user_key.pub")).unwrap();
    let mut wrong = config;
    wrong["hostKey"] = json!(user_pub.split_whitespace().take(2).collect::<Vec<_>>().join(" "));
    wrong["template"] = json!("hdfc");
    wrong["enabled"] = json!(false);
    assert_eq!(api.call("PUT", "/api/connectors/HDFCB", Some(&ops), Some(wrong)).await.status, 201);
    let before = proxy.connections();
    let run = pull(ctx, json!({ "connector": "HDFCB" })).await;
    assert_eq!(run["connectors"][0]["outcome"], "failed", "{run}");
    assert!(run["connectors"][0]["error"].as_str().unwrap().contains("pinned"), "{run}");
    assert_eq!(proxy.connections() - before, 1, "a wrong host key is not tried again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_statements_come_once_through_500s_and_hangs_and_bad_configurations_are_refused() {
    let api = Api::start().await;
    let ctx = fast(&api);
    let bank = HttpBank::start("k-123").await;
    let today = settlepaisa_recon::date::ist_date(now() as i64);
    bank.put(&format!("{today}.csv"), b"statement of today\n".to_vec(), "\"v1\"");
    secret(&api, "settlepaisa/connectors/icici-test", json!({ "apiKey": "k-123" })).await;
    let ops = api.token(Role::SpOps, None);
    let config = json!({
        "kind": "https", "host": "127.0.0.1", "port": bank.port, "tls": false, "urlTemplate": "/v1/statements/{date}.csv",
        "secretName": "settlepaisa/connectors/icici-test", "schedule": "0 7 * * *", "template": "icici",
    });
    assert_eq!(api.call("PUT", "/api/connectors/ICICI", Some(&ops), Some(config.clone())).await.status, 201);

    // Two 500s, then the file: retried with backoff within the run, taken once.
    bank.set(HttpMode::Fail(2));
    let run = pull(ctx, json!({ "connector": "ICICI" })).await;
    let report = &run["connectors"][0];
    assert_eq!(report["outcome"], "ran", "{run}");
    assert_eq!(report["taken"], json!([format!("incoming/icici/{today}.csv")]));
    assert_eq!(report["retries"], 2);
    assert_eq!(object(&api, &format!("incoming/icici/{today}.csv")).await, b"statement of today\n");
    // Again: the same ETag, nothing taken; a new version of the day's file is taken.
    let run = pull(ctx, json!({ "connector": "ICICI" })).await;
    assert_eq!(run["connectors"][0]["taken"], json!([]), "{run}");
    bank.put(&format!("{today}.csv"), b"statement of today, corrected\n".to_vec(), "\"v2\"");
    let run = pull(ctx, json!({ "connector": "ICICI" })).await;
    assert_eq!(run["connectors"][0]["taken"].as_array().unwrap().len(), 1, "{run}");

    // A bank that never answers: each attempt ends at the timeout; the run fails and says so.
    bank.set(HttpMode::Hang);
    let run = pull(ctx, json!({ "connector": "ICICI" })).await;
    assert_eq!(run["connectors"][0]["outcome"], "failed", "{run}");
    assert!(run["connectors"][0]["error"].as_str().unwrap().contains("no answer"), "{run}");
    bank.set(HttpMode::Ok);

    // Scheduled: not due at 06:59 IST, due at 07:00.
    let day0 = settlepaisa_recon::date::Date::parse_iso("2026-10-05").unwrap();
    let seven = i64::from(day0.0) * 86_400 + 7 * 3_600 - 19_800;
    let axis = json!({
        "kind": "https", "host": "127.0.0.1", "port": bank.port, "tls": false, "urlTemplate": "/v1/statements/{date}.csv",
        "secretName": "settlepaisa/connectors/icici-test", "schedule": "0 7 * * *", "template": "axis",
    });
    assert_eq!(api.call("PUT", "/api/connectors/AXIS", Some(&ops), Some(axis)).await.status, 201);
    let run = pull(ctx, at(seven - 60)).await;
    assert!(run["connectors"].as_array().unwrap().iter().all(|c| c["connector"] != "AXIS"), "not due at 06:59: {run}");
    let run = pull(ctx, at(seven + 60)).await;
    let axis_run = run["connectors"].as_array().unwrap().iter().find(|c| c["connector"] == "AXIS").cloned();
    assert_eq!(axis_run.map(|c| c["outcome"].clone()), Some(json!("ran")), "due at 07:00, run at 07:01: {run}");

    // Configurations that would leak or misroute are refused with what to fix.
    let refuse = |body: Value, says: &'static str| {
        let (api, ops) = (&api, ops.clone());
        async move {
            let r = api.call("PUT", "/api/connectors/SBI", Some(&ops), Some(body)).await;
            assert_eq!(r.status, 400, "{says}: {}", r.body);
            assert!(r.body["error"]["message"].as_str().unwrap().contains(says), "{says}: {}", r.body);
        }
    };
    let mut with_password = config.clone();
    with_password["password"] = json!("hunter2");
    refuse(with_password, "unknown field").await;
    let mut plain_remote = config.clone();
    plain_remote["host"] = json!("statements.axisbank.example");
    plain_remote["template"] = json!("axis");
    refuse(plain_remote, "loopback").await;
    let mut bad_secret = config.clone();
    bad_secret["secretName"] = json!("prod/db-password");
    refuse(bad_secret, "secretName").await;
    let mut bad_cron = config;
    bad_cron["schedule"] = json!("daily");
    refuse(bad_cron, "cron").await;
    // A stale If-Match is a conflict, not an overwrite.
    let r = api.call_with("PUT", "/api/connectors/ICICI", Some(&ops), Some(json!({
        "kind": "https", "host": "127.0.0.1", "port": bank.port, "tls": false, "urlTemplate": "/v1/statements/{date}.csv",
        "secretName": "settlepaisa/connectors/icici-test", "schedule": "0 8 * * *", "template": "icici",
    })), &[("if-match", "7")]).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let listed = api.call("GET", "/api/connectors", Some(&ops), None).await;
    let schedules: BTreeMap<String, String> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["bank"].as_str().unwrap().to_string(), c["config"]["schedule"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(schedules["ICICI"], "0 7 * * *", "the stale If-Match changed nothing");
    assert!(bank.requests() > 0);
}
