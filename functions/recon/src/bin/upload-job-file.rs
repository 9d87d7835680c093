//! Lambda entry point of `upload-job-file`; its route and access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("upload-job-file").await
}
