//! Lambda entry point of `get-settlement`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_settlement::api::serve_pages("get-settlement", settlepaisa_settlement::handler!("get-settlement")).await
}
