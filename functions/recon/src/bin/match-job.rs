//! Lambda entry point of `match-job`: its handler alone (`jobs::match_job`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("match-job", settlepaisa_recon_api::handler!("match-job")).await
}
