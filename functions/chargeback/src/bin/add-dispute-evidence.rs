//! Lambda entry point of `add-dispute-evidence`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("add-dispute-evidence", settlepaisa_chargeback::handler!("add-dispute-evidence"))
        .await
}
