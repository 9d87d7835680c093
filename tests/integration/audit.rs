//! The audit trail (issue 15 §1) through the API and the store: every change leaves one entry in
//! its own transaction, chained by hash; compliance reads them; an edited, removed or inserted
//! entry is named; a change whose entry cannot be written is not made.

use serde_json::{json, Value};
use settlepaisa_audit::Break;
use settlepaisa_auth::Role;
use settlepaisa_aws::dynamo::{nv, sv, Item};
use settlepaisa_governance::verify::verify_day;
use settlepaisa_tests::api::{assert_seed_error, Api};
use std::collections::BTreeMap;

fn today_utc() -> String {
    settlepaisa_store::audit::now_rfc3339()[..10].to_string()
}

async fn merchants(api: &Api) {
    let ctx = api.ctx;
    let m = settlepaisa_payout::merchant::generated(3);
    settlepaisa_store::merchants::put_merchants(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &m)
        .await
        .unwrap();
}

/// Every entry `GET /api/audit` gives with `query`, following its cursors.
async fn all_entries(api: &Api, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/api/audit?{query}"),
            Some(c) => format!("/api/audit?{query}&cursor={c}"),
        };
        let r = api.call("GET", &path, Some(token), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(r.body["entries"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn actions(entries: &[Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in entries {
        *m.entry(e["action"].as_str().unwrap().to_string()).or_default() += 1;
    }
    m
}

async fn entry_item(api: &Api, seq: u64) -> Item {
    let ctx = api.ctx;
    ctx.clients
        .dynamodb
        .get_item()
        .table_name(&ctx.resources.audit_table)
        .key("chain", sv(today_utc()))
        .key("seq", nv(seq))
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

async fn put_item(api: &Api, item: Item) {
    let ctx = api.ctx;
    ctx.clients.dynamodb.put_item().table_name(&ctx.resources.audit_table).set_item(Some(item)).send().await.unwrap();
}

async fn delete_item(api: &Api, seq: u64) {
    let ctx = api.ctx;
    ctx.clients
        .dynamodb
        .delete_item()
        .table_name(&ctx.resources.audit_table)
        .key("chain", sv(today_utc()))
        .key("seq", nv(seq))
        .send()
        .await
        .unwrap();
}

async fn verdict(api: &Api) -> (u64, Option<Break>) {
    let ctx = api.ctx;
    let v = verify_day(&ctx.clients.dynamodb, &ctx.resources.audit_table, &today_utc()).await.unwrap();
    (v.entries, v.broken)
}

#[tokio::test(flavor = "multi_thread")]
async fn changes_leave_chained_entries_compliance_reads_them_and_tampering_is_named() {
    let api = Api::start().await;
    merchants(&api).await;
    let ops = api.token(Role::SpOps, None);
    let compliance = api.token(Role::SpCompliance, None);
    let today = settlepaisa_http::time_filter::today().to_string();
    for _ in 0..3 {
        let r = api.call("POST", "/api/jobs", Some(&ops), Some(json!({ "from": today, "to": today }))).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let patch = api.call("PATCH", "/api/merchants/MERCH002", Some(&ops), Some(json!({ "status": "ON_HOLD" }))).await;
    assert_eq!(patch.status, 200, "{}", patch.body);
    let patch_request = patch.headers["x-request-id"].to_str().unwrap().to_string();
    // A refused change (an unknown status: 400) leaves no entry.
    let bad = api.call("PATCH", "/api/merchants/MERCH002", Some(&ops), Some(json!({ "status": "GONE" }))).await;
    assert_eq!(bad.status, 400);

    // Compliance reads them all, newest first; ops may not.
    let entries = all_entries(&api, &compliance, "limit=500").await;
    assert_eq!(actions(&entries), BTreeMap::from([("job.create".into(), 3), ("merchant.update".into(), 1)]));
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![4, 3, 2, 1], "newest first, gap-free");
    let m = entries.iter().find(|e| e["action"] == "merchant.update").unwrap();
    assert_eq!(m["actor"], json!({ "type": "user", "userId": "sp-ops-user", "role": "sp-ops" }));
    assert_eq!(m["target"], json!({ "type": "merchant", "id": "MERCH002" }));
    assert_eq!(m["requestId"], patch_request);
    assert_eq!(m["outcome"], "applied");
    assert_eq!((m["before"]["status"].as_str(), m["after"]["status"].as_str()), (Some("ACTIVE"), Some("ON_HOLD")));
    assert_eq!(m["prevHash"], entries[1]["hash"], "each entry holds its predecessor's hash");
    let denied = api.call("GET", "/api/audit", Some(&ops), None).await;
    assert_seed_error(&denied, 403);

    // Filters and pages: the same entries however they are asked for.
    let only = all_entries(&api, &compliance, "action=merchant.update").await;
    assert_eq!(only.len(), 1);
    let by_target = all_entries(&api, &compliance, "targetType=merchant&targetId=MERCH002").await;
    assert_eq!(by_target, only);
    let by_actor = all_entries(&api, &compliance, "actor=sp-ops-user&limit=1").await;
    assert_eq!(by_actor, entries, "one at a time, through cursors");
    assert!(all_entries(&api, &compliance, "actor=someone-else").await.is_empty());
    let bad_range = api.call("GET", "/api/audit?from=2026-01-01&to=2026-06-01", Some(&compliance), None).await;
    assert_seed_error(&bad_range, 400);

    // Intact; then each kind of tampering is named, and undoing it makes the chain whole again.
    assert_eq!(verdict(&api).await, (4, None));
    let original = entry_item(&api, 2).await;
    let mut edited = original.clone();
    edited.insert("target_id".into(), sv("job-someone-else"));
    put_item(&api, edited).await;
    assert_eq!(verdict(&api).await.1, Some(Break::Altered { seq: 2 }));
    put_item(&api, original).await;
    assert_eq!(verdict(&api).await, (4, None));

    let third = entry_item(&api, 3).await;
    delete_item(&api, 3).await;
    assert_eq!(verdict(&api).await.1, Some(Break::Removed { seq: 3 }));
    put_item(&api, third).await;

    // An entry sealed properly after the last one, but written past the head's back.
    let last = settlepaisa_store::audit::entry_from(&entry_item(&api, 4).await).unwrap();
    let head = settlepaisa_audit::Head { seq: 4, hash: last.hash.clone() };
    let forged = settlepaisa_audit::seal(last.draft.clone(), &today_utc(), Some(&head), &last.record_time);
    let mut item = entry_item(&api, 4).await;
    item.insert("seq".into(), nv(5));
    item.insert("prev_hash".into(), sv(&forged.prev_hash));
    item.insert("hash".into(), sv(&forged.hash));
    put_item(&api, item).await;
    assert_eq!(verdict(&api).await.1, Some(Break::Inserted { seq: 5 }));
    delete_item(&api, 5).await;
    assert_eq!(verdict(&api).await, (4, None));

    // The function reports the same and fails on a broken day.
    let ok = settlepaisa_governance::verify::handle(api.ctx, json!({ "day": today_utc() })).await.unwrap();
    assert_eq!(ok["days"][0]["entries"], 4);
    delete_item(&api, 1).await;
    let err = settlepaisa_governance::verify::handle(api.ctx, json!({ "day": today_utc() })).await.unwrap_err();
    assert!(err.to_string().contains("entry 1 was removed"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_whose_audit_entry_cannot_be_written_is_not_made() {
    let api = Api::start().await;
    merchants(&api).await;
    let ops = api.token(Role::SpOps, None);
    // The same functions, with an audit table that does not exist: every append fails.
    let mut ctx = api.ctx.clone();
    ctx.resources.audit_table = "settlepaisa-no-such-audit-table".into();
    let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(ctx));
    let broken = settlepaisa_cli::local::api::router(ctx, api.auth.clone());
    let call = |method: &'static str, path: &'static str, body: Value| {
        let headers = vec![
            ("authorization".to_string(), format!("Bearer {ops}")),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        let broken = broken.clone();
        let api = &api;
        async move { api.raw(&broken, method, path, &headers, body.to_string().into_bytes()).await }
    };
    let r = call("PATCH", "/api/merchants/MERCH001", json!({ "status": "SUSPENDED" })).await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.body);
    assert!(r.body["error"]["requestId"].is_string(), "{}", r.body);
    let today = settlepaisa_http::time_filter::today().to_string();
    let r = call("POST", "/api/jobs", json!({ "from": today, "to": today })).await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.body);

    // Nothing changed: the merchant is as it was, and no job was created.
    let finance = api.token(Role::SpFinance, None);
    let m = api.call("GET", "/api/merchants/MERCH001", Some(&finance), None).await;
    assert_eq!(m.body["status"], "ACTIVE", "{}", m.body);
    let jobs = settlepaisa_tests::pipeline::count_items(&api.stack, &api.ctx.resources.jobs_table).await;
    assert_eq!(jobs, 0);
    let compliance = api.token(Role::SpCompliance, None);
    assert!(all_entries(&api, &compliance, "").await.is_empty());
}
