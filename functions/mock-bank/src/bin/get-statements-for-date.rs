//! Lambda entry point of `get-statements-for-date`; its route and access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_bank::serve("get-statements-for-date").await
}
