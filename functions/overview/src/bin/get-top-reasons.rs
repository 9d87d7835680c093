//! Lambda entry point of `get-top-reasons`; its route and access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_overview::serve("get-top-reasons").await
}
