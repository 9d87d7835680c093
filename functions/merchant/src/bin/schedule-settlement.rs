//! Lambda entry point of `schedule-settlement`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_merchant::serve("schedule-settlement", settlepaisa_merchant::handler!("schedule-settlement")).await
}
