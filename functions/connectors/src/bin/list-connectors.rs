//! Lambda entry point of `list-connectors`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_connectors::serve("list-connectors", settlepaisa_connectors::handler!("list-connectors")).await
}
