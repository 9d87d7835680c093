//! `settlepaisa local events`: the sample events of `events/` made runnable against a running
//! local stack. The committed events name placeholders (a job, an exception, a file, an object in
//! the uploads bucket, a token) that exist nowhere; this writes copies that name a real job of
//! the stack (the demo's), one of its exceptions, its files and objects, and fresh tokens.

use crate::error::CliError;
use crate::local::LocalStack;
use serde_json::Value;
use settlepaisa_auth::Role;
use settlepaisa_aws::dynamo::query_all;
use settlepaisa_pipeline::file_record::FileRecord;
use std::path::{Path, PathBuf};

/// The placeholders the committed events use.
const JOB: [&str; 2] = ["JOB-20261001-20261001-0000beef", "JOB-20261001-DEMO"];
const EXCEPTION: &str = "JOB-20261001-20261001-0000beef:EXC-0123456789abcdef";
const FILE: &str = "F0123456789abcdef01234567";
/// A settlement and its merchant (the settlement events').
const SETTLEMENT: &str = "STL-MERCH0000-20261012";
const MERCHANT: &str = "MERCH0000";
/// The schedule event's date and key: a business day after today, and a request recorded under
/// that key (the event replays it: 200, whatever is available by then).
const SCHEDULE_DATE: &str = "2026-10-13";
const SCHEDULE_KEY: &str = "sample-events-0001";
/// The payout response the apply-payout-responses event names.
const RESPONSE_KEY: &str = "incoming/payout-responses/HDFC/HDFC_PAYOUT_RESP_20261012.csv";
/// The transaction and day `open-dispute.json` names.
const DISPUTE_TXN: &str = "TXN-SAMPLE-UPI";
const DISPUTE_RAISED_ON: &str = "2026-10-04";
/// The approval the approve and reject events name.
const APPROVAL: &str = "APR-20261130000000-00000000";
/// The report the report events name.
const REPORT: &str = "RPT-20261130000000-00000000";
/// Who parks the approvals those events decide (a maker never decides their own).
const SAMPLE_MAKER: &str = "sample-maker";
/// A token placeholder: `<… settlepaisa token --role sp-ops>`.
const TOKEN_OPEN: &str = "<";
const TOKEN_ROLE: &str = "settlepaisa token --role ";
/// The user the events' tokens name.
const SAMPLE_USER: &str = "sample-events";
/// Lifetime of the tokens written into the events.
const TOKEN_SECONDS: u64 = 3_600;

