//! Lambda entry point of `merchant-health`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_merchant::serve("merchant-health", settlepaisa_merchant::handler!("merchant-health")).await
}
