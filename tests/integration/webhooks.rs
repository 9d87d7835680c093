//! PG webhooks (issue 14) through the stack: only a signed, fresh delivery is stored; each
//! `webhook-id` takes effect once however often and however concurrently it comes; a
//! transaction's events give the same result in any arrival order; refunds wait for their payment
//! and reach settlement once; a PG file export replaces the webhook rows it holds, either order,
//! and what it disagrees on is a conflict.

use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_pg_events::signature::{parse_keys, sign, SigningKey, LOCAL_DEVELOPMENT_KEY};
use settlepaisa_recon::date::Date;
use settlepaisa_tests::api::{assert_seed_error, now, Api, Reply};
use settlepaisa_tests::pipeline::IDLE;
use std::collections::BTreeMap;

fn local_key() -> SigningKey {
    parse_keys(LOCAL_DEVELOPMENT_KEY).unwrap().remove(0)
}

fn today() -> Date {
    settlepaisa_http::time_filter::today()
}

/// The IST day before today. Events are put on it at 10:00 IST and up to 07:00 UTC: on today,
/// those times are still ahead of the clock before 04:30 UTC (the ingestion refuses an event from
/// the future), so a run late in the UTC day failed. Yesterday's are past at any hour.
fn past_day() -> Date {
    today().add_days(-1)
}

/// An IST time on `day` as RFC 3339, `seconds` after 10:00.
fn at(day: Date, seconds: u32) -> String {
    format!("{day}T10:{:02}:{:02}+05:30", seconds / 60 % 60, seconds % 60)
}

fn payment(id: &str, txn: &str, status: &str, created_at: &str, amount: i64, day: Date) -> Value {
    json!({
        "id": id,
        "type": format!("payment.{status}"),
        "created_at": created_at,
        "data": {
            "txn_id": txn, "merchant_id": "MERCH001", "merchant_ref": format!("ORD-{txn}"), "method": "CARD",
            "amount_paise": amount, "status": status, "utr": null, "captured_at": at(day, 0),
        },
    })
}

fn refund(id: &str, refund_id: &str, txn: &str, amount: i64, refunded_at: &str) -> Value {
    json!({
        "id": id, "type": "refund.processed", "created_at": refunded_at,
        "data": { "refund_id": refund_id, "txn_id": txn, "amount_paise": amount, "refunded_at": refunded_at },
    })
}

/// Delivers `body`'s exact bytes with Standard Webhooks headers: signed by `key` at `ts`.
async fn deliver_as(api: &Api, app: &axum::Router, body: &[u8], id: &str, key: &SigningKey, ts: i64) -> Reply {
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("webhook-id".to_string(), id.to_string()),
        ("webhook-timestamp".to_string(), ts.to_string()),
        ("webhook-signature".to_string(), sign(key, id, ts, body)),
    ];
    api.raw(app, "POST", "/webhooks/pg", &headers, body.to_vec()).await
}

async fn deliver(api: &Api, event: &Value) -> Reply {
    let body = event.to_string().into_bytes();
    deliver_as(api, &api.app, &body, event["id"].as_str().unwrap(), &local_key(), now() as i64).await
}

/// The day's transactions as the API lists them (all pages): txn id → row.
async fn listed(api: &Api, day: Date) -> Vec<Value> {
    let ops = api.token(Role::SpOps, None);
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/transactions?from={day}&to={day}&limit=200");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = api.call("GET", &path, Some(&ops), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// The receipt of a delivery, if any was stored.
async fn receipt(api: &Api, id: &str) -> Option<BTreeMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let ctx = &api.stack.runner.ctx;
    ctx.clients
        .dynamodb
        .get_item()
        .table_name(&ctx.resources.pg_events_table)
        .key("pk", settlepaisa_aws::dynamo::sv(format!("E#{id}")))
        .key("sk", settlepaisa_aws::dynamo::sv("RECEIPT"))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .map(|i| i.into_iter().collect())
}

