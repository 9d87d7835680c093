//! Lambda entry point of `normalize-job-file`: its handler alone (`uploads::normalize_job_file`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("normalize-job-file", settlepaisa_recon_api::handler!("normalize-job-file")).await
}
