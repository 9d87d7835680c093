//! The merchant portal and the ops settlement API over a reconciled day two days ago: an
//! on-demand settlement requested once (the same Idempotency-Key answers the same request),
//! refused while the merchant is on hold or when nothing is left, and paid on its day whatever
//! the merchant's T+N; a merchant sees its own settlements and no other's; ops read batches and
//! their lines, and hold a merchant.

use serde_json::json;
use settlepaisa_auth::Role;
use settlepaisa_tests::api::{assert_seed_error, reconciled_days_ago};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_on_demand_settlement_is_requested_once_and_paid_on_its_day() {
    let dir = tempfile::tempdir().unwrap();
    let today = settlepaisa_http::time_filter::today();
    let (api, _) = reconciled_days_ago(dir.path(), 1_500, 2, "JOB-PORTAL").await;
    let ctx = api.ctx;

    // MERCH005 settles T+2; it asks for everything on the next business day instead.
    let m = "MERCH005";
    let merchant = api.token(Role::MerchantAdmin, Some(m));
    let other = api.token(Role::MerchantAdmin, Some("MERCH003"));
    let (ops, finance) = (api.token(Role::SpOps, None), api.token(Role::SpFinance, None));
    let day = ctx.settlement.calendar.add_business_days(today.add_days(1), 0);
    let body = json!({ "date": day.to_string() });
    let schedule = |token: String, key: &'static str, body: serde_json::Value| {
        let api = &api;
        async move {
            api.call_with(
                "POST",
                "/merchant/settlement/schedule",
                Some(&token),
                Some(body),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let dash = api.call("GET", "/merchant/dashboard", Some(&merchant), None).await;
    assert_eq!(dash.status, 200, "{}", dash.body);
    let awaiting = dash.body["pendingSettlement"]["awaitingPaise"].as_i64().unwrap();
    assert!(awaiting > 0, "{}", dash.body);
    assert_eq!(dash.body["lastSettlement"], serde_json::Value::Null);

    // No key: refused. On hold: refused with why.
    let r = api.call("POST", "/merchant/settlement/schedule", Some(&merchant), Some(body.clone())).await;
    assert_seed_error(&r, 400);
    let hold =
        api.call("PATCH", &format!("/api/merchants/{m}"), Some(&ops), Some(json!({ "status": "ON_HOLD" }))).await;
    assert_eq!((hold.status.as_u16(), hold.body["status"].as_str()), (200, Some("ON_HOLD")), "{}", hold.body);
    assert!(hold.body["accountNumber"].as_str().unwrap().starts_with("XXXX"), "masked: {}", hold.body);
    let r = schedule(merchant.clone(), "portal-key-0001", body.clone()).await;
    assert_seed_error(&r, 409);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("ON_HOLD"), "{}", r.body);
    let release =
        api.call("PATCH", &format!("/api/merchants/{m}"), Some(&ops), Some(json!({ "status": "ACTIVE" }))).await;
    assert_eq!(release.status, 200);
    // A bad edit is refused with the import's reason, and changes nothing.
    let bad = api.call("PATCH", &format!("/api/merchants/{m}"), Some(&ops), Some(json!({ "ifsc": "HDFC12345" }))).await;
    assert_seed_error(&bad, 400);

    // Requested: 202; the same key again: 200, the same request; for another date: 409.
    let first = schedule(merchant.clone(), "portal-key-0002", body.clone()).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["status"], "SCHEDULED");
    assert!(first.body["estimatedNetPaise"].as_i64().unwrap() > 0);
    let again = schedule(merchant.clone(), "portal-key-0002", body.clone()).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &first.body));
    let later = ctx.settlement.calendar.add_business_days(day.add_days(1), 0);
    let r = schedule(merchant.clone(), "portal-key-0002", json!({ "date": later.to_string() })).await;
    assert_seed_error(&r, 409);
    // Another key for the same day: one request a merchant and day.
    let r = schedule(merchant.clone(), "portal-key-0009", body.clone()).await;
    assert_seed_error(&r, 409);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("already scheduled"), "{}", r.body);
    // Not a business day, or today: refused.
    let sunday = (1..8).map(|i| today.add_days(i)).find(|d| (d.0 + 3).rem_euclid(7) == 6).unwrap();
    assert_seed_error(&schedule(merchant.clone(), "portal-key-0003", json!({ "date": sunday.to_string() })).await, 400);
    assert_seed_error(&schedule(merchant.clone(), "portal-key-0004", json!({ "date": today.to_string() })).await, 400);

    // The day's run pays everything matched, though T+2 is not due yet.
    let run = Box::pin(settlepaisa_settlement::cycle_run::run(ctx, day)).await.unwrap();
    let id = format!("STL-{m}-{}", day.to_string().replace('-', ""));
    assert!(run.batches.contains(&id), "{run:?}");
    assert!(run.requests_answered >= 1);
    let mine = api.call("GET", &format!("/merchant/settlements/{id}?limit=500"), Some(&merchant), None).await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    assert_eq!(mine.body["onDemand"], true);
    assert_eq!(mine.body["status"], "SENT_TO_BANK");
    let lines = mine.body["lines"].as_array().unwrap();
    let payments = lines.iter().filter(|l| l["kind"] == "payment").count() as u64;
    assert_eq!(payments, mine.body["txns"].as_u64().unwrap());
    let sum: i64 = lines
        .iter()
        .map(|l| l["amountPaise"].as_i64().unwrap() - l["feePaise"].as_i64().unwrap() - l["gstPaise"].as_i64().unwrap())
        .sum();
    assert_eq!(sum, mine.body["netPaise"].as_i64().unwrap(), "the lines add up to the net");
    let replay = schedule(merchant.clone(), "portal-key-0002", body.clone()).await;
    assert_eq!(
        (replay.body["status"].as_str(), replay.body["settlementId"].as_str()),
        (Some("SETTLED"), Some(id.as_str()))
    );

    // Another merchant does not see it; ops do, with its lines.
    let r = api.call("GET", &format!("/merchant/settlements/{id}"), Some(&other), None).await;
    assert_seed_error(&r, 404);
    let r = api.call("GET", &format!("/merchant/settlements?merchantId={m}"), Some(&other), None).await;
    assert_seed_error(&r, 403);
    let list = api.call("GET", "/merchant/settlements", Some(&other), None).await;
    assert!(
        list.body["settlements"].as_array().unwrap().iter().all(|s| s["merchantId"] == "MERCH003"),
        "{}",
        list.body
    );
    let ops_view = api.call("GET", &format!("/api/settlements/{id}?limit=2"), Some(&finance), None).await;
    assert_eq!(ops_view.status, 200, "{}", ops_view.body);
    assert_eq!(ops_view.body["lines"].as_array().unwrap().len(), 2);
    let cursor = ops_view.body["nextCursor"].as_str().unwrap();
    let next = api.call("GET", &format!("/api/settlements/{id}?limit=2&cursor={cursor}"), Some(&finance), None).await;
    assert_eq!(next.status, 200, "{}", next.body);
    assert_ne!(next.body["lines"], ops_view.body["lines"]);
    let listed = api
        .call(
            "GET",
            &format!("/api/settlements?merchantId={m}&status=SENT_TO_BANK&from={day}&to={day}"),
            Some(&finance),
            None,
        )
        .await;
    assert_eq!(listed.body["settlements"].as_array().unwrap().len(), 1, "{}", listed.body);

    // Everything is in a batch now: a new request is refused.
    let r = schedule(merchant.clone(), "portal-key-0005", json!({ "date": later.to_string() })).await;
    assert_seed_error(&r, 409);
    let dash = api.call("GET", "/merchant/dashboard", Some(&merchant), None).await;
    assert_eq!(dash.body["lastSettlement"]["settlementId"], id.as_str());
    assert_eq!(dash.body["pendingSettlement"]["inFlightBatches"], 1);
}
