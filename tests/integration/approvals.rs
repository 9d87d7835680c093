//! Maker-checker (issue 15 §2) with production's rules: a gated change is parked (202), visible
//! on its target, applied once by a different person with the permission, never by its maker;
//! rejections are kept; a target that changed meanwhile makes approval fail cleanly (409).

use serde_json::{json, Value};
use settlepaisa_auth::Role;
use settlepaisa_tests::api::{assert_seed_error, Api};

async fn merchants(api: &Api) {
    let ctx = api.ctx;
    let m = settlepaisa_payout::merchant::generated(3);
    settlepaisa_store::merchants::put_merchants(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &m)
        .await
        .unwrap();
}

fn ops_as(api: &Api, user: &str) -> String {
    api.auth.mint(user, Role::SpOps, None, settlepaisa_tests::api::now(), 3_600)
}

async fn merchant_status(api: &Api, id: &str) -> Value {
    let finance = api.token(Role::SpFinance, None);
    let r = api.call("GET", &format!("/api/merchants/{id}"), Some(&finance), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_merchant_is_released_only_when_a_second_person_approves_once() {
    let api = Api::start_gated().await;
    merchants(&api).await;
    let (maker, checker, other) = (ops_as(&api, "maker"), ops_as(&api, "checker"), ops_as(&api, "checker-2"));

    // The hold's release is parked, not applied, and shows on the merchant.
    let r = api.call("PATCH", "/api/merchants/MERCH001", Some(&maker), Some(json!({ "status": "ON_HOLD" }))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "PENDING_APPROVAL");
    let id = r.body["approvalId"].as_str().unwrap().to_string();
    let m = merchant_status(&api, "MERCH001").await;
    assert_eq!(m["status"], "ACTIVE", "nothing applied yet");
    assert_eq!(m["pendingApprovals"][0]["approvalId"], id);

    // The maker may not approve their own; a role without the permission may not either.
    let own = api.call("POST", &format!("/api/approvals/{id}/approve"), Some(&maker), None).await;
    assert_seed_error(&own, 403);
    let finance = api.token(Role::SpFinance, None);
    assert_seed_error(&api.call("POST", &format!("/api/approvals/{id}/approve"), Some(&finance), None).await, 403);
    assert_eq!(merchant_status(&api, "MERCH001").await["status"], "ACTIVE");

    // Two checkers at once: one applies it, the other is told it is decided; applied once.
    let path = format!("/api/approvals/{id}/approve");
    let (a, b) = tokio::join!(
        api.call("POST", &path, Some(&checker), Some(json!({ "note": "bank letter 42" }))),
        api.call("POST", &path, Some(&other), None)
    );
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", a.body, b.body);
    let winner = if a.status == 200 { &a } else { &b };
    assert_eq!(winner.body["approval"]["status"], "APPLIED");
    assert_eq!(winner.body["result"]["status"], "ON_HOLD");
    let m = merchant_status(&api, "MERCH001").await;
    assert_eq!(m["status"], "ON_HOLD");
    assert_eq!(m["pendingApprovals"], json!([]));
    let again = api.call("POST", &path, Some(&checker), None).await;
    assert_seed_error(&again, 409);

    // A rejection is recorded, not deleted, and changes nothing.
    let r = api.call("PATCH", "/api/merchants/MERCH001", Some(&maker), Some(json!({ "status": "ACTIVE" }))).await;
    let rejected = r.body["approvalId"].as_str().unwrap().to_string();
    let r = api
        .call("POST", &format!("/api/approvals/{rejected}/reject"), Some(&checker), Some(json!({ "note": "not yet" })))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["approval"]["status"], "REJECTED");
    assert_eq!(r.body["approval"]["decisionNote"], "not yet");
    assert_eq!(merchant_status(&api, "MERCH001").await["status"], "ON_HOLD");
    let listed = api.call("GET", "/api/approvals?targetType=merchant&targetId=MERCH001", Some(&checker), None).await;
    let mut by_status: Vec<&str> =
        listed.body["items"].as_array().unwrap().iter().map(|a| a["status"].as_str().unwrap()).collect();
    by_status.sort();
    assert_eq!(by_status, vec!["APPLIED", "REJECTED"]);

    // One pending change per target: a second is refused, naming the first.
    let r = api.call("PATCH", "/api/merchants/MERCH002", Some(&maker), Some(json!({ "reserveBps": 500 }))).await;
    let stale = r.body["approvalId"].as_str().unwrap().to_string();
    let r =
        api.call("PATCH", "/api/merchants/MERCH002", Some(&other), Some(json!({ "name": "Renamed Pvt Ltd" }))).await;
    assert_seed_error(&r, 409);
    assert_eq!(r.body["error"]["metadata"]["approvalId"], stale);
    // The target changed after the request was parked (the merchants file imported again):
    // approval fails cleanly (409) and the request is marked FAILED, never applied later.
    let mut renamed = settlepaisa_payout::merchant::generated(3);
    renamed[1].name = "Renamed Pvt Ltd".into();
    let ctx = api.ctx;
    settlepaisa_store::merchants::put_merchants(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &renamed[1..2])
        .await
        .unwrap();
    let r = api.call("POST", &format!("/api/approvals/{stale}/approve"), Some(&checker), None).await;
    assert_seed_error(&r, 409);
    let m = merchant_status(&api, "MERCH002").await;
    assert_eq!((m["name"].as_str(), m["reserveBps"].as_i64()), (Some("Renamed Pvt Ltd"), Some(0)), "{m}");
    let r = api.call("GET", "/api/approvals?status=FAILED", Some(&checker), None).await;
    assert_eq!(r.body["items"][0]["approvalId"], stale);

    // The trail: parked by the maker, approved (and applied) by the checker, rejected, failed.
    let compliance = api.token(Role::SpCompliance, None);
    let trail = api.call("GET", "/api/audit?targetId=MERCH001&limit=50", Some(&compliance), None).await;
    let outcomes: Vec<(String, String)> = trail.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"]["userId"].as_str().unwrap().into(), e["outcome"].as_str().unwrap().into()))
        .collect();
    let want: Vec<(String, String)> = [
        ("checker", "rejected"),
        ("maker", "pending_approval"),
        ("checker", "approved"),
        ("maker", "pending_approval"),
    ]
    .iter()
    .map(|(u, o)| (u.to_string(), o.to_string()))
    .collect();
    let mut got = outcomes.clone();
    // The racing checker's name is either.
    for g in &mut got {
        if g.0 == "checker-2" {
            g.0 = "checker".into();
        }
    }
    assert_eq!(got, want, "{}", trail.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_change_only_through_maker_checker_and_then_gate_by_amount() {
    let api = Api::start_gated().await;
    let (maker, checker) = (ops_as(&api, "maker"), ops_as(&api, "checker"));
    let r = api.call("GET", "/api/approval-rules", Some(&maker), None).await;
    let write_off = r.body["items"].as_array().unwrap().iter().find(|i| i["action"] == "exception.write_off").cloned();
    assert_eq!(write_off.unwrap()["minAmountPaise"], 1_000_000);
    // A change is parked like any other: nothing changes until approved.
    let r = api
        .call("PUT", "/api/approval-rules/connector.configure", Some(&maker), Some(json!({ "minAmountPaise": null })))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["approvalId"].as_str().unwrap().to_string();
    let config: Value = {
        let event = std::fs::read_to_string(settlepaisa_cli::local::workspace_root().join("events/put-connector.json"))
            .unwrap();
        let event: Value = serde_json::from_str(&event).unwrap();
        serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
    };
    let parked = api.call("PUT", "/api/connectors/HDFC", Some(&maker), Some(config.clone())).await;
    assert_eq!(parked.status, 202, "still gated: {}", parked.body);
    assert_eq!(api.call("POST", &format!("/api/approvals/{id}/approve"), Some(&checker), None).await.status, 200);
    let direct = api.call("PUT", "/api/connectors/HDFC", Some(&maker), Some(config)).await;
    assert_eq!(direct.status, 201, "no longer gated: {}", direct.body);
    // The rule change itself cannot be switched off: still parked.
    let r = api
        .call("PUT", "/api/approval-rules/approval_rule.change", Some(&maker), Some(json!({ "minAmountPaise": null })))
        .await;
    assert_eq!(r.status, 202);
    let id = r.body["approvalId"].as_str().unwrap();
    assert_eq!(api.call("POST", &format!("/api/approvals/{id}/approve"), Some(&checker), None).await.status, 200);
    let r = api
        .call("PUT", "/api/approval-rules/merchant.update", Some(&maker), Some(json!({ "minAmountPaise": null })))
        .await;
    assert_eq!(r.status, 202, "rule changes always need a second person: {}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parked_resolution_shows_on_its_exception_until_it_is_decided() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _) = settlepaisa_tests::api::reconciled_days_ago(dir.path(), 300, 3, "JOB-PARKED").await;
    let ctx = api.ctx;
    // Production's rules from here on.
    let rules = settlepaisa_audit::rules::defaults();
    settlepaisa_store::approvals::seed_rules(&ctx.clients.dynamodb, &ctx.resources.approvals_table, &rules)
        .await
        .unwrap();
    let (maker, checker) = (ops_as(&api, "maker"), ops_as(&api, "checker"));
    let listing = |path: &'static str| {
        let (api, checker) = (&api, checker.clone());
        async move {
            let r = api.call("GET", path, Some(&checker), None).await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["items"].as_array().unwrap().clone()
        }
    };
    let open = listing("/api/jobs/JOB-PARKED/exceptions?status=OPEN&limit=500").await;
    assert!(open.iter().all(|e| e["pendingApproval"].is_null()), "nothing parked yet");
    // A manual match always needs a second person.
    let target = open.iter().find(|e| e["category"] == "UNMATCHED_PG").expect("an unmatched PG record");
    let bank = open.iter().find(|e| e["category"] == "UNMATCHED_BANK").expect("an unmatched bank record");
    let id = target["id"].as_str().unwrap();
    let body = json!({
        "action": "manual_match",
        "note": "the customer's bank confirmed the credit",
        "version": target["version"],
        "counterpart": bank["bankRefs"][0],
    });
    let r = api.call("POST", &format!("/api/exceptions/{id}/resolve"), Some(&maker), Some(body.clone())).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let approval = r.body["approvalId"].as_str().unwrap().to_string();

    // It shows on its exception — in the listing and ordered by deadline — and nowhere else.
    for path in [
        "/api/jobs/JOB-PARKED/exceptions?status=OPEN&limit=500",
        "/api/jobs/JOB-PARKED/exceptions?sort=deadline&limit=500",
    ] {
        let items = listing(path).await;
        let parked: Vec<(&str, &Value)> = items
            .iter()
            .filter(|e| !e["pendingApproval"].is_null())
            .map(|e| (e["id"].as_str().unwrap(), &e["pendingApproval"]))
            .collect();
        let want = json!({ "approvalId": approval, "action": "exception.manual_match", "status": "PENDING_APPROVAL" });
        assert_eq!(parked, vec![(id, &want)], "{path}");
    }
    // A second request on the same exception is refused, naming the first.
    let r = api.call("POST", &format!("/api/exceptions/{id}/resolve"), Some(&checker), Some(body)).await;
    assert_seed_error(&r, 409);
    assert_eq!(r.body["error"]["metadata"]["approvalId"], approval.as_str());

    // Approved: applied, resolved, and no longer pending.
    let r = api.call("POST", &format!("/api/approvals/{approval}/approve"), Some(&checker), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = listing("/api/jobs/JOB-PARKED/exceptions?limit=500").await;
    let now = all.iter().find(|e| e["id"] == id).unwrap();
    assert_eq!((now["status"].as_str(), &now["pendingApproval"]), (Some("RESOLVED"), &Value::Null), "{now}");
    assert!(all.iter().all(|e| e["pendingApproval"].is_null()));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_makers_racing_for_one_target_park_one_request() {
    let api = Api::start_gated().await;
    merchants(&api).await;
    let ctx = api.ctx;
    let (a, b, checker) = (ops_as(&api, "maker-a"), ops_as(&api, "maker-b"), ops_as(&api, "checker"));
    // As DynamoDB does: moto alone lets two racing transactions both commit.
    api.stack.faults.isolate_transactions();
    let (x, y) = tokio::join!(
        api.call("PATCH", "/api/merchants/MERCH003", Some(&a), Some(json!({ "status": "ON_HOLD" }))),
        api.call("PATCH", "/api/merchants/MERCH003", Some(&b), Some(json!({ "reserveBps": 250 })))
    );
    let mut statuses = [x.status.as_u16(), y.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [202, 409], "{} / {}", x.body, y.body);
    let parked = if x.status == 202 { &x } else { &y };
    let listed = api
        .call(
            "GET",
            "/api/approvals?targetType=merchant&targetId=MERCH003&status=PENDING_APPROVAL",
            Some(&checker),
            None,
        )
        .await;
    let ids: Vec<&Value> = listed.body["items"].as_array().unwrap().iter().map(|i| &i["approvalId"]).collect();
    assert_eq!(ids, vec![&parked.body["approvalId"]], "one request parked: {}", listed.body);

    // The marker's own condition, whatever the check before it saw: a second request on a
    // busy target writes nothing.
    let mut second: settlepaisa_store::approvals::Approval = serde_json::from_value(json!({
        "approvalId": settlepaisa_store::approvals::new_id(), "action": "merchant.update",
        "targetType": "merchant", "targetId": "MERCH003", "permission": "merchants:write",
        "maker": { "userId": "maker-c", "role": "sp-ops" }, "requestedAt": "2026-11-30T10:00:00Z",
        "requestId": "req-race", "reason": null, "amountPaise": 0, "request": {}, "preview": {},
        "status": "PENDING_APPROVAL", "decidedBy": null, "decidedAt": null, "decisionNote": null, "version": 1
    }))
    .unwrap();
    let draft = || {
        settlepaisa_audit::Draft::new(
            "2026-11-30T10:00:00Z",
            settlepaisa_audit::Actor::Function { function: "test".into() },
            "merchant.update",
            ("merchant", "MERCH003"),
            "req-race",
        )
    };
    let (db, table, audit) =
        (&ctx.clients.dynamodb, ctx.resources.approvals_table.as_str(), ctx.resources.audit_table.as_str());
    let busy = settlepaisa_store::approvals::park(db, table, &second, (audit, draft())).await.unwrap();
    assert_eq!(busy, settlepaisa_store::approvals::Parked::TargetBusy);
    assert!(settlepaisa_store::approvals::get(db, table, &second.approval_id).await.unwrap().is_none());

    // Decided, the target is free again.
    let id = parked.body["approvalId"].as_str().unwrap();
    let r =
        api.call("POST", &format!("/api/approvals/{id}/reject"), Some(&checker), Some(json!({ "note": "no" }))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    second.approval_id = settlepaisa_store::approvals::new_id();
    let free = settlepaisa_store::approvals::park(db, table, &second, (audit, draft())).await.unwrap();
    assert_eq!(free, settlepaisa_store::approvals::Parked::Parked);
    let m = merchant_status(&api, "MERCH003").await;
    assert_eq!(m["pendingApprovals"][0]["approvalId"], second.approval_id.as_str());
}
