//! The CLI's errors: each one line that says which file and what to do.

use settlepaisa_recon::bank_file::BankFileError;
use settlepaisa_recon::config::ConfigError;
use settlepaisa_recon::pg_file::PgFileError;
use settlepaisa_recon::settlement::fees::FeesError;
use settlepaisa_recon::settlement::report::TotalsOverflow;
use settlepaisa_recon::settlement::report_file::SettlementFileError;
use settlepaisa_recon::template::TemplateError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{file}: {source}")]
    Bank { file: String, source: BankFileError },
    #[error("{file}: {source}")]
    Pg { file: String, source: PgFileError },
    #[error("{file}: {source}")]
    Settlement { file: String, source: SettlementFileError },
    #[error("{file}: {source}")]
    Fees { file: String, source: FeesError },
    #[error(transparent)]
    SettlementTotals(#[from] TotalsOverflow),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("two bank files are named `{0}`; bank refs are FILE:LINE, so base names must differ")]
    DuplicateFileName(String),
    #[error("two input files are named `{0}`; rows and rejects are FILE:LINE, so base names must differ")]
    DuplicateSettlementName(String),
    #[error("{0}")]
    Usage(String),
}

pub fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
    let path = path.into();
    move |source| CliError::Io { path, source }
}
