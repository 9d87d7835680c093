//! Lambda entry point of `get-connector`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_connectors::serve("get-connector", settlepaisa_connectors::handler!("get-connector")).await
}