/// The refund deductions the webhooks recorded for settlement on `day`: refund id → paise.
async fn deductions(api: &Api, day: Date) -> BTreeMap<String, i64> {
    let ctx = &api.stack.runner.ctx;
    let found =
        settlepaisa_store::pg_events::refunds_on(&ctx.clients.dynamodb, &ctx.resources.settlements_table, &[day])
            .await
            .unwrap();
    let mut out = BTreeMap::new();
    for (r, _) in found {
        assert!(out.insert(r.refund_id.clone(), r.amount.0).is_none(), "each refund once");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_signed_fresh_deliveries_are_stored_and_a_replay_changes_nothing() {
    let api = Api::start().await;
    let day = past_day();
    let event = payment("evt_sig_1", "TXN-SIG-1", "captured", &at(day, 1), 50_000, day);
    let body = event.to_string().into_bytes();
    let now = now() as i64;
    let other = SigningKey::from_bytes(vec![7u8; 32]);
    let mut changed = body.clone();
    let i = changed.iter().position(|b| *b == b'5').unwrap();
    changed[i] = b'6'; // 50000 → 60000: one byte
    let refusals = [
        ("another key", deliver_as(&api, &api.app, &body, "evt_sig_1", &other, now).await),
        ("301 s old", deliver_as(&api, &api.app, &body, "evt_sig_1", &local_key(), now - 301).await),
        ("301 s ahead", deliver_as(&api, &api.app, &body, "evt_sig_1", &local_key(), now + 301).await),
        ("body changed after signing", {
            let headers = vec![
                ("content-type".to_string(), "application/json".to_string()),
                ("webhook-id".to_string(), "evt_sig_1".to_string()),
                ("webhook-timestamp".to_string(), now.to_string()),
                ("webhook-signature".to_string(), sign(&local_key(), "evt_sig_1", now, &body)),
            ];
            api.raw(&api.app, "POST", "/webhooks/pg", &headers, changed.clone()).await
        }),
        ("no signature", {
            let headers = vec![
                ("webhook-id".to_string(), "evt_sig_1".to_string()),
                ("webhook-timestamp".to_string(), now.to_string()),
            ];
            api.raw(&api.app, "POST", "/webhooks/pg", &headers, body.clone()).await
        }),
    ];
    for (what, r) in &refusals {
        assert_seed_error(r, 401);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("webhook-"), "{what}: {}", r.body);
    }
    assert!(receipt(&api, "evt_sig_1").await.is_none(), "a refused delivery stores nothing");
    assert_eq!(api.stack.runner.queue_depth("PgEventsQueue").await.unwrap(), 0, "and queues nothing");

    // Signed: 200, recorded once; the replay gets the same 200 and queues nothing more.
    let first = deliver(&api, &event).await;
    assert_eq!((first.status.as_u16(), &first.body["duplicate"]), (200, &json!(false)), "{}", first.body);
    let replay = deliver(&api, &event).await;
    assert_eq!((replay.status.as_u16(), &replay.body["duplicate"]), (200, &json!(true)), "{}", replay.body);
    assert_eq!(api.stack.runner.queue_depth("PgEventsQueue").await.unwrap(), 1);
    // The same id with another body: refused, the first stands.
    let mut other_body = event.clone();
    other_body["data"]["amount_paise"] = json!(1);
    assert_seed_error(&deliver(&api, &other_body).await, 409);
    // The header and the event must name one event.
    let mismatched = deliver_as(&api, &api.app, &body, "evt_sig_other", &local_key(), now).await;
    assert_seed_error(&mismatched, 400);
    // Money as a fraction is refused, never rounded.
    let fraction = event.to_string().replace("50000", "500.5").replace("evt_sig_1", "evt_sig_2");
    let r = deliver_as(&api, &api.app, fraction.as_bytes(), "evt_sig_2", &local_key(), now).await;
    assert_seed_error(&r, 400);

    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let rows = listed(&api, day).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["txnId"].as_str(), rows[0]["amountPaise"].as_i64()), (Some("TXN-SIG-1"), Some(50_000)));
    assert_eq!(rows[0]["source"], "webhook");

    // Key rotation: the PG signs with its new key while both are configured.
    let new = SigningKey::from_bytes(vec![9u8; 32]);
    let rotated = api.stack.runner.ctx.with_pg_webhook_secret(settlepaisa_store::context::SecretSetting::Value(
        format!("{} {LOCAL_DEVELOPMENT_KEY}", new.to_whsec()),
    ));
    let rotated: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(rotated));
    let app = settlepaisa_cli::local::api::router(rotated, api.auth.clone());
    let e2 = payment("evt_rot_1", "TXN-ROT-1", "captured", &at(day, 2), 1_000, day);
    let b2 = e2.to_string().into_bytes();
    let both = format!("{} {}", sign(&new, "evt_rot_1", now, &b2), sign(&local_key(), "evt_rot_1", now, &b2));
    let headers = vec![
        ("webhook-id".to_string(), "evt_rot_1".to_string()),
        ("webhook-timestamp".to_string(), now.to_string()),
        ("webhook-signature".to_string(), both),
    ];
    assert_eq!(api.raw(&app, "POST", "/webhooks/pg", &headers, b2.clone()).await.status, 200);
    let e3 = payment("evt_rot_2", "TXN-ROT-2", "captured", &at(day, 3), 1_000, day);
    let b3 = e3.to_string().into_bytes();
    assert_eq!(deliver_as(&api, &app, &b3, "evt_rot_2", &new, now).await.status, 200, "the new key alone");
    assert_eq!(
        deliver_as(&api, &api.app, &b3, "evt_rot_2", &new, now).await.status,
        401,
        "not before it is configured"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_in_any_order_give_one_result_and_refunds_wait_for_their_payment_and_settle_once() {
    let api = Api::start().await;
    let day = past_day();
    // TXN-A: failed, then captured 800 ms later — delivered captured first.
    let failed = payment("evt_a1", "TXN-A", "failed", &format!("{day}T04:30:00.100Z"), 70_000, day);
    let captured = payment("evt_a2", "TXN-A", "captured", &format!("{day}T04:30:00.900Z"), 70_000, day);
    // TXN-B: two refunds, the first arriving before its payment; one past the payment's amount.
    let pay_b = payment("evt_b1", "TXN-B", "captured", &at(day, 5), 30_000, day);
    let r1 = refund("evt_b2", "RF-B-1", "TXN-B", 10_000, &format!("{day}T06:00:00Z"));
    let r2 = refund("evt_b3", "RF-B-2", "TXN-B", 25_000, &format!("{day}T06:30:00Z"));
    let r3 = refund("evt_b4", "RF-B-3", "TXN-B", 20_000, &format!("{day}T07:00:00Z"));
    for e in [&captured, &r1] {
        assert_eq!(deliver(&api, e).await.status, 200);
    }
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    assert!(deductions(&api, day).await.is_empty(), "no refund before its payment");
    for e in [&failed, &pay_b, &r1, &r2, &r3, &captured] {
        assert_eq!(deliver(&api, e).await.status, 200);
    }
    api.stack.runner.run_until_idle(IDLE).await.unwrap();

    let rows: BTreeMap<String, Value> =
        listed(&api, day).await.into_iter().map(|r| (r["txnId"].as_str().unwrap().to_string(), r)).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows["TXN-A"]["status"], "captured", "the latest event by created_at, not by arrival");
    assert_eq!(rows["TXN-B"]["refundedPaise"], 30_000, "10,000 + 20,000; 25,000 would pass the payment");
    assert_eq!(deductions(&api, day).await, BTreeMap::from([("RF-B-1".into(), 10_000), ("RF-B-3".into(), 20_000)]));

    // The overview follows at once: its cached figures are dropped when the counters move.
    let ops = api.token(Role::SpOps, None);
    let path = format!("/api/overview?from={day}&to={day}");
    let before = api.call("GET", &path, Some(&ops), None).await;
    assert_eq!(before.body["overview"]["webhooks"]["capturedCount"], 2, "{}", before.body);
    assert_eq!(before.body["overview"]["webhooks"]["refundsDeductedPaise"], 30_000);
    let cached = api.call("GET", &path, Some(&ops), None).await;
    assert_eq!(cached.headers["x-cache"], "HIT");
    let late = payment("evt_c1", "TXN-C", "captured", &at(day, 9), 5_000, day);
    assert_eq!(deliver(&api, &late).await.status, 200);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let after = api.call("GET", &path, Some(&ops), None).await;
    assert_eq!(after.headers["x-cache"], "MISS", "the change dropped the cached figures");
    assert_eq!(after.body["overview"]["webhooks"]["capturedCount"], 3);

    // The refunds reach the settlement run as deductions of TXN-B's merchant, once.
    let ctx = &api.stack.runner.ctx;
    let (inputs, _) = settlepaisa_settlement::inputs::load(ctx, day.add_days(-7), day).await.unwrap();
    let ids: Vec<&str> = inputs.refunds.iter().map(|r| r.refund_id.as_str()).collect();
    assert_eq!(ids, ["RF-B-1", "RF-B-3"]);
    assert_eq!(inputs.owners["TXN-B"], "MERCH001");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_deliveries_of_a_hundred_events_each_take_effect_once() {
    let api = Api::start().await;
    let day = past_day();
    let mut events = Vec::new();
    for i in 0..60 {
        events.push(payment(
            &format!("evt_p{i}"),
            &format!("TXN-C{i:02}"),
            "captured",
            &at(day, i),
            10_000 + i as i64,
            day,
        ));
    }
    for i in 0..40 {
        let when = format!("{day}T08:{:02}:00Z", i);
        events.push(refund(
            &format!("evt_r{i}"),
            &format!("RF-C{i:02}"),
            &format!("TXN-C{i:02}"),
            1_000 + i as i64,
            &when,
        ));
    }
    let bodies: Vec<(String, Vec<u8>)> =
        events.iter().map(|e| (e["id"].as_str().unwrap().to_string(), e.to_string().into_bytes())).collect();
    let key = local_key();
    let ts = now() as i64;
    // 1,000 deliveries at once, copies of one event 100 apart: every event's copies race each
    // other. A delivery answered 5xx (the emulator, one Python process, can fall behind) is sent
    // again, as a PG's retry schedule would.
    let calls = (0..1000).map(|n| {
        let (id, body) = &bodies[(n * 37) % bodies.len()];
        let (api, key) = (&api, &key);
        async move {
            for attempt in 0..5 {
                let r = deliver_as(api, &api.app, body, id, key, ts).await;
                if r.status.as_u16() < 500 || attempt == 4 {
                    return r;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            unreachable!()
        }
    });
    let replies: Vec<Reply> = futures_util::future::join_all(calls).await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().find(|r| r.status != 200).map(|r| &r.body));
    let first = replies.iter().filter(|r| r.body["duplicate"] == false).count();
    assert!((1..=100).contains(&first), "a receipt per id: {first} first deliveries");
    api.stack.runner.run_until_idle(IDLE).await.unwrap();

    let mut ids: Vec<String> =
        listed(&api, day).await.iter().map(|r| r["txnId"].as_str().unwrap().to_string()).collect();
    ids.sort();
    let want: Vec<String> = (0..60).map(|i| format!("TXN-C{i:02}")).collect();
    assert_eq!(ids, want, "each transaction listed once");
    let refunds = deductions(&api, day).await;
    assert_eq!(refunds.len(), 40);
    assert_eq!(refunds.values().sum::<i64>(), (0..40).map(|i| 1_000 + i).sum::<i64>());
    let ops = api.token(Role::SpOps, None);
    let o = api.call("GET", &format!("/api/overview?from={day}&to={day}"), Some(&ops), None).await;
    let w = &o.body["overview"]["webhooks"];
    assert_eq!((w["capturedCount"].as_i64(), w["refundsDeductedCount"].as_i64()), (Some(60), Some(40)), "{w}");
    assert_eq!(w["capturedAmountPaise"], (0..60).map(|i| 10_000 + i).sum::<i64>());
}

/// The stack's API on a loopback port with the mock PG delivering to it, as `local up` runs.
async fn served(api: &Api) -> (&'static settlepaisa_pipeline::Context, axum::Router) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut ctx = api.stack.runner.ctx.clone();
    ctx.pg_webhook_url = Some(format!("http://{addr}/webhooks/pg"));
    let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(ctx));
    let app = settlepaisa_cli::local::api::router(ctx, api.auth.clone());
    let serving = app.clone();
    tokio::spawn(async move { axum::serve(listener, serving).await.unwrap() });
    (ctx, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_export_replaces_the_webhook_rows_it_holds_in_either_order_and_disagreements_are_conflicts() {
    let api = Api::start().await;
    let (_ctx, app) = served(&api).await;
    let ops = api.token(Role::SpOps, None);
    let day = past_day();
    let seed = |deliver: &str, seed: u64| json!({ "count": 40, "startDate": day.to_string(), "days": 1, "seed": seed, "deliver": deliver });
    let api_ref = &api;
    let call = |body: Value| {
        let app = app.clone();
        let ops = ops.clone();
        async move {
            let headers = vec![
                ("authorization".to_string(), format!("Bearer {ops}")),
                ("content-type".to_string(), "application/json".to_string()),
            ];
            api_ref.raw(&app, "POST", "/admin/seed", &headers, body.to_string().into_bytes()).await
        }
    };
    // Seed 11: the webhooks applied, then the export. Seed 12: the export ingested, then the
    // same transactions' webhooks. Seed 13: both in one request (the webhooks queued, the export
    // dropped; the stack takes them in whatever order).
    let r = call(seed("webhook", 11)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["webhooks"]["failed"], 0, "{}", r.body);
    let delivered = r.body["webhooks"]["delivered"].as_u64().unwrap();
    assert!(delivered > 30, "captured and failed payments are delivered: {}", r.body);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    assert!(listed(api_ref, day).await.iter().all(|r| r["source"] == "webhook"));
    let export_11 = call(seed("file", 11)).await;
    assert_eq!(export_11.status, 202);
    let r = call(seed("both", 13)).await;
    assert_eq!((r.status.as_u16(), &r.body["webhooks"]["failed"]), (202, &json!(0)), "{}", r.body);
    assert_eq!(call(seed("file", 12)).await.status, 202);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let r = call(seed("webhook", 12)).await;
    assert_eq!(r.body["webhooks"]["failed"], 0, "{}", r.body);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();

    let rows = listed(&api, day).await;
    let mut ids: Vec<&str> = rows.iter().map(|r| r["txnId"].as_str().unwrap()).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "no transaction listed twice");
    assert_eq!(n, 120, "the three exports' rows, all statuses");
    assert!(rows.iter().all(|r| r["source"] == "file"), "every webhook row a file holds is hidden");
    let conflicts =
        api.call("GET", &format!("/api/transactions?from={day}&to={day}&conflicts=true"), Some(&ops), None).await;
    assert_eq!(conflicts.body["items"], json!([]), "the export and the webhooks agree");

    // The PG now says one captured transaction failed: the file keeps its row, the conflict is kept.
    let t = rows.iter().find(|r| r["status"] == "captured").unwrap();
    let txn = t["txnId"].as_str().unwrap();
    let late = json!({
        "id": format!("evt_{txn}_late"), "type": "payment.failed",
        "created_at": settlepaisa_recon::date::format_utc(now() as i64),
        "data": {
            "txn_id": txn, "merchant_id": t["merchantId"], "merchant_ref": t["merchantRef"].as_str().unwrap_or(""),
            "method": t["method"],
            "amount_paise": t["amountPaise"], "status": "failed", "utr": t["utr"], "captured_at": t["capturedAt"],
        },
    });
    assert_eq!(deliver(&api, &late).await.status, 200);
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let conflicts =
        api.call("GET", &format!("/api/transactions?from={day}&to={day}&conflicts=true"), Some(&ops), None).await;
    let items = conflicts.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", conflicts.body);
    assert_eq!(items[0]["txnId"], txn);
    assert_eq!(items[0]["differences"], json!([{ "field": "status", "file": "captured", "webhook": "failed" }]));
    let again: Vec<Value> = listed(&api, day).await;
    let row = again.iter().find(|r| r["txnId"] == txn).unwrap();
    assert_eq!((row["status"].as_str(), row["source"].as_str()), (Some("captured"), Some("file")), "not overwritten");
    // The export that held seed 11's ids is deleted: its rows go, and the webhooks' rows show
    // again — the transactions do not vanish.
    let key = export_11.body["key"].as_str().unwrap();
    let ctx = &api.stack.runner.ctx;
    let bucket = &ctx.resources.uploads_bucket;
    let marker = ctx.clients.s3.delete_object().bucket(bucket).key(key).send().await.unwrap().version_id.unwrap();
    // The removal's S3 event, as S3 sends it (the emulator does not).
    let removed =
        settlepaisa_tests::pipeline::s3_event("ObjectRemoved:DeleteMarkerCreated", bucket, key, Some(&marker));
    settlepaisa_pipeline::ingest::handle(ctx, removed).await.unwrap();
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let after_delete = listed(&api, day).await;
    let prefix = export_11.body["txnIdPrefix"].as_str().unwrap();
    let of_11: Vec<&Value> = after_delete.iter().filter(|r| r["txnId"].as_str().unwrap().starts_with(prefix)).collect();
    assert!(!of_11.is_empty() && of_11.iter().all(|r| r["source"] == "webhook"), "{of_11:?}");
    assert_eq!(after_delete.len(), 120 - 40 + of_11.len(), "seed 11's export rows gone, its webhook rows back");

    // Conflicts are ops' work: a merchant is refused, not shown an empty list.
    let merchant = api.token(Role::MerchantAdmin, Some("MERCH001"));
    let r =
        api.call("GET", &format!("/api/transactions?from={day}&to={day}&conflicts=true"), Some(&merchant), None).await;
    assert_seed_error(&r, 403);
}
