//! Lambda entry point of `approve-approval`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("approve-approval", settlepaisa_governance::handler!("approve-approval")).await
}
