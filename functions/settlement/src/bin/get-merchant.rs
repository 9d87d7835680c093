//! Lambda entry point of `get-merchant`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_settlement::api::serve("get-merchant", settlepaisa_settlement::handler!("get-merchant")).await
}
