//! The disputes part of `settlepaisa local demo` and of the sample events: an NPCI dispute file
//! for some of the stack's captured UPI transactions dropped into `incoming/disputes/NPCI/`, as
//! NPCI's would be — through S3, `ingest-file` and the dispute file queue to
//! `apply-dispute-file` — before the settlement cycles, so the chargeback debits reach them.
//!
//! The file opens chargebacks (debited at onset), a retrieval request, and one dispute the
//! network decides in the merchant's favour (debit and reversal). Its `DSP-SAMPLE-*` disputes
//! (due 2099) are what the committed `events/` name; `DSP-SAMPLE-REPR` is then contested with a
//! PDF, so a representment can be written for it.

use crate::error::CliError;
use crate::local::LocalStack;
use settlepaisa_dispute::lifecycle::{apply, Action, Context as Rules};
use settlepaisa_dispute::model::{Answer, Evidence, Stage, Txn};
use settlepaisa_store::txn_pages::Page;
use std::time::Duration;

pub const KEY: &str = "incoming/disputes/NPCI/NPCI_DISPUTES_20261005.csv";
/// The disputes the sample events name.
pub const SAMPLES: [&str; 5] =
    ["DSP-SAMPLE-GET", "DSP-SAMPLE-RESPOND", "DSP-SAMPLE-EVIDENCE", "DSP-SAMPLE-OUTCOME", "DSP-SAMPLE-REPR"];

fn fail(e: impl ToString) -> CliError {
    CliError::Usage(e.to_string())
}

/// What the demo's dispute file did.
#[derive(Debug, Default)]
pub struct DisputeDemo {
    pub key: String,
    pub disputes: Vec<String>,
    pub debits_paise: i64,
    /// Dispute changes made: the file's rows and the sample contest's two.
    pub changes: usize,
}

/// Up to `n` captured UPI transactions of the stack, from the first transaction pages found.
pub async fn captured_upi(stack: &LocalStack, n: usize) -> Result<Vec<Txn>, CliError> {
    let ctx = &stack.runner.ctx;
    let mut out: Vec<Txn> = Vec::new();
    let mut start = None;
    while out.len() < n {
        let page = ctx
            .clients
            .dynamodb
            .scan()
            .table_name(&ctx.resources.transactions_table)
            .filter_expression("begins_with(pk, :t)")
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::S("T#".into()))
            .limit(20)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| fail(settlepaisa_aws::sdk_message(&e)))?;
        for item in page.items() {
            let p = Page::from_item(item).map_err(fail)?;
            for t in p.shown().map_err(fail)? {
                if t.is_captured() && t.method.as_str() == "UPI" && out.len() < n && t.utr.is_some() {
                    out.push(Txn {
                        txn_id: t.txn_id.into(),
                        merchant_id: t.merchant_id.into(),
                        merchant_ref: t.merchant_ref.into(),
                        method: "UPI".into(),
                        amount_paise: t.amount.0,
                        rrn: t.utr.map(|u| u.to_string()),
                        captured_at: t.captured_at,
                        capture_day: t.date,
                    });
                }
            }
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => break,
        }
    }
    Ok(out)
}

