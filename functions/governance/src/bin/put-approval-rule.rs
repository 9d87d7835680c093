//! Lambda entry point of `put-approval-rule`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("put-approval-rule", settlepaisa_governance::handler!("put-approval-rule")).await
}
