//! Start-up shared by the function binaries: JSON logs for CloudWatch, the context built once.

use crate::Context;

/// Initializes JSON logs ([`settlepaisa_aws::logs::init`]).
pub fn init_tracing() {
    settlepaisa_aws::logs::init(false);
}

/// The context from the environment; a function that cannot configure itself stops at once with
/// the missing or bad setting named.
pub async fn context_or_exit() -> &'static Context {
    match Context::from_env().await {
        Ok(ctx) => Box::leak(Box::new(ctx)),
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            std::process::exit(1);
        }
    }
}
