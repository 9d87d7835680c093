//! Lambda entry point of `connectors-health`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_connectors::serve("connectors-health", settlepaisa_connectors::handler!("connectors-health")).await
}
