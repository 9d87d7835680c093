//! The deploy path as a user runs it: `sam build && sam deploy` reads the built template,
//! `sam local --env-vars infra/sam-local-env.json` reaches the emulator and what `settlepaisa
//! local up` created, the uploads bucket is a valid name for any stack, and the sample events run
//! as they are once `settlepaisa local events` has pointed them at a demo's job.

use serde_json::Value;
use settlepaisa_cli::local::intrinsics::{evaluate, Pseudo};
use settlepaisa_cli::local::{sam_env, stack, template, workspace_root, LocalStack, REGION, STACK};
use settlepaisa_tests::pipeline::{generated, ingest_all, run_job};
use std::collections::{BTreeMap, BTreeSet};

fn template_doc() -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap()).unwrap()
}

fn keys(v: &serde_yaml::Value) -> BTreeSet<String> {
    v.as_mapping().map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// The S3 client's checksums are the lean crate's: crates.io's crc-fast (0.64 MB of tables in
/// every S3 function) must not come back through an SDK update. Cargo says nothing when the
/// patch stops applying (the crate is a workspace member), so the lock file is read.
#[test]
fn the_s3_checksums_come_from_the_lean_crate() {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).unwrap();
    let packages: Vec<&str> = lock.split("[[package]]").filter(|p| p.contains("\nname = \"crc-fast\"\n")).collect();
    assert_eq!(packages.len(), 1, "one crc-fast in Cargo.lock: {packages:?}");
    assert!(
        !packages[0].contains("source = "),
        "crc-fast comes from a registry, not shared/crc-fast-lean: {}",
        packages[0]
    );
}

#[test]
fn every_sam_command_after_build_reads_the_built_template() {
    let text = std::fs::read_to_string(workspace_root().join("samconfig.toml")).unwrap();
    let config: toml::Table = toml::from_str(&text).unwrap();
    let default = config["default"].as_table().unwrap();
    let template_of = |command: &str| {
        default.get(command).and_then(|c| c.get("parameters")).and_then(|p| p.get("template_file")).cloned()
    };
    // Named globally (or for these commands), SAM would deploy the source template, whose
    // `CodeUri: ..` uploads the repository as every function's code. Unnamed, SAM reads
    // .aws-sam/build/template.yaml, where each CodeUri is the function's `bootstrap`.
    for command in ["global", "deploy", "package", "local_invoke", "local_start_api", "local_start_lambda"] {
        assert_eq!(template_of(command), None, "samconfig.toml names a template for `{command}`");
    }
    // `sync` builds for itself, from source.
    for command in ["build", "validate", "sync"] {
        assert_eq!(
            template_of(command).and_then(|t| t.as_str().map(str::to_string)).as_deref(),
            Some("infra/template.yaml")
        );
    }
}

