//! Lambda entry point of `list-approvals`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("list-approvals", settlepaisa_governance::handler!("list-approvals")).await
}
