//! Lambda entry point of `list-transactions`: its handler alone (`transactions::list_transactions`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_pg::serve_pages("list-transactions", settlepaisa_mock_pg::handler!("list-transactions")).await
}
