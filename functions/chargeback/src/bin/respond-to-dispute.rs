//! Lambda entry point of `respond-to-dispute`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("respond-to-dispute", settlepaisa_chargeback::handler!("respond-to-dispute")).await
}
