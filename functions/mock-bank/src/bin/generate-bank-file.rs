//! Lambda entry point of `generate-bank-file`: its handler alone (`generate_file::generate_bank_file`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_mock_bank::serve("generate-bank-file", settlepaisa_mock_bank::handler!("generate-bank-file")).await
}
