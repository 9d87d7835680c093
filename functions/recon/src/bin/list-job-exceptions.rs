//! Lambda entry point of `list-job-exceptions`: its handler alone (`exceptions::list_job_exceptions`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve_pages("list-job-exceptions", settlepaisa_recon_api::handler!("list-job-exceptions"))
        .await
}
