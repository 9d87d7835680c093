//! The local stack: the emulator, the template's resources in it, and the pipeline's handlers
//! driven in-process as Lambda would drive them. No Docker, no AWS account.

pub mod api;
pub mod intrinsics;
pub mod moto;
pub mod runner;
pub mod sam_env;
pub mod stack;
pub mod template;

use settlepaisa_aws::faults::Faults;
use settlepaisa_aws::Clients;
use std::path::{Path, PathBuf};

pub const STACK: &str = "settlepaisa-local";
pub const REGION: &str = "ap-south-1";

/// The workspace root: where `infra/template.yaml` and `.venv` are. The nearest directory holding
/// the template from the current directory up, or from the crate `cargo` runs (its
/// `CARGO_MANIFEST_DIR` at run time: a binary built in another checkout still reads this one's
/// template), else the checkout the binary was built from.
pub fn workspace_root() -> PathBuf {
    let starts = [std::env::current_dir().ok(), std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)];
    for start in starts.into_iter().flatten() {
        if let Some(root) = start.ancestors().find(|d| d.join("infra/template.yaml").is_file()) {
            return root.to_path_buf();
        }
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// A running local stack: the emulator (unless an endpoint was given) and the deployed names.
pub struct LocalStack {
    pub moto: Option<moto::Moto>,
    pub endpoint: String,
    pub clients: Clients,
    /// Faults the tests inject into every AWS call of the stack (none unless a test adds them).
    pub faults: Faults,
    pub spec: template::StackSpec,
    pub runner: runner::Runner,
}

impl LocalStack {
    /// A request through the local gateway (the authorizer included) as `user`, an sp-ops; the
    /// answer's JSON, or the status and body of any answer but a 2xx.
    pub async fn call_api(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        self.call_api_as(settlepaisa_auth::Role::SpOps, user, method, path, body).await
    }

    /// As [`LocalStack::call_api`], as `role` (staff).
    pub async fn call_api_as(
        &self,
        role: settlepaisa_auth::Role,
        user: &str,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        use tower::ServiceExt;
        let auth = crate::token_cmd::local_auth_config();
        let token = auth.mint(user, role, None, settlepaisa_http::edge::now_secs(), 600);
        let ctx: &'static settlepaisa_pipeline::Context = Box::leak(Box::new(self.runner.ctx.clone()));
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map(|b| axum::body::Body::from(b.to_string())).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let response = api::router(ctx, auth).oneshot(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(|e| e.to_string())?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if !status.is_success() {
            return Err(format!("{method} {path}: {status} {body}"));
        }
        Ok(body)
    }

    /// Starts moto on a free loopback port (or uses `endpoint`), creates the template's resources
    /// and prepares the runner.
    pub async fn start(endpoint: Option<String>) -> Result<LocalStack, String> {
        let root = workspace_root();
        let spec = template::load(&root.join("infra/template.yaml")).map_err(|e| e.to_string())?;
        let (moto, endpoint) = match endpoint {
            Some(e) => (None, e),
            None => {
                let m = moto::Moto::start(&moto::moto_binary(&root))?;
                let e = m.endpoint.clone();
                (Some(m), e)
            }
        };
        let faults = Faults::default();
        let clients = Clients::for_endpoint_with_faults(&endpoint, REGION, Some(&faults)).await;
        let deployed = stack::deploy(&clients, &spec, STACK, REGION, &endpoint).await?;
        // The counter bills index writes from the template's indexes and projections.
        for t in &spec.tables {
            settlepaisa_aws::requests::describe_table(&deployed.tables[&t.logical], t.write_cost_model());
        }
        let runner = runner::Runner::new(clients.clone(), &spec, deployed).await?;
        Ok(LocalStack { moto, endpoint, clients, faults, spec, runner })
    }
}
