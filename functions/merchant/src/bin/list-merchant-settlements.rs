//! Lambda entry point of `list-merchant-settlements`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_merchant::serve(
        "list-merchant-settlements",
        settlepaisa_merchant::handler!("list-merchant-settlements"),
    )
    .await
}
