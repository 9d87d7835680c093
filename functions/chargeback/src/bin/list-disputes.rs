//! Lambda entry point of `list-disputes`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("list-disputes", settlepaisa_chargeback::handler!("list-disputes")).await
}
