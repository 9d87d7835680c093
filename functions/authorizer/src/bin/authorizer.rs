//! Lambda entry point of the HTTP API's authorizer (see `infra/template.yaml`, `ApiAuthorizer`).

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use settlepaisa_auth::AuthConfig;

#[tokio::main]
async fn main() -> Result<(), Error> {
    settlepaisa_http::lambda::init_tracing();
    let config: &'static AuthConfig = match AuthConfig::from_lookup(&|k| std::env::var(k).ok()) {
        Ok(c) => &*Box::leak(Box::new(c)),
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            std::process::exit(1);
        }
    };
    run(service_fn(|event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
        Ok::<_, Error>(settlepaisa_authorizer::handle(config, &event.payload))
    }))
    .await
}
