//! Lambda entry point of `seed-transactions`: its handler alone (`seed_transactions::seed_transactions`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_pg::serve("seed-transactions", settlepaisa_mock_pg::handler!("seed-transactions")).await
}
