//! Lambda entry point of `mock-pg-health`: its handler alone (`health`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_pg::serve("mock-pg-health", settlepaisa_mock_pg::handler!("mock-pg-health")).await
}
