//! `settlepaisa bench`: placeholder replaced below.
use crate::error::CliError;
#[derive(clap::Args)]
pub struct BenchArgs {}
pub fn run(_: &BenchArgs) -> Result<(), CliError> { Ok(()) }
