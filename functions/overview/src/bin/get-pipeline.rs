//! Lambda entry point of `get-pipeline`: its handler alone (`handlers::get_pipeline`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_overview::serve("get-pipeline", settlepaisa_overview::handler!("get-pipeline")).await
}