fn fail(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

/// The events that change a job still taking files: they name a job of their own.
const PREPARING_EVENTS: [&str; 3] = ["upload-job-file", "normalize-job-file", "renormalize-file"];

/// What the events are rewritten to name.
#[derive(Debug)]
pub struct Subjects {
    pub job_id: String,
    /// A job created for the events that change a job still taking files (upload, normalize,
    /// match), holding a copy of the statement; the demo's job has run, and would answer 409.
    pub preparing_job_id: String,
    /// The statement's copy uploaded to that job.
    pub preparing_file_id: String,
    /// A job of its own for `match-job.json`: matching the preparing job while its statement is
    /// being read again (`normalize-job-file.json`) is refused, and the events run in any order.
    pub matching_job_id: String,
    /// `{job}:{exception}`, as the API names an exception: an open one.
    pub exception: String,
    pub bank_file: FileRecord,
    pub pg_file: FileRecord,
    /// A settlement batch of the stack (the demo's cycle made it).
    pub settlement: settlepaisa_store::settlements::BatchRecord,
    /// The business day after today the schedule event asks for.
    pub schedule_date: String,
    /// A captured UPI transaction for `open-dispute.json` (the dispute events name the
    /// `DSP-SAMPLE-*` disputes the dispute demo opens).
    pub dispute_txn: settlepaisa_dispute::model::Txn,
    /// Two rule changes parked by another user: one for `approve-approval.json`, one for
    /// `reject-approval.json`.
    pub approvals: [String; 2],
    /// A report requested of the stack (`get-report.json`, `generate-report.json`).
    pub report: String,
}

/// Finds in the stack what the events will name: `job_id` (or the newest completed job), the
/// first open exception of it, its HDFC statement and its PG export; and makes a job still taking
/// files, with a copy of the statement.
pub async fn subjects(stack: &LocalStack, job_id: Option<&str>) -> Result<Subjects, CliError> {
    let ctx = &stack.runner.ctx;
    let job_id = match job_id {
        Some(id) => id.to_string(),
        None => newest_job(stack).await?,
    };
    let page = get_json(stack, &format!("/api/jobs/{job_id}/exceptions?status=OPEN&limit=1")).await?;
    let exception = page["items"]
        .get(0)
        .and_then(|e| e["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| fail(format!("job {job_id} has no open exception for resolve-exception.json to name")))?;
    let files = |kind: &'static str| async move {
        let items =
            query_all(&ctx.clients.dynamodb, &ctx.resources.files_table, Some("by-kind-last-date"), "kind", kind)
                .await
                .map_err(fail)?;
        items.iter().map(FileRecord::from_item).collect::<Result<Vec<_>, _>>().map_err(fail)
    };
    let bank_file = files("bank")
        .await?
        .into_iter()
        .find(|f| f.key.starts_with("incoming/hdfc/"))
        .ok_or_else(|| fail("no HDFC statement in the stack: run `settlepaisa local demo --endpoint …` first"))?;
    let pg_file = files("pg")
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| fail("no PG export in the stack: run `settlepaisa local demo --endpoint …` first"))?;
    let (preparing_job_id, preparing_file_id) = preparing_job(stack, &bank_file).await?;
    let (matching_job_id, _) = preparing_job(stack, &bank_file).await?;
    let settlement = a_settlement(stack).await?;
    let schedule_date = scheduled_request(stack, &settlement.merchant_id).await?;
    answer_payout(stack, &settlement).await?;
    crate::dispute_demo::run(stack).await?;
    sample_connector(stack).await?;
    let dispute_txn = crate::dispute_demo::captured_upi(stack, crate::dispute_demo::SAMPLES.len() + 6)
        .await?
        .pop()
        .ok_or_else(|| fail("no captured UPI transaction for open-dispute.json"))?;
    let mut approvals = Vec::new();
    // One pending change per target: two rules, one to approve and one to reject.
    for action in ["exception.write_off", "exception.accept_mismatch"] {
        let body = serde_json::json!({ "minAmountPaise": 500_000 });
        let path = format!("/api/approval-rules/{action}");
        // Asked already (the events written before on this stack): the one still pending.
        let id: String = match stack.call_api(SAMPLE_MAKER, "PUT", &path, Some(body)).await {
            Ok(parked) => parked["approvalId"].as_str().unwrap_or_default().to_string(),
            Err(answer) => match answer.find("APR-") {
                Some(at) => answer[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect(),
                None => return Err(fail(answer)),
            },
        };
        approvals.push(id.to_string());
    }
    let approvals = [approvals[0].clone(), approvals[1].clone()];
    let body = serde_json::json!({ "type": "settlements", "from": "2026-10-01", "to": "2026-10-31" });
    let requested = stack
        .call_api_as(settlepaisa_auth::Role::SpFinance, SAMPLE_USER, "POST", "/api/reports", Some(body))
        .await
        .map_err(fail)?;
    let report = requested["reportId"].as_str().ok_or_else(|| fail(format!("no report: {requested}")))?.to_string();
    Ok(Subjects {
        report,
        approvals,
        job_id,
        preparing_job_id,
        preparing_file_id,
        matching_job_id,
        exception,
        bank_file,
        pg_file,
        settlement,
        schedule_date,
        dispute_txn,
    })
}

/// The connector `get-connector.json` reads and `put-connector.json` replaces: the same
/// configuration `put-connector.json` carries, disabled (no run reaches for its example host).
async fn sample_connector(stack: &LocalStack) -> Result<(), CliError> {
    let text = std::fs::read_to_string(workspace_events().join("put-connector.json")).map_err(fail)?;
    let event: Value = serde_json::from_str(&text).map_err(fail)?;
    let body: Value = serde_json::from_str(event["body"].as_str().unwrap_or("{}")).map_err(fail)?;
    let existing = call(stack, "GET", "/api/connectors/HDFC", None).await;
    if existing.is_err() {
        // A connector change needs a second person: another user asks, the events' user approves.
        let parked = stack.call_api(SAMPLE_MAKER, "PUT", "/api/connectors/HDFC", Some(body)).await.map_err(fail)?;
        if let Some(id) = parked["approvalId"].as_str() {
            call(stack, "POST", &format!("/api/approvals/{id}/approve"), None).await?;
        }
    }
    Ok(())
}

/// A settlement batch of the stack: the one whose id sorts first.
async fn a_settlement(stack: &LocalStack) -> Result<settlepaisa_store::settlements::BatchRecord, CliError> {
    let ctx = &stack.runner.ctx;
    let scan = ctx
        .clients
        .dynamodb
        .scan()
        .table_name(&ctx.resources.settlements_table)
        .filter_expression("begins_with(sk, :b)")
        .expression_attribute_values(":b", aws_sdk_dynamodb::types::AttributeValue::S("B#".into()))
        .send()
        .await
        .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?;
    let mut batches = scan
        .items()
        .iter()
        .map(settlepaisa_store::settlements::BatchRecord::from_item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(fail)?;
    batches.sort_by(|a, b| a.settlement_id.cmp(&b.settlement_id));
    batches
        .into_iter()
        .next()
        .ok_or_else(|| fail("no settlement in the stack: run `settlepaisa local demo --endpoint …` first"))
}

/// Records the schedule event's request (if it is not yet) for the next business day after today.
async fn scheduled_request(stack: &LocalStack, merchant_id: &str) -> Result<String, CliError> {
    use settlepaisa_store::settlements::{get_request, put_request, RequestKey, SettlementRequest};
    let ctx = &stack.runner.ctx;
    let (db, table) = (&ctx.clients.dynamodb, &ctx.resources.settlements_table);
    if let Some(r) = get_request(db, table, merchant_id, SCHEDULE_KEY).await.map_err(fail)? {
        return Ok(r.key.date);
    }
    let today = settlepaisa_http::time_filter::today();
    let date = ctx.settlement.calendar.add_business_days(today.add_days(1), 0).to_string();
    let request = SettlementRequest {
        key: RequestKey { merchant_id: merchant_id.into(), idempotency_key: SCHEDULE_KEY.into(), date: date.clone() },
        status: "SCHEDULED".into(),
        requested_by: SAMPLE_USER.into(),
        requested_at: settlepaisa_store::job::now_rfc3339(),
        estimated_net_paise: 0,
        settlement_id: None,
        outcome: None,
    };
    let draft = settlepaisa_audit::Draft::new(
        settlepaisa_store::audit::now_rfc3339(),
        settlepaisa_audit::Actor::User {
            user_id: SAMPLE_USER.into(),
            role: "merchant-admin".into(),
            merchant_id: Some(merchant_id.into()),
        },
        "settlement.request",
        ("merchant", merchant_id),
        "sample-events",
    );
    put_request(db, table, &request, (ctx.resources.audit_table.as_str(), draft)).await.map_err(fail)?;
    Ok(date)
}

/// The bank's answer the apply-payout-responses event names: the settlement credited.
async fn answer_payout(stack: &LocalStack, b: &settlepaisa_store::settlements::BatchRecord) -> Result<(), CliError> {
    let ctx = &stack.runner.ctx;
    let body = format!(
        "reference,status,utr,reason,processed_at\n{},SUCCESS,HDFCN9999999999,,{}T12:00:00Z\n",
        b.settlement_id, b.cycle_date
    );
    ctx.clients
        .s3
        .put_object()
        .bucket(&ctx.resources.uploads_bucket)
        .key(RESPONSE_KEY)
        .body(body.into_bytes().into())
        .send()
        .await
        .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?;
    Ok(())
}

/// Creates a job through the API (as `create-job.json` would) and uploads a copy of `statement`
/// to it, ingested as the uploads bucket's event would have it; returns the job and the file.
async fn preparing_job(stack: &LocalStack, statement: &FileRecord) -> Result<(String, String), CliError> {
    let ctx = &stack.runner.ctx;
    let created = call(
        stack,
        "POST",
        "/api/jobs",
        Some(serde_json::json!({"from": "2026-10-01", "to": "2026-10-01", "sources": ["HDFC"]})),
    )
    .await?;
    let job_id = created["jobId"]
        .as_str()
        .ok_or_else(|| fail(format!("create-job answered without a jobId: {created}")))?
        .to_string();
    let bucket = &ctx.resources.uploads_bucket;
    let body = ctx
        .clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(&statement.key)
        .send()
        .await
        .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?
        .body
        .collect()
        .await
        .map_err(fail)?
        .into_bytes();
    let key = format!("jobs/{job_id}/{}", statement.name);
    let put = ctx
        .clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?;
    // The sample S3 event, pointed at the copy.
    let sample = workspace_events().join("ingest-file.json");
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(&sample).map_err(crate::error::io_err(&sample))?)
            .map_err(fail)?;
    for record in event["Records"].as_array_mut().into_iter().flatten() {
        let s3 = &mut record["s3"];
        s3["bucket"]["name"] = bucket.as_str().into();
        s3["bucket"]["arn"] = format!("arn:aws:s3:::{bucket}").into();
        s3["object"]["key"] = key.as_str().into();
        s3["object"]["versionId"] = put.version_id.clone().into();
    }
    let ingested =
        settlepaisa_pipeline::ingest::handle(ctx, serde_json::from_value(event).map_err(fail)?).await.map_err(fail)?;
    let file_id =
        ingested.into_iter().next().map(|i| i.file_id).ok_or_else(|| fail(format!("{key} was not ingested")))?;
    Ok((job_id, file_id))
}

fn workspace_events() -> PathBuf {
    crate::local::workspace_root().join("events")
}

async fn newest_job(stack: &LocalStack) -> Result<String, CliError> {
    let ctx = &stack.runner.ctx;
    let scan = ctx
        .clients
        .dynamodb
        .scan()
        .table_name(&ctx.resources.jobs_table)
        // Not a job these events made (theirs would be newest once match-job.json has run).
        .filter_expression(
            "#item = :meta AND #status = :completed AND (attribute_not_exists(created_by) OR created_by <> :sample)",
        )
        .expression_attribute_names("#item", "item")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":sample", aws_sdk_dynamodb::types::AttributeValue::S(SAMPLE_USER.into()))
        .expression_attribute_values(":meta", aws_sdk_dynamodb::types::AttributeValue::S("META".into()))
        .expression_attribute_values(":completed", aws_sdk_dynamodb::types::AttributeValue::S("COMPLETED".into()))
        .send()
        .await
        .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?;
    let mut jobs: Vec<(String, String)> = scan
        .items()
        .iter()
        .filter_map(|item| {
            let id = item.get("job_id")?.as_s().ok()?.clone();
            let created = item.get("created_at").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            Some((created, id))
        })
        .collect();
    jobs.sort();
    jobs.pop()
        .map(|(_, id)| id)
        .ok_or_else(|| fail("no completed job in the stack: run `settlepaisa local demo --endpoint …` first"))
}

/// `GET path` through the local gateway (authorizer included) as sp-ops.
async fn get_json(stack: &LocalStack, path: &str) -> Result<Value, CliError> {
    call(stack, "GET", path, None).await
}

/// A request through the local gateway as the events' user.
async fn call(stack: &LocalStack, method: &str, path: &str, body: Option<Value>) -> Result<Value, CliError> {
    stack.call_api(SAMPLE_USER, method, path, body).await.map_err(fail)
}

fn mint(role: Role) -> String {
    crate::token_cmd::local_auth_config().mint(
        SAMPLE_USER,
        role,
        None,
        settlepaisa_http::edge::now_secs(),
        TOKEN_SECONDS,
    )
}

/// Every `<… settlepaisa token --role R>` in `text` replaced by a fresh token for role R.
fn with_tokens(text: &str) -> Result<String, CliError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(TOKEN_ROLE) {
        let open = rest[..at].rfind(TOKEN_OPEN).ok_or_else(|| fail("a token placeholder without `<`"))?;
        let close = rest[at..].find('>').ok_or_else(|| fail("a token placeholder without `>`"))? + at;
        let role_name = rest[at + TOKEN_ROLE.len()..close].trim();
        let role = Role::parse(role_name).ok_or_else(|| fail(format!("unknown role `{role_name}` in an event")))?;
        out.push_str(&rest[..open]);
        out.push_str(&mint(role));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The event `text` (of `name`.json) naming `subjects` and the stack's uploads bucket.
pub fn rewrite(name: &str, text: &str, subjects: &Subjects, uploads_bucket: &str) -> Result<String, CliError> {
    let mut text = with_tokens(text)?;
    text = text.replace(EXCEPTION, &subjects.exception);
    let (job_id, file_id) = if name == "match-job" {
        (&subjects.matching_job_id, &subjects.preparing_file_id)
    } else if PREPARING_EVENTS.contains(&name) {
        (&subjects.preparing_job_id, &subjects.preparing_file_id)
    } else if name == "ingest-chunk" || name == "claim-txns" {
        (&subjects.job_id, &subjects.pg_file.file_id)
    } else {
        (&subjects.job_id, &subjects.bank_file.file_id)
    };
    for placeholder in JOB {
        text = text.replace(placeholder, job_id);
    }
    text = text.replace(FILE, file_id);
    text = text.replace(SETTLEMENT, &subjects.settlement.settlement_id);
    text = text.replace(MERCHANT, &subjects.settlement.merchant_id);
    if name == "schedule-settlement" {
        text = text.replace(SCHEDULE_DATE, &subjects.schedule_date);
    }
    text = text.replace(REPORT, &subjects.report);
    if name == "approve-approval" {
        text = text.replace(APPROVAL, &subjects.approvals[0]);
    }
    if name == "reject-approval" {
        text = text.replace(APPROVAL, &subjects.approvals[1]);
    }
    if name == "open-dispute" {
        text = text.replace(DISPUTE_TXN, &subjects.dispute_txn.txn_id);
        text = text.replace(DISPUTE_RAISED_ON, &subjects.dispute_txn.capture_day.add_days(1).to_string());
    }
    text = text.replace("settlepaisa-uploads-local", uploads_bucket);
    let mut event: Value = serde_json::from_str(&text).map_err(fail)?;
    // An API request as the gateway hands it over: with the authorizer's verdict on its token.
    let authorization = event["headers"]["authorization"].as_str().map(str::to_string);
    if let (Some(header), Some(context)) = (authorization, event.pointer_mut("/requestContext/authorizer/lambda")) {
        *context = settlepaisa_authorizer::decide(&crate::token_cmd::local_auth_config(), Some(&header));
    }
    if name == "receive-pg-webhook" {
        // A PG delivery: signed now, with the local stack's key (a signature is good for 5 minutes).
        let id = event["headers"]["webhook-id"].as_str().unwrap_or_default().to_string();
        let body = event["body"].as_str().unwrap_or_default().as_bytes().to_vec();
        let keys =
            settlepaisa_pg_events::signature::parse_keys(settlepaisa_pg_events::signature::LOCAL_DEVELOPMENT_KEY)
                .map_err(fail)?;
        let now = settlepaisa_http::edge::now_secs() as i64;
        event["headers"]["webhook-timestamp"] = now.to_string().into();
        event["headers"]["webhook-signature"] =
            settlepaisa_pg_events::signature::sign(&keys[0], &id, now, &body).into();
    }
    if name == "ingest-file" {
        // An S3 notification: the statement's object as S3 would describe it.
        for record in event["Records"].as_array_mut().into_iter().flatten() {
            let s3 = &mut record["s3"];
            s3["bucket"]["name"] = uploads_bucket.into();
            s3["bucket"]["arn"] = format!("arn:aws:s3:::{uploads_bucket}").into();
            s3["object"]["key"] = subjects.bank_file.key.clone().into();
            s3["object"]["size"] = subjects.bank_file.size.into();
            s3["object"]["versionId"] = subjects.bank_file.version.clone().into();
        }
    }
    serde_json::to_string_pretty(&event).map_err(fail)
}

/// Writes every event of `from` (`events/`) into `to`, rewritten; returns the files written.
pub async fn write(stack: &LocalStack, job_id: Option<&str>, from: &Path, to: &Path) -> Result<Vec<PathBuf>, CliError> {
    let subjects = subjects(stack, job_id).await?;
    std::fs::create_dir_all(to).map_err(crate::error::io_err(to))?;
    let mut written = vec![];
    let mut names: Vec<PathBuf> = std::fs::read_dir(from)
        .map_err(crate::error::io_err(from))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    for path in names {
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(crate::error::io_err(&path))?;
        let out = to.join(path.file_name().unwrap_or_default());
        let rewritten = rewrite(&name, &text, &subjects, &stack.runner.ctx.resources.uploads_bucket)?;
        std::fs::write(&out, rewritten).map_err(crate::error::io_err(&out))?;
        written.push(out);
    }
    Ok(written)
}
