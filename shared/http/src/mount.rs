//! Builds a service's router from its handlers and the route table: the path and method come
//! from [`crate::routes::ROUTES`], so a handler cannot be mounted somewhere its access was not
//! declared. A Lambda function mounts only its own route; the local stack mounts them all. The
//! result still needs [`crate::edge::wrap`], once, around whatever routes are served together.

use crate::routes;
use axum::routing::MethodRouter;
use axum::Router;

/// `handlers` pairs a function name with its handler. `only` keeps one function's route.
pub fn mount<S: Clone + Send + Sync + 'static>(
    handlers: Vec<(&'static str, MethodRouter<S>)>,
    only: Option<&str>,
    state: S,
) -> Router {
    let mut router = Router::new();
    for (function, handler) in handlers {
        if only.is_some_and(|f| f != function) {
            continue;
        }
        let spec = routes::by_function(function)
            .unwrap_or_else(|| panic!("handler `{function}` has no entry in settlepaisa_http::routes::ROUTES"));
        router = router.route(spec.path, handler);
    }
    router.with_state(state)
}
