//! `settlepaisa merchants import FILE` and `settlepaisa merchants list`: the merchants table of a
//! running local stack (`--endpoint`, or `AWS_ENDPOINT_URL`). The file is checked whole first: a
//! file with any bad row is refused, each bad row named, and nothing is written.

use crate::error::{io_err, CliError};
use crate::local::LocalStack;
use settlepaisa_payout::merchant::{parse_merchants, Merchant};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum MerchantsCommand {
    /// Import (or replace) the merchants of a merchants file.
    Import {
        file: PathBuf,
        /// The running local stack (`settlepaisa local up` prints it).
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: String,
    },
    /// List the merchants, account numbers masked.
    List {
        #[arg(long, env = "AWS_ENDPOINT_URL")]
        endpoint: String,
    },
}

/// Checks the file whole, then writes every merchant; returns how many.
pub async fn import(stack: &LocalStack, file: &Path) -> Result<usize, CliError> {
    let text = std::fs::read_to_string(file).map_err(io_err(file))?;
    let merchants = parse_merchants(&text).map_err(|bad| {
        let rows: Vec<String> = bad.iter().take(20).map(|b| format!("line {}: {}", b.line, b.reason)).collect();
        CliError::Usage(format!(
            "{}: refused, nothing imported ({} bad rows)\n  {}",
            file.display(),
            bad.len(),
            rows.join("\n  ")
        ))
    })?;
    let ctx = &stack.runner.ctx;
    settlepaisa_store::merchants::put_merchants(&ctx.clients.dynamodb, &ctx.resources.merchants_table, &merchants)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(merchants.len())
}

pub async fn list(stack: &LocalStack) -> Result<Vec<Merchant>, CliError> {
    let ctx = &stack.runner.ctx;
    settlepaisa_store::merchants::all(&ctx.clients.dynamodb, &ctx.resources.merchants_table)
        .await
        .map_err(|e| CliError::Usage(e.to_string()))
}

pub fn run(cmd: &MerchantsCommand) -> Result<(), CliError> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::Usage(e.to_string()))?;
    runtime.block_on(async {
        match cmd {
            MerchantsCommand::Import { file, endpoint } => {
                let stack = LocalStack::start(Some(endpoint.clone())).await.map_err(CliError::Usage)?;
                let n = import(&stack, file).await?;
                println!("{n} merchants imported from {}", file.display());
            }
            MerchantsCommand::List { endpoint } => {
                let stack = LocalStack::start(Some(endpoint.clone())).await.map_err(CliError::Usage)?;
                for m in list(&stack).await? {
                    println!(
                        "{}\t{}\t{}\tT+{}\t{}\t{}",
                        m.merchant_id,
                        m.status.as_str(),
                        m.name,
                        m.settlement_days,
                        m.ifsc,
                        m.masked_account()
                    );
                }
            }
        }
        Ok(())
    })
}
