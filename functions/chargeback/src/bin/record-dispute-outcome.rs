//! Lambda entry point of `record-dispute-outcome`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("record-dispute-outcome", settlepaisa_chargeback::handler!("record-dispute-outcome"))
        .await
}
