//! Lambda entry point of `list-statements`: its handler alone (`statements::list_statements`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_bank::serve("list-statements", settlepaisa_mock_bank::handler!("list-statements")).await
}
