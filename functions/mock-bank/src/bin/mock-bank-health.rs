//! Lambda entry point of `mock-bank-health`: its handler alone (`health`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_bank::serve("mock-bank-health", settlepaisa_mock_bank::handler!("mock-bank-health")).await
}
