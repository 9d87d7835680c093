//! Lambda entry point of `list-job-settlements`: its handler alone (`job_settlements::list_job_settlements`); its route and
//! access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("list-job-settlements", settlepaisa_recon_api::handler!("list-job-settlements")).await
}
