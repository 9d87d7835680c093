//! Start-up of an API function: JSON logs, then the router served by `lambda_http`.

use axum::Router;

pub fn init_tracing() {
    settlepaisa_aws::logs::init(true);
}

/// Serves `router` (already wrapped by [`crate::edge::wrap`]) as a Lambda function that issues
/// no cursors.
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    crate::cursor::configure_none();
    lambda_http::run(router).await
}

/// As [`run`], for a function whose pages carry cursors. Instances of a function must sign them
/// alike: the key is the stack's secret (`CURSOR_SECRET_ARN`, read once at start), or
/// `CURSOR_SECRET` (a value: `sam local`'s env file empties the ARN and sets it), or there is
/// none. Empty counts as unset, as in the authorizer. Separate from [`run`] so that only the two
/// listing functions link the Secrets Manager client.
pub async fn run_signing_cursors(router: Router) -> Result<(), lambda_http::Error> {
    match std::env::var("CURSOR_SECRET_ARN").ok().filter(|arn| !arn.is_empty()) {
        Some(arn) => {
            let config = settlepaisa_aws::Clients::config_from_env().await;
            let secret = settlepaisa_aws::secrets::Secret::manager(
                settlepaisa_aws::secrets::client(&config),
                arn,
                settlepaisa_aws::secrets::DEFAULT_TTL,
            );
            crate::cursor::configure(&secret.current().await?)?;
        }
        None => crate::cursor::configure_from_env()?,
    }
    lambda_http::run(router).await
}
