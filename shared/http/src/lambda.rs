//! Start-up of an API function: JSON logs, then the router served by `lambda_http`.

use axum::Router;

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(true).without_time().try_init();
}

/// Serves `router` (already wrapped by [`crate::edge::wrap`]) as a Lambda function. Instances of
/// a function must sign cursors alike: the key is the stack's secret (`CURSOR_SECRET_ARN`, read
/// once at start), or `CURSOR_SECRET` (a value), or there is none.
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    if let Ok(arn) = std::env::var("CURSOR_SECRET_ARN") {
        let clients = settlepaisa_aws::Clients::from_env().await;
        let secret = settlepaisa_aws::secrets::Secret::manager(
            clients.secretsmanager,
            arn,
            settlepaisa_aws::secrets::DEFAULT_TTL,
        );
        crate::cursor::configure(&secret.current().await?)?;
    }
    crate::cursor::configure_from_env()?;
    lambda_http::run(router).await
}
