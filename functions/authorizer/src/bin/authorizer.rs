//! Lambda entry point of the HTTP API's authorizer (see `infra/template.yaml`, `AuthorizerFunction`).
//! The signing key is the stack's secret (`JWT_SECRET_ARN`), read at the first request and again
//! every five minutes, so a rotation takes effect without a deploy; `JWT_SECRET` (a value) where
//! there is no Secrets Manager.

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_auth::AuthConfig;
use settlepaisa_aws::secrets::Secret;

#[tokio::main]
async fn main() -> Result<(), Error> {
    settlepaisa_http::lambda::init_tracing();
    let lookup = |k: &str| std::env::var(k).ok();
    // Secrets Manager alone: the authorizer links no other service's client.
    let secrets = settlepaisa_aws::secrets::client(&settlepaisa_aws::Clients::config_from_env().await);
    let started = AuthConfig::settings(&lookup).and_then(|settings| {
        let key = Secret::from_lookup("JWT_SECRET", &lookup, &secrets)
            .ok_or_else(|| "neither JWT_SECRET_ARN nor JWT_SECRET is set".to_string())?;
        Ok((settings, key))
    });
    let (settings, key): (&'static AuthConfig, &'static Secret) = match started {
        Ok((s, k)) => (Box::leak(Box::new(s)), Box::leak(Box::new(k))),
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            std::process::exit(1);
        }
    };
    run(service_fn(|event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
        let config = key.current().await.map_err(|e| e.to_string()).and_then(|k| settings.clone().with_secret(k));
        Ok::<_, Error>(match config {
            Ok(config) => settlepaisa_authorizer::handle(&config, &event.payload),
            Err(e) => {
                // No key, no verdict but a refusal: the edge answers 401, and the cause is logged.
                tracing::error!(error = %e, "signing key unavailable");
                settlepaisa_authorizer::refuse_all()
            }
        })
    }))
    .await
}
