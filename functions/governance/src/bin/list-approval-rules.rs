//! Lambda entry point of `list-approval-rules`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_governance::serve("list-approval-rules", settlepaisa_governance::handler!("list-approval-rules")).await
}
