//! Lambda entry point of `get-dispute`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("get-dispute", settlepaisa_chargeback::handler!("get-dispute")).await
}
