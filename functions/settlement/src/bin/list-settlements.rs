//! Lambda entry point of `list-settlements`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_settlement::api::serve_pages("list-settlements", settlepaisa_settlement::handler!("list-settlements"))
        .await
}
