//! Rate limits (issue 15 §4): per user and route class at the edge (a token bucket in DynamoDB,
//! 429 in the seed's format with `Retry-After`), and per route at the gateway as the template
//! declares (`RouteSettings`, `DefaultRouteSettings`).

use serde_json::json;
use settlepaisa_auth::rate_limit::Limits;
use settlepaisa_auth::Role;
use settlepaisa_tests::api::{assert_seed_error, Api};

fn header(r: &settlepaisa_tests::api::Reply, name: &str) -> Option<String> {
    r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_over_their_limit_gets_429_with_retry_after_and_no_one_else_does() {
    let api = Api::start().await;
    let mut ctx = api.ctx.clone();
    // Three reads in a burst, then one a second; two changes in a burst.
    ctx.user_rate_limits = Limits::parse("read:60:3,write:60:2").unwrap();
    let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(ctx));
    let app = settlepaisa_cli::local::api::router(ctx, api.auth.clone());
    let ops = api.token(Role::SpOps, None);
    let finance = api.token(Role::SpFinance, None);
    let get = |token: String| {
        let app = app.clone();
        let api = &api;
        async move {
            let headers = vec![("authorization".to_string(), format!("Bearer {token}"))];
            api.raw(&app, "GET", "/api/sources", &headers, Vec::new()).await
        }
    };
    for i in 0..3 {
        let r = get(ops.clone()).await;
        assert_eq!(r.status, 200, "read {i}: {}", r.body);
    }
    let limited = get(ops.clone()).await;
    assert_seed_error(&limited, 429);
    assert_eq!(limited.body["error"]["code"], "RATE_LIMITED");
    let retry: u64 = header(&limited, "retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "retry after {retry}");
    assert_eq!(limited.body["error"]["metadata"]["retryAfterSeconds"], retry);
    // Another user, and the same user's other class, have their own buckets.
    assert_eq!(get(finance.clone()).await.status, 200);
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {ops}")),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let today = settlepaisa_http::time_filter::today().to_string();
    let job = json!({ "from": today, "to": today }).to_string().into_bytes();
    assert_eq!(api.raw(&app, "POST", "/api/jobs", &headers, job.clone()).await.status, 201);
    assert_eq!(api.raw(&app, "POST", "/api/jobs", &headers, job.clone()).await.status, 201);
    let third = api.raw(&app, "POST", "/api/jobs", &headers, job).await;
    assert_seed_error(&third, 429);
    // Once the wait is over, the user is served again.
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert_eq!(get(ops.clone()).await.status, 200);
    // A user's requests at the same moment (a dashboard's page load) each take their own token:
    // none is refused while the burst lasts.
    let mut roomy = api.ctx.clone();
    roomy.user_rate_limits = Limits::parse("read:600:50").unwrap();
    let roomy: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(roomy));
    let app2 = settlepaisa_cli::local::api::router(roomy, api.auth.clone());
    let compliance = api.token(Role::SpCompliance, None);
    let calls = (0..20).map(|_| {
        let (app2, api) = (app2.clone(), &api);
        let headers = vec![("authorization".to_string(), format!("Bearer {compliance}"))];
        async move { api.raw(&app2, "GET", "/api/sources", &headers, Vec::new()).await.status.as_u16() }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Health and other public routes have no user to count.
    for _ in 0..5 {
        assert_eq!(api.raw(&app, "GET", "/health", &[], Vec::new()).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_throttles_each_route_as_the_template_says() {
    let api = Api::start().await;
    let spec = &api.stack.spec;
    let default = spec.default_throttle.expect("DefaultRouteSettings throttles every route");
    assert_eq!((default.rate, default.burst), (100.0, 200));
    let app = settlepaisa_cli::local::api::throttled_router(api.ctx, api.auth.clone(), spec);
    // `POST /admin/seed` bursts to 2: the third request at once is refused by the gateway, before
    // the authorizer or the function (with API Gateway's own body).
    let ops = api.token(Role::SpOps, None);
    let headers = vec![
        ("authorization".to_string(), format!("Bearer {ops}")),
        ("content-type".to_string(), "application/json".to_string()),
    ];
    let bad = json!({ "count": 0 }).to_string().into_bytes();
    for _ in 0..2 {
        assert_eq!(api.raw(&app, "POST", "/admin/seed", &headers, bad.clone()).await.status, 400);
    }
    let throttled = api.raw(&app, "POST", "/admin/seed", &[], bad.clone()).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.body, json!({ "message": "Too Many Requests" }));
    // Other routes keep their own buckets.
    assert_eq!(api.raw(&app, "GET", "/health", &[], Vec::new()).await.status, 200);
    // A second later the route has a token again (1 a second).
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    assert_eq!(api.raw(&app, "POST", "/admin/seed", &headers, bad).await.status, 400);
}
