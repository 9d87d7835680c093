//! Lambda entry point of `create-representment`: its handler alone; its route and access are in
//! `settlepaisa_http::routes::ROUTES`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    settlepaisa_chargeback::serve("create-representment", settlepaisa_chargeback::handler!("create-representment"))
        .await
}