#[test]
fn the_uploads_bucket_is_a_valid_bucket_name_for_any_stack_name_and_named_alike_everywhere() {
    let doc = template_doc();
    let name_expr = &doc["Resources"]["UploadsBucket"]["Properties"]["BucketName"];
    let text = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    let expr_text = serde_yaml::to_string(name_expr).unwrap();
    // Every place that names the bucket (the functions' environment and their policies) names it
    // with the same expression.
    let named_alike =
        serde_yaml::to_string(&doc["Globals"]["Function"]["Environment"]["Variables"]["UPLOADS_BUCKET"]).unwrap();
    assert_eq!(named_alike, expr_text);
    // Every policy naming it (`BucketName`, or an `arn:…:s3:::` resource) names it from the same
    // stack uuid: a statement left on another name is a denied call on AWS, which the emulator
    // (no IAM) never shows.
    let mut uses = 0;
    for line in text.lines() {
        let line = line.trim();
        // (A statement on the artifacts bucket names it by `!Ref`, inside its ARN.)
        let uploads_arn = line.contains("s3:::") && !line.contains("${ArtifactsBucket}");
        if uploads_arn || (line.starts_with("BucketName:") && !line.starts_with("BucketName: !Ref")) {
            assert!(line.contains("settlepaisa-uploads-${StackUuid}"), "names the uploads bucket otherwise: {line}");
            assert!(line.contains(r#"{StackUuid: !Select [2, !Split ["/", !Ref "AWS::StackId"]]}"#), "{line}");
            uses += 1;
        }
    }
    assert!(uses >= 10, "{uses} policies and names of the uploads bucket");
    assert!(!text.contains("-uploads-${AWS::AccountId}") && !text.contains("${AWS::StackName}-uploads"));
    // CloudFormation stack names: letters, digits and hyphens, up to 128 characters.
    let long = format!("Prod-{}", "X".repeat(123));
    for stack_name in ["settlepaisa", "SettlePaisa-Prod", long.as_str(), "a"] {
        let pseudo = Pseudo { stack: stack_name.into(), region: "ap-south-1".into(), account: "123456789012".into() };
        let name = evaluate(name_expr, &pseudo, &|_| None).expect("the bucket name evaluates");
        assert!((3..=63).contains(&name.len()), "{stack_name}: {name} ({} characters)", name.len());
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{stack_name}: {name} is not lowercase letters, digits and hyphens"
        );
        assert!(
            name.chars().next().unwrap().is_ascii_alphanumeric()
                && name.chars().last().unwrap().is_ascii_alphanumeric()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sam_local_env_file_sets_only_declared_keys_naming_what_local_up_creates() {
    let path = workspace_root().join("infra/sam-local-env.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let root = workspace_root();
    let spec = template::load(&root.join("infra/template.yaml")).unwrap();
    let generated = sam_env::env_file(&spec, STACK, REGION, sam_env::CONTAINER_ENDPOINT);
    assert_eq!(
        committed, generated,
        "infra/sam-local-env.json is out of date: `settlepaisa local sam-env > infra/sam-local-env.json`"
    );

    // SAM passes a function only the env-file keys its template declares for it.
    let doc = template_doc();
    let globals = keys(&doc["Globals"]["Function"]["Environment"]["Variables"]);
    for (section, vars) in committed.as_object().unwrap() {
        let declared: BTreeSet<String> = if section == "Parameters" {
            globals.clone()
        } else {
            let function = &doc["Resources"][section.as_str()];
            assert_eq!(function["Type"].as_str(), Some("AWS::Serverless::Function"), "{section} is not a function");
            globals.union(&keys(&function["Properties"]["Environment"]["Variables"])).cloned().collect()
        };
        for key in vars.as_object().unwrap().keys() {
            assert!(declared.contains(key), "{section}: {key} is not declared in the template, SAM would drop it");
        }
    }
    let parameters = committed["Parameters"].as_object().unwrap();
    assert_eq!(parameters["AWS_ENDPOINT_URL"], sam_env::CONTAINER_ENDPOINT);

    // Every table, bucket and queue the file names exists once `local up` has run: the same
    // names, found in the emulator.
    let local = LocalStack::start(None).await.unwrap();
    let deployed = stack::names(&spec, STACK, REGION, sam_env::CONTAINER_ENDPOINT);
    let mut checked = BTreeMap::new();
    for (key, value) in parameters {
        let value = value.as_str().unwrap();
        let clients = &local.clients;
        if deployed.tables.values().any(|t| t == value) {
            clients
                .dynamodb
                .describe_table()
                .table_name(value)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}={value}: {e:?}"));
            checked.insert(key.clone(), "table");
        } else if deployed.buckets.values().any(|b| b == value) {
            clients.s3.head_bucket().bucket(value).send().await.unwrap_or_else(|e| panic!("{key}={value}: {e:?}"));
            checked.insert(key.clone(), "bucket");
        } else if let Some((name, _)) = deployed.queues.values().find(|(_, url)| url == value) {
            assert!(value.starts_with(sam_env::CONTAINER_ENDPOINT), "{key}={value}: the containers' endpoint");
            clients
                .sqs
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{key}={value}: {e:?}"));
            checked.insert(key.clone(), "queue");
        }
    }
    // Every variable the template gives as a table, bucket or queue was among them.
    for (key, v) in &doc["Globals"]["Function"]["Environment"]["Variables"].as_mapping().unwrap().clone() {
        let key = key.as_str().unwrap();
        let target = template::ref_target(v).unwrap_or_default();
        let kind = doc["Resources"][target.as_str()]["Type"].as_str().unwrap_or_default().to_string();
        if matches!(kind.as_str(), "AWS::DynamoDB::Table" | "AWS::S3::Bucket" | "AWS::SQS::Queue") {
            assert!(checked.contains_key(key), "{key} (a {kind}) names nothing local up creates");
        }
    }
    assert!(checked.contains_key("UPLOADS_BUCKET"), "{checked:?}");
    assert!(checked.len() >= 10, "{checked:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_runs_as_it_is_once_pointed_at_a_demo_job() {
    let dir = tempfile::tempdir().unwrap();
    let (pg, banks) = generated(dir.path(), 400, 11);
    let stack = LocalStack::start(None).await.unwrap();
    ingest_all(&stack, &pg, &banks).await;
    let job = run_job(&stack, "JOB-SAMPLE-EVENTS", 4).await;
    assert_eq!(job.status.as_str(), "COMPLETED");
    // The demo's settlement cycle: the settlement events name one of its batches.
    let d = |s: &str| settlepaisa_recon::date::Date::parse_iso(s).unwrap();
    let settled =
        settlepaisa_cli::settle_demo::run(&stack, dir.path(), d("2026-10-02"), d("2026-10-06")).await.unwrap();
    assert!(!settled.batches.is_empty());

    let out = dir.path().join("events");
    let written =
        settlepaisa_cli::sample_events::write(&stack, None, &workspace_root().join("events"), &out).await.unwrap();
    assert_eq!(written.len(), stack.spec.functions.len(), "one event per function");
    let mut answers = BTreeMap::new();
    for f in &stack.spec.functions {
        let text = std::fs::read_to_string(out.join(format!("{}.json", f.binary))).unwrap();
        assert!(!text.contains('<') && !text.contains("0000beef"), "{}: a placeholder is left", f.binary);
        let answer = settlepaisa_cli::local_cmd::invoke_event(&stack, &f.binary, &text)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", f.binary));
        answers.insert(f.binary.clone(), answer);
    }
    for (binary, answer) in &answers {
        if let Some(status) = answer.get("statusCode").and_then(Value::as_u64) {
            assert!((200..300).contains(&status), "{binary}: {status} {}", answer["body"]);
        }
    }
    assert_eq!(answers["authorizer"]["isAuthorized"], true, "{}", answers["authorizer"]);
    assert_eq!(answers["get-job"]["body"]["jobId"], "JOB-SAMPLE-EVENTS", "{}", answers["get-job"]);
    let listed = answers["list-job-exceptions"]["body"]["items"].as_array().cloned().unwrap_or_default();
    assert!(!listed.is_empty() && listed.iter().all(|e| e["category"] == "UNMATCHED_PG"), "{listed:?}");
    assert_eq!(answers["resolve-exception"]["body"]["status"], "RESOLVED", "{}", answers["resolve-exception"]);
    // The events that change a job taking files name a job of their own, not the demo's.
    let preparing = answers["match-job"]["body"]["jobId"].as_str().unwrap_or_default().to_string();
    assert!(!preparing.is_empty() && preparing != "JOB-SAMPLE-EVENTS", "{}", answers["match-job"]);
    let normalized = answers["normalize-job-file"]["body"]["jobId"].as_str().unwrap_or_default().to_string();
    assert!(!normalized.is_empty() && normalized != "JOB-SAMPLE-EVENTS" && normalized != preparing);
    assert_eq!(
        answers["normalize-job-file"]["body"]["status"], "RECEIVED",
        "queued: {}",
        answers["normalize-job-file"]
    );
    assert!(answers["settle-cycle"]["businessDay"].as_bool().unwrap(), "{}", answers["settle-cycle"]);
    assert_eq!(answers["schedule-settlement"]["statusCode"], 200, "a replay: {}", answers["schedule-settlement"]);
    for sqs_function in [
        "match-shard",
        "finalize-job",
        "ingest-chunk",
        "claim-txns",
        "renormalize-file",
        "apply-payout-responses",
        "apply-dispute-file",
        "apply-pg-events",
        "generate-report",
    ] {
        let answer = &answers[sqs_function];
        assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "{sqs_function}: {answer}");
    }
}
