//! Lambda entry point of `get-report`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("get-report", settlepaisa_governance::handler!("get-report")).await
}
