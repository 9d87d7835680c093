//! Lambda entry point of `get-job`; its route and access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("get-job").await
}
