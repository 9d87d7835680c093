//! Lambda entry point of `list-job-exceptions`; its route and access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("list-job-exceptions").await
}
