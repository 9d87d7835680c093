//! Lambda entry point of `request-report`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("request-report", settlepaisa_governance::handler!("request-report")).await
}
