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

/// Whether a function's pages carry signed cursors (it reads the stack's cursor secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursors {
    Unsigned,
    Signed,
}

/// A Lambda function serving one route alone: logs, the context, the handler behind the edge.
/// Every service's `serve` is this with its own state.
pub async fn serve_route<S: Clone + Send + Sync + 'static>(
    function: &'static str,
    handler: axum::routing::MethodRouter<S>,
    state: impl FnOnce(&'static settlepaisa_store::Context) -> S,
    cursors: Cursors,
) -> Result<(), lambda_http::Error> {
    init_tracing();
    let ctx = settlepaisa_store::runtime::context_or_exit().await;
    let router = crate::edge::wrap(crate::mount::mount(vec![(function, handler)], None, state(ctx)), Some(ctx));
    match cursors {
        Cursors::Signed => run_signing_cursors(router).await,
        Cursors::Unsigned => run(router).await,
    }
}
