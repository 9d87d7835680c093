//! Lambda entry point of `get-connectors-health`: its handler alone (`handlers::get_connectors_health`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_overview::serve("get-connectors-health", settlepaisa_overview::handler!("get-connectors-health")).await
}
