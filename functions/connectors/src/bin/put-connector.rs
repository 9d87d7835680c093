//! Lambda entry point of `put-connector`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_connectors::serve("put-connector", settlepaisa_connectors::handler!("put-connector")).await
}
