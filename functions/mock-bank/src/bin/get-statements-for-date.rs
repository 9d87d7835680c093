//! Lambda entry point of `get-statements-for-date`: its handler alone (`statements::get_statements_for_date`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_bank::serve("get-statements-for-date", settlepaisa_mock_bank::handler!("get-statements-for-date"))
        .await
}
