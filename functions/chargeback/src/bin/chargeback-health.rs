//! Lambda entry point of `chargeback-health`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("chargeback-health", settlepaisa_chargeback::handler!("chargeback-health")).await
}
