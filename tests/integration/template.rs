//! `infra/template.yaml` and the code agree: every function has a binary and a sample event, every
//! binary is a function, and every sample event is the kind of event its function takes.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use aws_lambda_events::event::sqs::SqsEvent;
use aws_lambda_events::s3::S3Event;
use settlepaisa_cli::local::{template, workspace_root};
use settlepaisa_http::routes::{self, Access, ROUTES};
use settlepaisa_pipeline::plan::PlanRequest;
use std::collections::BTreeSet;

fn binaries() -> BTreeSet<String> {
    let root = workspace_root().join("functions");
    let mut out = BTreeSet::new();
    for service in std::fs::read_dir(&root).unwrap() {
        let bin = service.unwrap().path().join("src/bin");
        if let Ok(entries) = std::fs::read_dir(bin) {
            for e in entries {
                let name = e.unwrap().file_name().to_string_lossy().to_string();
                if let Some(stem) = name.strip_suffix(".rs") {
                    out.insert(stem.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn every_function_has_a_binary_and_an_event_and_every_binary_a_function() {
    let spec = template::load(&workspace_root().join("infra/template.yaml")).unwrap();
    let in_template: BTreeSet<String> = spec.functions.iter().map(|f| f.binary.clone()).collect();
    assert!(!in_template.is_empty());
    assert_eq!(in_template, binaries(), "template functions vs functions/*/src/bin");
    for f in &spec.functions {
        let path = workspace_root().join("events").join(format!("{}.json", f.binary));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} has no event {}", f.logical, path.display()));
        let parsed = match f.binary.as_str() {
            "ingest-file" => serde_json::from_str::<S3Event>(&text).map(|_| ()),
            "plan-match" => serde_json::from_str::<PlanRequest>(&text).map(|_| ()),
            "redrive-ingest" => {
                serde_json::from_str::<settlepaisa_pipeline::redrive::RedriveRequest>(&text).map(|_| ())
            }
            "settle-cycle" => serde_json::from_str::<serde_json::Value>(&text).map(|event| {
                let day = settlepaisa_settlement::cycle_run::cycle_date(&event);
                assert!(day.is_ok(), "settle-cycle's event names a cycle date: {day:?}");
            }),
            "match-shard"
            | "finalize-job"
            | "ingest-chunk"
            | "claim-txns"
            | "renormalize-file"
            | "apply-payout-responses"
            | "apply-dispute-file"
            | "apply-pg-events"
            | "generate-report" => serde_json::from_str::<SqsEvent>(&text).map(|_| ()),
            "pull-connectors" => serde_json::from_str::<serde_json::Value>(&text).map(|event| {
                let at = settlepaisa_connectors::pull::moment(&event);
                assert!(at.is_ok() && event.get("time").is_some(), "pull-connectors' event names its time");
            }),
            "expire-disputes" => serde_json::from_str::<serde_json::Value>(&text).map(|event| {
                let at = settlepaisa_chargeback::expire::moment(&event);
                assert!(at.is_ok() && event.get("time").is_some(), "expire-disputes' event names its time");
            }),
            "verify-audit" => serde_json::from_str::<serde_json::Value>(&text).map(|event| {
                let days = settlepaisa_governance::verify::days_of(&event, settlepaisa_http::time_filter::today());
                assert!(days.is_ok() && event.get("time").is_some(), "verify-audit's event names its time");
            }),
            "authorizer" => serde_json::from_str::<ApiGatewayV2CustomAuthorizerV2Request>(&text).map(|_| ()),
            http if routes::by_function(http).is_some() => {
                let request = lambda_http::request::from_str(&text).map_err(|e| panic!("{http}: {e}")).unwrap();
                let spec = routes::by_function(http).unwrap();
                assert_eq!(request.method().as_str(), spec.method, "{http}: event method");
                Ok(())
            }
            other => panic!("no event type known for {other}"),
        };
        assert!(parsed.is_ok(), "{}: {parsed:?}", path.display());
    }
}

#[test]
fn queues_give_workers_six_times_their_timeout_and_a_dead_letter_queue() {
    let spec = template::load(&workspace_root().join("infra/template.yaml")).unwrap();
    let text = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for f in &spec.functions {
        for e in &f.events {
            if let template::EventSpec::Sqs { queue, partial_failures, .. } = e {
                let q = spec.queues.iter().find(|q| &q.logical == queue).unwrap();
                let timeout = doc["Resources"][f.logical.as_str()]["Properties"]["Timeout"]
                    .as_u64()
                    .or(doc["Globals"]["Function"]["Timeout"].as_u64())
                    .unwrap();
                assert!(
                    u64::from(q.visibility_timeout) >= 6 * timeout,
                    "{queue}: visibility under 6x {}'s timeout",
                    f.logical
                );
                assert_eq!(q.redrive.as_ref().map(|r| r.1), Some(5), "{queue} redrives after 5 receives");
                assert!(partial_failures, "{} reports batch item failures", f.logical);
            }
        }
    }
}

#[test]
fn secrets_are_the_stacks_own_and_read_by_the_functions_not_put_in_their_configuration() {
    let text = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    assert!(!text.contains("{{resolve:"), "no secret value resolved into a function's environment");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    for (function, variable, secret) in [
        ("AuthorizerFunction", "JWT_SECRET_ARN", "JwtSecret"),
        ("ListTransactionsFunction", "CURSOR_SECRET_ARN", "ApiCursorSecret"),
        ("ListJobExceptionsFunction", "CURSOR_SECRET_ARN", "ApiCursorSecret"),
    ] {
        let props = &doc["Resources"][function]["Properties"];
        let value = serde_yaml::to_string(&props["Environment"]["Variables"][variable]).unwrap();
        assert!(value.contains(secret), "{function}: {variable} = {value}");
        let policies = serde_yaml::to_string(&props["Policies"]).unwrap();
        assert!(policies.contains("AWSSecretsManagerGetSecretValuePolicy") && policies.contains(secret), "{function}");
        let kind = &doc["Resources"][secret]["Type"];
        assert_eq!(kind.as_str(), Some("AWS::SecretsManager::Secret"));
        assert!(doc["Resources"][secret]["Properties"]["GenerateSecretString"].is_mapping(), "{secret} is generated");
    }
}

#[test]
fn stateful_resources_outlive_the_stack_and_queued_work_outlives_its_queue_only_in_a_dead_letter_queue() {
    let text = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let resources = doc["Resources"].as_mapping().unwrap();
    let mut checked_dead_letter_queues = 0;
    let retention = |r: &serde_yaml::Value| r["Properties"]["MessageRetentionPeriod"].as_u64();
    for (name, r) in resources {
        let name = name.as_str().unwrap();
        let kind = r["Type"].as_str().unwrap_or_default();
        let holds_records = matches!(kind, "AWS::DynamoDB::Table" | "AWS::S3::Bucket")
            || (kind == "AWS::SQS::Queue" && name.ends_with("DeadLetterQueue"));
        if holds_records {
            for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
                assert_eq!(r[policy].as_str(), Some("Retain"), "{name}: {policy}");
            }
        }
        if kind == "AWS::SQS::Queue" {
            let own = retention(r).unwrap_or_else(|| panic!("{name} states how long it keeps messages"));
            let dlq = match &r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"] {
                serde_yaml::Value::Tagged(t) if t.tag == "GetAtt" => {
                    t.value.as_str().and_then(|v| v.split_once('.')).map(|(name, _)| name.to_string())
                }
                _ => None,
            };
            if let Some(dlq) = dlq.as_deref() {
                // A message keeps its first enqueue time in the dead-letter queue: a shorter
                // retention there would drop failed work at once.
                assert!(retention(&resources[dlq]).unwrap() >= own, "{name}: its dead-letter queue keeps less");
                checked_dead_letter_queues += 1;
            }
        }
    }
    assert_eq!(
        checked_dead_letter_queues, 10,
        "match, finalize, chunk, claim, plan, renormalize, payout response, dispute file, PG event and report queues"
    );
}

#[test]
fn the_template_declares_exactly_the_route_table() {
    let spec = template::load(&workspace_root().join("infra/template.yaml")).unwrap();
    let mut declared = BTreeSet::new();
    for f in &spec.functions {
        for e in &f.events {
            if let template::EventSpec::Http { method, path, public, .. } = e {
                declared.insert((f.binary.clone(), method.clone(), path.clone(), *public));
            }
        }
    }
    let table: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| (r.function.to_string(), r.method.to_string(), r.path.to_string(), !r.access.needs_token()))
        .collect();
    assert_eq!(declared, table, "infra/template.yaml HttpApi events vs shared/http/src/routes.rs");
}

#[test]
fn the_openapi_description_declares_exactly_the_route_table() {
    let text = std::fs::read_to_string(workspace_root().join("docs/openapi.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_mapping().unwrap() {
        for (method, op) in item.as_mapping().unwrap() {
            let public = op.get("security").and_then(|s| s.as_sequence()).is_some_and(|s| s.is_empty());
            let permission = op["x-permission"].as_str().unwrap_or_default().to_string();
            described.insert((
                op["operationId"].as_str().unwrap().to_string(),
                method.as_str().unwrap().to_uppercase(),
                path.as_str().unwrap().to_string(),
                public,
                permission,
            ));
        }
    }
    let table: BTreeSet<_> = ROUTES
        .iter()
        .map(|r| {
            let permission = match r.access {
                Access::Public => "public".to_string(),
                Access::Webhook => "webhook signature".to_string(),
                Access::Internal(p) => p.as_str(),
                Access::InternalOrMerchant { internal, merchant } => {
                    format!("{} | {} (own merchant)", internal.as_str(), merchant.as_str())
                }
            };
            (r.function.to_string(), r.method.to_string(), r.path.to_string(), !r.access.needs_token(), permission)
        })
        .collect();
    assert_eq!(described, table, "docs/openapi.yaml vs shared/http/src/routes.rs");
}

#[test]
fn failed_ingestions_have_a_destination_and_an_alarm_and_workers_read_their_queues_receive_counts() {
    let spec = template::load(&workspace_root().join("infra/template.yaml")).unwrap();
    let text = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let ingest = spec.functions.iter().find(|f| f.binary == "ingest-file").unwrap();
    let dlq = ingest.on_failure.as_deref().expect("ingest-file has an on-failure destination");
    assert!(spec.queues.iter().any(|q| q.logical == dlq));
    let alarmed = doc["Resources"].as_mapping().unwrap().values().any(|r| {
        r["Type"] == "AWS::CloudWatch::Alarm"
            && template::ref_target(&r["Properties"]["Dimensions"][0]["Value"]).as_deref() == Some(dlq)
    });
    assert!(alarmed, "an alarm watches {dlq}");
    for e in &ingest.events {
        if let template::EventSpec::S3 { events, .. } = e {
            assert!(events.iter().any(|e| e.starts_with("s3:ObjectCreated")), "{events:?}");
            assert!(events.iter().any(|e| e.starts_with("s3:ObjectRemoved")), "deletes reach ingestion: {events:?}");
        }
    }
    // The attempt that marks a shard or a finalizer FAILED is the queue's own maxReceiveCount.
    for (setting, queue) in [("MATCH_MAX_RECEIVE_COUNT", "MatchQueue"), ("FINALIZE_MAX_RECEIVE_COUNT", "FinalizeQueue")]
    {
        let param = template::ref_target(&spec.environment[setting]).expect("a parameter, not a repeated literal");
        let read: u32 = spec.parameters[&param].parse().unwrap();
        let q = spec.queues.iter().find(|q| q.logical == queue).unwrap();
        assert_eq!(q.redrive.as_ref().map(|r| r.1), Some(read), "{setting} vs {queue}");
    }
}

/// The request counter bills index writes from the template's indexes and projections: a page of
/// 100 PG rows costs about eight units and no index write; an exception's `by-job-category` entry
/// carries only keys and status, so it costs one unit even when the exception is over a KB; a
/// match page, which has no `job_category`, is not written to that index at all.
#[test]
fn index_write_units_come_from_the_template_projections() {
    use settlepaisa_aws::capacity::{put_units, Projection, WriteUnits};
    use settlepaisa_aws::dynamo::{nv, sv, Item};
    let spec = template::load(&workspace_root().join("infra/template.yaml")).unwrap();
    let model = |logical: &str| spec.tables.iter().find(|t| t.logical == logical).unwrap().write_cost_model();
    // A page of 100 generated-size rows: ~8 KB, eight units for 100 rows, and no index.
    let mut csv = String::from("txn_id,merchant_id,merchant_ref,method,amount_paise,status,utr,captured_at\n");
    for i in 0..100 {
        csv.push_str(&format!(
            "TXN{i:011},M0007,ORD-{i:07},UPI,125000,captured,4123456{i:05},2026-10-01T10:{:02}:00+05:30\n",
            i % 60
        ));
    }
    let pg = settlepaisa_recon::pg_file::parse_pg_file(csv.as_bytes()).unwrap();
    assert_eq!(pg.captured.len(), 100, "{:?}", pg.rejects);
    let mut rows = pg.captured.clone();
    let pages = settlepaisa_store::txn_pages::pages_of("F0123456789abcdef01234567", 3, &mut rows, &Default::default());
    let day_page = pages.iter().find(|p| p.pk.starts_with("T#")).unwrap().to_item();
    let units = put_units(Some(&model("TransactionsTable")), &day_page);
    assert_eq!(units.indexes, 0);
    assert!((7..=9).contains(&units.table), "{units:?} for a page of 100 rows");

    let results = model("ResultsTable");
    let index = results.indexes.iter().find(|i| i.name == "by-job-category").unwrap();
    assert_eq!(index.projection, Projection::Include(vec!["status".into()]));
    let key = |item: &str| -> Item { Item::from([("job_part".into(), sv("JOB-1#03")), ("item".into(), sv(item))]) };
    let mut exception = key("E#EXC-0123456789abcdef");
    exception.insert("job_category".into(), sv("JOB-1#UNMATCHED_PG#03"));
    exception.insert("status".into(), sv("OPEN"));
    exception.insert("pg_records".into(), sv("x".repeat(1500)));
    assert_eq!(put_units(Some(&results), &exception), WriteUnits { table: 2, indexes: 1 });
    let mut page = key("M#000#00000");
    page.insert("count".into(), nv(100));
    page.insert("rows".into(), sv("x".repeat(11_000)));
    assert_eq!(put_units(Some(&results), &page), WriteUnits { table: 11, indexes: 0 });
}
