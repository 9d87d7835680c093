//! Lambda entry point of `receive-pg-webhook`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_pg_ingestion::serve("receive-pg-webhook", settlepaisa_pg_ingestion::handler!("receive-pg-webhook"))
        .await
}
