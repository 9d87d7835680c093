//! Lambda entry point of `recon-health`: its handler alone (`health`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("recon-health", settlepaisa_recon_api::handler!("recon-health")).await
}
