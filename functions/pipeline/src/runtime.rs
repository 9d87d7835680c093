//! Start-up shared by the function binaries: JSON logs for CloudWatch, the context built once.

use crate::Context;

/// Initializes JSON tracing (level from `RUST_LOG`, default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).without_time().try_init();
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
