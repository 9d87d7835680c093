//! Lambda entry point of `get-job`: its handler alone (`jobs::get_job`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("get-job", settlepaisa_recon_api::handler!("get-job")).await
}
