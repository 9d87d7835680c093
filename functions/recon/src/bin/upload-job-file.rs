//! Lambda entry point of `upload-job-file`: its handler alone (`uploads::upload_job_file`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("upload-job-file", settlepaisa_recon_api::handler!("upload-job-file")).await
}
