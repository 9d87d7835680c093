//! What a request may cost and what a response may say: pages bounded by the page, cursors that
//! hold only for the request that made them, no internals in any body, token times held to the
//! seed's, and a resolution that meets DynamoDB's transaction conflict.

use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_aws::faults::Fault;
use settlepaisa_tests::api::{assert_seed_error, Api};
use settlepaisa_tests::pipeline::{generated, ingest_all, upload_bytes, IDLE};
use settlepaisa_tests::read_csv;

const DAY: &str = "2026-10-01";

/// Every page of a listing: the items, and how many requests it took.
async fn pages(api: &Api, token: &str, path: &str) -> (Vec<Value>, usize) {
    let (mut items, mut requests) = (Vec::new(), 0);
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let r = api.call("GET", &url, Some(token), None).await;
        requests += 1;
        assert_eq!(r.status, 200, "{url}: {}", r.body);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (items, requests),
        }
        assert!(requests < 1_000, "{path} never ends");
    }
}

/// Sorted ids: a multiset, so a row returned twice fails.
fn ids(items: &[Value], field: &str) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|i| i[field].as_str().unwrap().to_string()).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_bounded_by_the_page_and_cursors_hold_only_for_their_request() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_500, 61);
    let api = Api::start().await;
    ingest_all(&api.stack, &pg, &banks).await;
    let ops = api.token(Role::SpOps, None);
    let rows = read_csv(&pg);
    let expected = |keep: &dyn Fn(&Vec<String>) -> bool| {
        let mut v: Vec<String> = rows.iter().filter(|r| keep(r)).map(|r| r[0].clone()).collect();
        v.sort();
        v
    };

    // A merchant asking for one row of a status none of its rows has: a bounded number of pages
    // (each examining at most 500 rows), not one query per row.
    let merchant = api.token(Role::MerchantAdmin, Some("MERCH001"));
    let own = expected(&|r| r[1] == "MERCH001");
    let (none, requests) =
        pages(&api, &merchant, &format!("/api/transactions?from={DAY}&to={DAY}&limit=1&status=chargeback_lost")).await;
    assert!(none.is_empty());
    assert!(requests <= own.len().div_ceil(500) + 1, "{requests} pages for {} rows", own.len());
    // Filtered pages of 7 return exactly the merchant's captured rows, each once.
    let (captured, _) =
        pages(&api, &merchant, &format!("/api/transactions?from={DAY}&to={DAY}&limit=7&status=captured")).await;
    assert_eq!(ids(&captured, "txnId"), expected(&|r| r[1] == "MERCH001" && r[5] == "captured"));

    // Staff over 92 days with rows on one: the empty days are not walked, and every row of the day
    // comes back once.
    let (all, requests) = pages(&api, &ops, "/api/transactions?from=2026-07-02&to=2026-10-01&limit=500").await;
    assert_eq!(ids(&all, "txnId"), expected(&|r| r[0] != "txn_id"));
    assert!(requests <= rows.len().div_ceil(500) + 2, "{requests} pages");

    // Cursors: replayed by another caller, with other filters, altered, or made up: 400, never 503.
    let first = api.call("GET", &format!("/api/transactions?from={DAY}&to={DAY}&limit=3"), Some(&ops), None).await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_string();
    let other_ops = api.auth.mint("someone-else", Role::SpOps, None, settlepaisa_tests::api::now(), 600);
    let (payload, tag) = cursor.split_once('.').unwrap();
    let key_without_sort = format!(
        "{}.{tag}",
        base64url(json!({ "pk": format!("{DAY}#00"), "k": { "txn_id": { "S": "T1" } } }).to_string().as_bytes())
    );
    let number_as_string = format!("{}.{tag}", base64url(br#"{"pk":7,"k":{"captured_at":{"S":"1"}}}"#));
    for (who, token, query) in [
        ("a merchant", &merchant, format!("from={DAY}&to={DAY}&limit=3")),
        ("another staff user", &other_ops, format!("from={DAY}&to={DAY}&limit=3")),
        ("other filters", &ops, format!("from={DAY}&to={DAY}&limit=3&status=captured")),
        ("other dates", &ops, format!("from={DAY}&to=2026-10-02&limit=3")),
    ] {
        let r = api.call("GET", &format!("/api/transactions?{query}&cursor={cursor}"), Some(token), None).await;
        assert_seed_error(&r, 400);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("cursor"), "{who}: {}", r.body);
    }
    for bad in [
        format!("{payload}x.{tag}"),
        format!("{payload}.{}", &tag[1..]),
        key_without_sort,
        number_as_string,
        "7b22702233".to_string(),
    ] {
        let r = api
            .call("GET", &format!("/api/transactions?from={DAY}&to={DAY}&limit=3&cursor={bad}"), Some(&ops), None)
            .await;
        assert_seed_error(&r, 400);
    }
    // The page size may change between pages.
    let r = api
        .call("GET", &format!("/api/transactions?from={DAY}&to={DAY}&limit=9&cursor={cursor}"), Some(&ops), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Exceptions: a rare status filter costs a bounded number of pages; a cursor from the
    // unfiltered listing does not open the category's.
    let r = api.call("POST", "/api/jobs", Some(&ops), Some(json!({ "from": DAY, "to": DAY, "shards": 4 }))).await;
    let job = r.body["jobId"].as_str().unwrap().to_string();
    api.call("POST", &format!("/api/jobs/{job}/match"), Some(&ops), None).await;
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let (open, _) = pages(&api, &ops, &format!("/api/jobs/{job}/exceptions?limit=500")).await;
    assert!(!open.is_empty());
    let (resolved, requests) = pages(&api, &ops, &format!("/api/jobs/{job}/exceptions?limit=1&status=RESOLVED")).await;
    assert!(resolved.is_empty());
    assert!(requests <= open.len().div_ceil(500) + 1, "{requests} pages for {} exceptions", open.len());
    let (by_category, _) =
        pages(&api, &ops, &format!("/api/jobs/{job}/exceptions?limit=2&status=OPEN&category=UNMATCHED_PG")).await;
    let unmatched: Vec<Value> = open.iter().filter(|e| e["category"] == "UNMATCHED_PG").cloned().collect();
    assert_eq!(ids(&by_category, "id"), ids(&unmatched, "id"));
    let r = api.call("GET", &format!("/api/jobs/{job}/exceptions?limit=2"), Some(&ops), None).await;
    let unfiltered = r.body["nextCursor"].as_str().unwrap();
    let r = api
        .call(
            "GET",
            &format!("/api/jobs/{job}/exceptions?limit=2&category=UNMATCHED_PG&cursor={unfiltered}"),
            Some(&ops),
            None,
        )
        .await;
    assert_seed_error(&r, 400);
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_response_carries_internals_or_unbounded_input() {
    let api = Api::start().await;
    let ops = api.token(Role::SpOps, None);

    // Health with a dependency down: which one, not why.
    let down = api.with_storage_down().await;
    for path in ["/health", "/health/recon", "/health/mock-pg", "/health/mock-bank"] {
        let r = api.raw(&down, "GET", path, &[], vec![]).await;
        assert_eq!(r.status, 503, "{}", r.body);
        let text = r.body.to_string();
        for internal in ["refused", "os error", "settlepaisa-local", "dispatch", "Exception", "arn:", "timeout"] {
            assert!(!text.contains(internal), "{path} shows `{internal}`: {text}");
        }
        assert!(r.body["checks"].as_object().unwrap().values().all(|c| c.get("error").is_none()));
    }

    // Every refused token, and none at all, gets one message.
    let now = settlepaisa_tests::api::now();
    let refused = [
        None,
        Some("not-a-jwt".to_string()),
        Some(format!("{}.e30.", base64url(br#"{"alg":"none"}"#))),
        Some(api.auth.mint("u", Role::SpOps, None, now - 7_200, 3_600)),
        Some(settlepaisa_auth::AuthConfig { issuer: "evil".into(), ..api.auth.clone() }.mint(
            "u",
            Role::SpOps,
            None,
            now,
            600,
        )),
    ];
    let mut messages = std::collections::BTreeSet::new();
    for token in &refused {
        let r = api.call("GET", "/api/sources", token.as_deref(), None).await;
        assert_seed_error(&r, 401);
        messages.insert(r.body["error"]["message"].as_str().unwrap().to_string());
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = messages.into_iter().next().unwrap();
    for internal in ["Json", "variant", "line", "column", "InvalidSignature", "InvalidIssuer", "sp-ops"] {
        assert!(!message.contains(internal), "{message}");
    }

    // Input echoed into an error is cut.
    let huge = "M".repeat(50_000);
    let r = api
        .call(
            "POST",
            &format!("/api/exceptions/JOB-X:EXC-{}/resolve", "1".repeat(100)),
            Some(&ops),
            Some(json!({ "action": "manual_match", "note": "n", "counterpart": huge })),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert!(r.body.to_string().len() < 2_000, "{} bytes", r.body.to_string().len());
    let r = api.call("POST", "/api/jobs", Some(&ops), Some(json!({ "from": DAY, "to": DAY, "sources": [huge] }))).await;
    assert_seed_error(&r, 400);
    assert!(r.body.to_string().len() < 2_000);

    // Upload content types come from an allow-list; job dates have bounds.
    let r = api.call("POST", "/api/jobs", Some(&ops), Some(json!({ "from": DAY, "to": DAY }))).await;
    let job = r.body["jobId"].as_str().unwrap().to_string();
    for ct in ["text/csv\r\nX-Injected: 1", "text/\u{7f}csv", "image/png"] {
        let body = json!({ "fileName": "s.csv", "contentLength": 10, "contentType": ct });
        let r = api.call("POST", &format!("/api/jobs/{job}/upload"), Some(&ops), Some(body)).await;
        assert_seed_error(&r, 400);
    }
    let body = json!({ "fileName": "s.csv", "contentLength": 10.0, "contentType": "text/csv" });
    let r = api.call("POST", &format!("/api/jobs/{job}/upload"), Some(&ops), Some(body)).await;
    assert_eq!(r.status, 200, "a whole number written 10.0 is 10: {}", r.body);
    for (from, to) in [("0000-01-01", "0000-01-01"), ("9999-12-31", "9999-12-31")] {
        let r = api.call("POST", "/api/jobs", Some(&ops), Some(json!({ "from": from, "to": to }))).await;
        assert_seed_error(&r, 400);
    }

    // Paths axum refuses itself (not UTF-8) answer in the seed's format too.
    for (method, path) in [
        ("GET", "/api/jobs/%FF"),
        ("GET", "/api/jobs/%FF/exceptions"),
        ("POST", "/api/jobs/%FF/match"),
        ("GET", "/api/statements/%C3%28"),
    ] {
        let r = api.call(method, path, Some(&ops), None).await;
        assert_seed_error(&r, 400);
        assert!(r.headers["content-type"].to_str().unwrap().starts_with("application/json"), "{method} {path}");
    }

    // HEAD is not served, and no answer advertises it.
    let r =
        api.raw(&api.app, "HEAD", "/api/sources", &[("authorization".into(), format!("Bearer {ops}"))], vec![]).await;
    assert!(!r.status.is_success(), "HEAD answered {}", r.status);
    let r = api.call("DELETE", "/api/sources", Some(&ops), None).await;
    assert_seed_error(&r, 405);
    let allow = r.headers.get("allow").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert_eq!(allow, "GET", "the methods the route table declares");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_times_beyond_the_seeds_are_401() {
    let api = Api::start().await;
    let now = settlepaisa_tests::api::now();
    let sign = |header: Value, overrides: Value| {
        let mut claims = json!({
            "userId": "u", "email": "e", "role": "sp-ops", "merchantId": null, "permissions": [],
            "exp": now + 600, "iat": now, "iss": api.auth.issuer, "aud": api.auth.audience,
        });
        for (k, v) in overrides.as_object().unwrap() {
            claims[k] = v.clone();
        }
        let input =
            format!("{}.{}", base64url(header.to_string().as_bytes()), base64url(claims.to_string().as_bytes()));
        let key = jsonwebtoken::EncodingKey::from_secret(&api.auth.secret);
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, jsonwebtoken::Algorithm::HS256).unwrap();
        format!("{input}.{sig}")
    };
    let hs = json!({ "alg": "HS256", "typ": "JWT" });
    let good = sign(hs.clone(), json!({}));
    assert_eq!(api.call("GET", "/api/sources", Some(&good), None).await.status, 200);
    for (what, token) in [
        ("exp in ten years", sign(hs.clone(), json!({ "exp": now + 10 * 365 * 86_400 }))),
        ("exp 2^64 - 1", sign(hs.clone(), json!({ "exp": u64::MAX }))),
        ("nbf a day ahead", sign(hs.clone(), json!({ "nbf": now + 86_400 }))),
        ("iat a year ahead", sign(hs.clone(), json!({ "iat": now + 365 * 86_400, "exp": now + 365 * 86_400 + 60 }))),
        ("unknown crit", sign(json!({ "alg": "HS256", "typ": "JWT", "crit": ["x-bank"], "x-bank": 1 }), json!({}))),
    ] {
        let r = api.call("GET", "/api/sources", Some(&token), None).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolution_that_meets_a_transaction_conflict_is_retried_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 1_000, 71);
    let api = Api::start().await;
    ingest_all(&api.stack, &pg, &banks).await;
    let ops = api.token(Role::SpOps, None);
    let r = api.call("POST", "/api/jobs", Some(&ops), Some(json!({ "from": DAY, "to": DAY, "shards": 2 }))).await;
    let job = r.body["jobId"].as_str().unwrap().to_string();
    api.call("POST", &format!("/api/jobs/{job}/match"), Some(&ops), None).await;
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let (open, _) =
        pages(&api, &ops, &format!("/api/jobs/{job}/exceptions?limit=500&status=OPEN&category=UNMATCHED_PG")).await;
    let target = open.iter().find(|e| e["suggestion"].is_null()).expect("an exception without a suggestion");
    // Another resolution of the same day holds the KPI items twice in a row.
    api.stack.faults.add(Fault::transaction_conflict(2));
    let body = json!({ "action": "write_off", "note": "refunded", "version": target["version"] });
    let r = api
        .call("POST", &format!("/api/exceptions/{}/resolve", target["id"].as_str().unwrap()), Some(&ops), Some(body))
        .await;
    api.stack.faults.clear();
    assert_eq!(api.stack.faults.injected("DynamoDB_20120810.TransactWriteItems"), 2);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "RESOLVED");
    // A lost optimistic-lock race is still a 409.
    let body = json!({ "action": "write_off", "note": "again", "version": target["version"] });
    let r = api
        .call("POST", &format!("/api/exceptions/{}/resolve", target["id"].as_str().unwrap()), Some(&ops), Some(body))
        .await;
    assert_seed_error(&r, 409);
}

/// From an independent review: rows on days apart (10-01, 10-04, 10-09), paged by staff in every
/// page size with and without a filter, come back exactly as the merchants' own listings have them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_pages_over_days_apart_return_every_row_once() {
    let api = Api::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (pg, _) = generated(dir.path(), 1_200, 91);
    let text = std::fs::read_to_string(&pg).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        out.push_str(&match i % 3 {
            1 => line.replace("2026-10-01T", "2026-10-04T"),
            2 => line.replace("2026-10-01T", "2026-10-09T"),
            _ => line.to_string(),
        });
        out.push('\n');
    }
    upload_bytes(&api.stack, "incoming/pg/2026-10-01/pg_transactions.csv", out.into_bytes()).await;
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let ops = api.token(Role::SpOps, None);
    let rows = read_csv(&pg);
    let merchants: std::collections::BTreeSet<String> = rows.iter().skip(1).map(|r| r[1].clone()).collect();
    let (mut truth, mut captured) = (Vec::new(), Vec::new());
    for m in &merchants {
        let (all, _) =
            pages(&api, &ops, &format!("/api/transactions?merchantId={m}&from=2026-09-20&to=2026-10-12&limit=500"))
                .await;
        captured.extend(all.iter().filter(|t| t["status"] == "captured").cloned());
        truth.extend(all);
    }
    assert_eq!(truth.len(), rows.len() - 1, "every row, through the merchants' index");
    for limit in [7, 16, 500] {
        let (all, _) =
            pages(&api, &ops, &format!("/api/transactions?from=2026-09-20&to=2026-10-12&limit={limit}")).await;
        assert_eq!(ids(&all, "txnId"), ids(&truth, "txnId"), "limit={limit}");
    }
    for limit in [3, 64] {
        let (all, _) = pages(
            &api,
            &ops,
            &format!("/api/transactions?from=2026-09-20&to=2026-10-12&limit={limit}&status=captured"),
        )
        .await;
        assert_eq!(ids(&all, "txnId"), ids(&captured, "txnId"), "captured, limit={limit}");
    }
}

/// A PG export deleted from S3 after ingestion stops counting: its rows leave the transaction list
/// (staff's and the merchant's), while another export's rows stay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_exports_rows_leave_the_transaction_list() {
    let api = Api::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (pg, _) = generated(dir.path(), 300, 93);
    let text = std::fs::read_to_string(&pg).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    let (first, second) = rows.split_at(rows.len() / 2);
    let keep = "incoming/pg/2026-10-01/morning.csv";
    let drop = "incoming/pg/2026-10-01/evening.csv";
    for (key, part) in [(keep, first), (drop, second)] {
        upload_bytes(&api.stack, key, format!("{header}\n{}\n", part.join("\n")).into_bytes()).await;
    }
    api.stack.runner.run_until_idle(IDLE).await.unwrap();
    let ops = api.token(Role::SpOps, None);
    let all = format!("/api/transactions?from={DAY}&to={DAY}&limit=500");
    assert_eq!(pages(&api, &ops, &all).await.0.len(), rows.len());

    let ctx = api.ctx;
    let bucket = &ctx.resources.uploads_bucket;
    let marker = ctx.clients.s3.delete_object().bucket(bucket).key(drop).send().await.unwrap().version_id.unwrap();
    let event = settlepaisa_tests::pipeline::s3_event("ObjectRemoved:DeleteMarkerCreated", bucket, drop, Some(&marker));
    settlepaisa_pipeline::ingest::handle(ctx, event).await.unwrap();

    let want: Vec<String> = {
        let mut v: Vec<String> = first.iter().map(|r| r.split(',').next().unwrap().to_string()).collect();
        v.sort();
        v
    };
    let (left, _) = pages(&api, &ops, &all).await;
    assert_eq!(ids(&left, "txnId"), want, "only the export that still counts");
    let merchant = first[0].split(',').nth(1).unwrap();
    let token = api.token(Role::MerchantAdmin, Some(merchant));
    let (own, _) = pages(&api, &token, &format!("/api/transactions?from={DAY}&to={DAY}&limit=500")).await;
    let own_want: Vec<String> = {
        let mut v: Vec<String> = first
            .iter()
            .filter(|r| r.split(',').nth(1) == Some(merchant))
            .map(|r| r.split(',').next().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&own, "txnId"), own_want);
}