/// Drops the demo's dispute file and lets the stack apply it.
pub async fn run(stack: &LocalStack) -> Result<DisputeDemo, CliError> {
    let ctx = &stack.runner.ctx;
    let txns = captured_upi(stack, SAMPLES.len() + 5).await?;
    if txns.len() < SAMPLES.len() + 5 {
        return Err(fail("the stack has too few captured UPI transactions for the dispute demo"));
    }
    let mut text = String::from(settlepaisa_dispute::file::HEADER);
    text.push('\n');
    let mut out = DisputeDemo { key: KEY.into(), ..DisputeDemo::default() };
    let raised = |t: &Txn| t.capture_day.add_days(3).to_string();
    let mut row = |id: &str, t: &Txn, amount: i64, stage: &str, respond_by: &str| {
        text.push_str(&format!(
            "{id},UPI,{},{},{amount},U008,Goods or services not received,{stage},{},{respond_by}\n",
            t.txn_id,
            t.rrn.clone().unwrap_or_default(),
            raised(t)
        ));
        if !out.disputes.iter().any(|d| d == id) {
            out.disputes.push(id.to_string());
        }
    };
    for (i, id) in SAMPLES.iter().enumerate() {
        row(id, &txns[i], txns[i].amount_paise, "chargeback", "2099-12-31");
    }
    let rest = &txns[SAMPLES.len()..];
    // Three chargebacks (a partial one among them), a retrieval request, one won.
    row("DSP-DEMO-0001", &rest[0], rest[0].amount_paise, "chargeback", "");
    row("DSP-DEMO-0002", &rest[1], rest[1].amount_paise / 2, "chargeback", "");
    row("DSP-DEMO-0003", &rest[2], rest[2].amount_paise, "chargeback", "");
    row("DSP-DEMO-0004", &rest[3], rest[3].amount_paise, "retrieval", "");
    row("DSP-DEMO-0005", &rest[4], rest[4].amount_paise, "chargeback", "");
    row("DSP-DEMO-0005", &rest[4], rest[4].amount_paise, "won", "");
    out.changes = text.lines().count() - 1 + 2;
    let r = &ctx.resources;
    settlepaisa_aws::s3::put(&ctx.clients.s3, &r.uploads_bucket, KEY, text.into_bytes()).await.map_err(fail)?;
    stack.runner.run_until_idle(Duration::from_secs(120)).await.map_err(fail)?;
    contest_sample(stack).await?;
    out.debits_paise = txns[..SAMPLES.len()].iter().map(|t| t.amount_paise).sum::<i64>()
        + rest[0].amount_paise
        + rest[1].amount_paise / 2
        + rest[2].amount_paise;
    Ok(out)
}

/// `DSP-SAMPLE-REPR` contested with a one-page PDF, as the portal would do it.
async fn contest_sample(stack: &LocalStack) -> Result<(), CliError> {
    let ctx = &stack.runner.ctx;
    let id = "DSP-SAMPLE-REPR";
    let pdf = b"%PDF-1.4\n% SettlePaisa demo: proof of delivery\n%%EOF\n".to_vec();
    let now = settlepaisa_chargeback::change::now();
    let evidence = Evidence {
        evidence_id: "EV-SAMPLE-0001".into(),
        file_name: "proof-of-delivery.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: pdf.len() as u64,
        key: format!("evidence/{id}/EV-SAMPLE-0001"),
        stage: Stage::Chargeback,
        submitted: false,
        created_at: now,
    };
    settlepaisa_aws::s3::put(&ctx.clients.s3, &ctx.resources.artifacts_bucket, &evidence.key, pdf)
        .await
        .map_err(fail)?;
    let actions = [
        Action::AddEvidence(evidence),
        Action::Respond {
            answer: Answer::Contest,
            evidence_ids: vec!["EV-SAMPLE-0001".into()],
            note: "Delivered on the 3rd; the customer signed for it.".into(),
            idempotency_key: "sample-events-contest".into(),
        },
    ];
    for action in &actions {
        let draft = settlepaisa_audit::Draft::new(
            settlepaisa_store::audit::now_rfc3339(),
            settlepaisa_audit::Actor::User {
                user_id: "demo-merchant".into(),
                role: "merchant-admin".into(),
                merchant_id: None,
            },
            "dispute.respond",
            ("dispute", id),
            "local-demo",
        );
        settlepaisa_chargeback::change::change(ctx, id, draft, |current| {
            let Some(d) = current else { return Err(format!("{id} was not opened")) };
            let cx = Rules { rules: &ctx.dispute_rules, calendar: &ctx.settlement.calendar, now, by: "demo-merchant" };
            apply(d, action, &cx)
        })
        .await
        .map_err(fail)?;
    }
    Ok(())
}
