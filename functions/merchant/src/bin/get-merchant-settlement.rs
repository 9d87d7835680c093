//! Lambda entry point of `get-merchant-settlement`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_merchant::serve("get-merchant-settlement", settlepaisa_merchant::handler!("get-merchant-settlement"))
        .await
}
