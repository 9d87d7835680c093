//! Lambda entry point of `reject-approval`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("reject-approval", settlepaisa_governance::handler!("reject-approval")).await
}
