//! Lambda entry point of `get-overview`: its handler alone (`handlers::get_overview`); its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_overview::serve("get-overview", settlepaisa_overview::handler!("get-overview")).await
}
