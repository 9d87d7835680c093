//! `settlepaisa audit verify`: recomputes the audit trail's chains on a stack (the local one, or
//! AWS with the account's credentials and `AUDIT_TABLE`) and names the first entry altered,
//! removed or inserted — what `verify-audit` does daily.

use crate::error::CliError;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the chains of a day or a range of days (yesterday and today by default).
    Verify(VerifyArgs),
}

#[derive(Args)]
pub struct VerifyArgs {
    /// One day (YYYY-MM-DD).
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub day: Option<String>,
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// The running local stack (`settlepaisa local up` prints it).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: String,
}

pub fn run(cmd: &AuditCommand) -> Result<(), CliError> {
    let AuditCommand::Verify(args) = cmd;
    let fail = |e: String| CliError::Usage(e);
    let mut event = serde_json::Map::new();
    for (k, v) in [("day", &args.day), ("from", &args.from), ("to", &args.to)] {
        if let Some(v) = v {
            event.insert(k.into(), v.clone().into());
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| fail(e.to_string()))?;
    rt.block_on(async {
        let stack =
            crate::local::LocalStack::start(Some(args.endpoint.clone())).await.map_err(|e| fail(e.to_string()))?;
        let ctx = &stack.runner.ctx;
        let days = settlepaisa_governance::verify::days_of(&event.into(), settlepaisa_http::time_filter::today())
            .map_err(|e| fail(e.to_string()))?;
        let mut broken = 0;
        for d in days {
            let v = settlepaisa_governance::verify::verify_day(
                &ctx.clients.dynamodb,
                &ctx.resources.audit_table,
                &d.to_string(),
            )
            .await
            .map_err(|e| fail(e.to_string()))?;
            match &v.broken {
                None => println!("{}: {} entries, chain intact", v.day, v.entries),
                Some(b) => {
                    broken += 1;
                    println!("{}: BROKEN — {b}", v.day);
                }
            }
        }
        if broken > 0 {
            return Err(fail(format!("{broken} chain(s) broken")));
        }
        Ok(())
    })
}
