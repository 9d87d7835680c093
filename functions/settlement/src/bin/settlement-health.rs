//! Lambda entry point of `settlement-health`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_settlement::api::serve("settlement-health", settlepaisa_settlement::handler!("settlement-health")).await
}
