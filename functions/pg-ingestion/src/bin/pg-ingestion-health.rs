//! Lambda entry point of `pg-ingestion-health`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_pg_ingestion::serve("pg-ingestion-health", settlepaisa_pg_ingestion::handler!("pg-ingestion-health"))
        .await
}
