//! Lambda entry point of `seed-transactions`; its route and access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_pg::serve("seed-transactions").await
}
