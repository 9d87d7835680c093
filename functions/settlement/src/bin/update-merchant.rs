//! Lambda entry point of `update-merchant`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_settlement::api::serve("update-merchant", settlepaisa_settlement::handler!("update-merchant")).await
}
