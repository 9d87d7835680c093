//! Lambda entry point of `overview-health`: its handler alone (`handlers::health`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_overview::serve("overview-health", settlepaisa_overview::handler!("overview-health")).await
}
