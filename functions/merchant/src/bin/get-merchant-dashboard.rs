//! Lambda entry point of `get-merchant-dashboard`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_merchant::serve("get-merchant-dashboard", settlepaisa_merchant::handler!("get-merchant-dashboard"))
        .await
}
