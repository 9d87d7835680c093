//! Lambda entry point of `create-job`: its handler alone (`jobs::create_job`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("create-job", settlepaisa_recon_api::handler!("create-job")).await
}
