//! Start-up of an API function: JSON logs, then the router served by `lambda_http`.

use axum::Router;

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(true).without_time().try_init();
}

/// Serves `router` (already wrapped by [`crate::edge::wrap`]) as a Lambda function. Instances of
/// a function must sign cursors alike: the key comes from `CURSOR_SECRET` or there is none.
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    crate::cursor::configure_from_env()?;
    lambda_http::run(router).await
}
