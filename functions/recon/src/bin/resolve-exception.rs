//! Lambda entry point of `resolve-exception`: its handler alone (`resolve_exception::resolve_exception`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_recon_api::serve("resolve-exception", settlepaisa_recon_api::handler!("resolve-exception")).await
}
