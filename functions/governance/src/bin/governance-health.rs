//! Lambda entry point of `governance-health`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("governance-health", settlepaisa_governance::handler!("governance-health")).await
}
