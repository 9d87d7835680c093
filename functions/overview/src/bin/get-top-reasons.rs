//! Lambda entry point of `get-top-reasons`: its handler alone (`handlers::get_top_reasons`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_overview::serve("get-top-reasons", settlepaisa_overview::handler!("get-top-reasons")).await
}
