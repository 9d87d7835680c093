//! Lambda entry point of `get-sources`: its handler alone (`handlers::get_sources`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_overview::serve("get-sources", settlepaisa_overview::handler!("get-sources")).await
}
