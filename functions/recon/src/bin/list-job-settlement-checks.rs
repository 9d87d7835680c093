//! Lambda entry point of `list-job-settlement-checks`: its handler alone (`job_settlements::list_job_settlement_checks`); its route and
//! access are in `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve(
        "list-job-settlement-checks",
        settlepaisa_recon_api::handler!("list-job-settlement-checks"),
    )
    .await
}
