//! `settlepaisa token`: mints a development JWT for the local stack, signed with the configured key
//! (`JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`; local defaults when unset).

use crate::error::CliError;
use settlepaisa_auth::token::LOCAL_DEVELOPMENT_SECRET;
use settlepaisa_auth::{AuthConfig, Role};

#[derive(clap::Args)]
pub struct TokenArgs {
    /// sp-ops, sp-finance, sp-compliance or merchant-admin.
    #[arg(long)]
    pub role: String,
    /// The merchant of a merchant-admin.
    #[arg(long)]
    pub merchant: Option<String>,
    /// Lifetime: `8h`, `30m`, `90s`.
    #[arg(long, default_value = "8h")]
    pub ttl: String,
    #[arg(long, default_value = "dev-user")]
    pub user: String,
}

/// The local stack's signing configuration; production reads the secret from its secret store.
pub fn local_auth_config() -> AuthConfig {
    let lookup = |k: &str| match std::env::var(k).ok().filter(|v| !v.is_empty()) {
        None if k == "JWT_SECRET" => Some(LOCAL_DEVELOPMENT_SECRET.to_string()),
        v => v,
    };
    AuthConfig::from_lookup(&lookup).unwrap_or_else(|e| {
        eprintln!("settlepaisa: {e}; using the local development key");
        AuthConfig::from_lookup(&|k| (k == "JWT_SECRET").then(|| LOCAL_DEVELOPMENT_SECRET.to_string()))
            .expect("default")
    })
}

pub fn parse_ttl(text: &str) -> Option<u64> {
    let (num, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = num.parse().ok()?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(n * scale).filter(|s| *s > 0)
}

pub fn run(args: &TokenArgs) -> Result<(), CliError> {
    let role = Role::parse(&args.role).ok_or_else(|| {
        CliError::Usage(format!("--role `{}`: expected sp-ops, sp-finance, sp-compliance or merchant-admin", args.role))
    })?;
    if role.is_merchant() && args.merchant.is_none() {
        return Err(CliError::Usage("a merchant-admin token needs --merchant".into()));
    }
    let ttl = parse_ttl(&args.ttl)
        .ok_or_else(|| CliError::Usage(format!("--ttl `{}`: expected e.g. 8h, 30m, 90s", args.ttl)))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    println!("{}", local_auth_config().mint(&args.user, role, args.merchant.as_deref(), now, ttl));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_read_like_people_write_them() {
        assert_eq!(parse_ttl("8h"), Some(28_800));
        assert_eq!(parse_ttl("30m"), Some(1_800));
        assert_eq!(parse_ttl("90"), Some(90));
        assert_eq!(parse_ttl("0s"), None);
        assert_eq!(parse_ttl("8 hours"), None);
    }
}
