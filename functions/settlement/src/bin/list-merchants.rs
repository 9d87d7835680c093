//! Lambda entry point of `list-merchants`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_settlement::api::serve("list-merchants", settlepaisa_settlement::handler!("list-merchants")).await
}
