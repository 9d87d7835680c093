//! Lambda entry point of `open-dispute`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("open-dispute", settlepaisa_chargeback::handler!("open-dispute")).await
}
