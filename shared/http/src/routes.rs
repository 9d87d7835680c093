//! Every HTTP route of the API and the access it needs — the one table to audit.
//!
//! The edge refuses any request whose route is not here (fail closed), `infra/template.yaml` must
//! declare exactly these routes and functions, and `docs/openapi.yaml` exactly these operations:
//! the integration tests hold all three to this table.

use settlepaisa_auth::Permission;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No token (health checks for load balancers and monitors).
    Public,
    /// No token: the sender signs each delivery (Standard Webhooks), and the handler checks the
    /// signature before anything is read or stored.
    Webhook,
    /// SettlePaisa staff holding the permission; merchant users never.
    Internal(Permission),
    /// Staff with `internal`, or a merchant user with `merchant`, confined to its own merchant.
    InternalOrMerchant { internal: Permission, merchant: Permission },
}

impl Access {
    /// Whether the authorizer and the edge require a token.
    pub fn needs_token(self) -> bool {
        !matches!(self, Access::Public | Access::Webhook)
    }
}

/// The seed's services; each is one crate under `functions/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    Overview,
    Recon,
    MockPg,
    MockBank,
    Settlement,
    Merchant,
    Chargeback,
    PgIngestion,
    Connectors,
    Governance,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Overview => "overview-api",
            Service::Recon => "recon-api",
            Service::MockPg => "mock-pg-api",
            Service::MockBank => "mock-bank-api",
            Service::Settlement => "settlement-api",
            Service::Merchant => "merchant-api",
            Service::Chargeback => "chargeback-api",
            Service::PgIngestion => "pg-ingestion",
            Service::Connectors => "connectors",
            Service::Governance => "governance",
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    /// The Lambda function (and binary) that serves the route.
    pub function: &'static str,
    pub method: &'static str,
    /// API Gateway's and axum's path syntax (`{id}`).
    pub path: &'static str,
    pub service: Service,
    pub access: Access,
}

use Access::{Internal, InternalOrMerchant, Public, Webhook};
use Permission::*;
use Service::*;

const fn route(
    function: &'static str,
    method: &'static str,
    path: &'static str,
    service: Service,
    access: Access,
) -> RouteSpec {
    RouteSpec { function, method, path, service, access }
}

pub const ROUTES: &[RouteSpec] = &[
    // Overview API
    route(
        "get-overview",
        "GET",
        "/api/overview",
        Overview,
        InternalOrMerchant { internal: OverviewRead, merchant: MerchantDashboard },
    ),
    route(
        "get-pipeline",
        "GET",
        "/api/pipeline",
        Overview,
        InternalOrMerchant { internal: OverviewRead, merchant: MerchantDashboard },
    ),
    route("get-sources", "GET", "/api/sources", Overview, Internal(OverviewRead)),
    route("get-connectors-health", "GET", "/api/connectors/health", Overview, Internal(OverviewRead)),
    route("get-top-reasons", "GET", "/api/top-reasons", Overview, Internal(OverviewRead)),
    route("overview-health", "GET", "/health", Overview, Public),
    // Reconciliation API
    route("create-job", "POST", "/api/jobs", Recon, Internal(ReconciliationWrite)),
    route("get-job", "GET", "/api/jobs/{id}", Recon, Internal(AnalyticsRead)),
    route("upload-job-file", "POST", "/api/jobs/{id}/upload", Recon, Internal(ReconciliationWrite)),
    route("normalize-job-file", "POST", "/api/jobs/{id}/normalize", Recon, Internal(ReconciliationWrite)),
    route("match-job", "POST", "/api/jobs/{id}/match", Recon, Internal(ReconciliationWrite)),
    route("list-job-exceptions", "GET", "/api/jobs/{id}/exceptions", Recon, Internal(AnalyticsRead)),
    route("list-job-settlements", "GET", "/api/jobs/{id}/settlements", Recon, Internal(AnalyticsRead)),
    route("list-job-settlement-checks", "GET", "/api/jobs/{id}/settlement-checks", Recon, Internal(AnalyticsRead)),
    route("resolve-exception", "POST", "/api/exceptions/{id}/resolve", Recon, Internal(ExceptionsResolve)),
    route("recon-health", "GET", "/health/recon", Recon, Public),
    // Mock PG API
    route(
        "list-transactions",
        "GET",
        "/api/transactions",
        MockPg,
        InternalOrMerchant { internal: AnalyticsRead, merchant: MerchantReports },
    ),
    route("seed-transactions", "POST", "/admin/seed", MockPg, Internal(ConnectorsConfigure)),
    route("mock-pg-health", "GET", "/health/mock-pg", MockPg, Public),
    // Mock bank API
    route("list-statements", "GET", "/api/statements", MockBank, Internal(AnalyticsRead)),
    route("get-statements-for-date", "GET", "/api/statements/{date}", MockBank, Internal(AnalyticsRead)),
    route("generate-bank-file", "POST", "/admin/generate-file", MockBank, Internal(ConnectorsConfigure)),
    route("mock-bank-health", "GET", "/health/mock-bank", MockBank, Public),
    // Settlement engine (ops). Edits need reconciliation:write (sp-ops): the seed gives sp-finance
    // reads only; docs/settlement-cycle.md#who-may-change-a-merchant.
    route("list-settlements", "GET", "/api/settlements", Settlement, Internal(SettlementsRead)),
    route("get-settlement", "GET", "/api/settlements/{id}", Settlement, Internal(SettlementsRead)),
    route("list-merchants", "GET", "/api/merchants", Settlement, Internal(SettlementsRead)),
    route("get-merchant", "GET", "/api/merchants/{id}", Settlement, Internal(SettlementsRead)),
    route("update-merchant", "PATCH", "/api/merchants/{id}", Settlement, Internal(ReconciliationWrite)),
    route("settlement-health", "GET", "/health/settlement", Settlement, Public),
    // Merchant portal (the seed's merchant-api)
    route(
        "get-merchant-dashboard",
        "GET",
        "/merchant/dashboard",
        Merchant,
        InternalOrMerchant { internal: SettlementsRead, merchant: MerchantDashboard },
    ),
    route(
        "list-merchant-settlements",
        "GET",
        "/merchant/settlements",
        Merchant,
        InternalOrMerchant { internal: SettlementsRead, merchant: MerchantSettlements },
    ),
    route(
        "get-merchant-settlement",
        "GET",
        "/merchant/settlements/{id}",
        Merchant,
        InternalOrMerchant { internal: SettlementsRead, merchant: MerchantSettlements },
    ),
    route(
        "schedule-settlement",
        "POST",
        "/merchant/settlement/schedule",
        Merchant,
        InternalOrMerchant { internal: ReconciliationWrite, merchant: MerchantSettlements },
    ),
    route("merchant-health", "GET", "/health/merchant", Merchant, Public),
    // Chargebacks and disputes (the seed's chargeback-api). Reads: disputes:read (sp-finance,
    // sp-compliance); opening, outcomes, representments and responding on a merchant's behalf:
    // exceptions:resolve (sp-ops); docs/disputes.md#who-may-do-what.
    route("list-disputes", "GET", "/api/disputes", Chargeback, Internal(DisputesRead)),
    route("get-dispute", "GET", "/api/disputes/{id}", Chargeback, Internal(DisputesRead)),
    route("open-dispute", "POST", "/api/disputes", Chargeback, Internal(ExceptionsResolve)),
    route("record-dispute-outcome", "POST", "/api/disputes/{id}/outcome", Chargeback, Internal(ExceptionsResolve)),
    route("create-representment", "POST", "/api/disputes/{id}/representment", Chargeback, Internal(ExceptionsResolve)),
    route(
        "list-merchant-disputes",
        "GET",
        "/merchant/disputes",
        Chargeback,
        InternalOrMerchant { internal: DisputesRead, merchant: MerchantDisputes },
    ),
    route(
        "get-merchant-dispute",
        "GET",
        "/merchant/disputes/{id}",
        Chargeback,
        InternalOrMerchant { internal: DisputesRead, merchant: MerchantDisputes },
    ),
    route(
        "add-dispute-evidence",
        "POST",
        "/merchant/disputes/{id}/evidence",
        Chargeback,
        InternalOrMerchant { internal: ExceptionsResolve, merchant: MerchantDisputes },
    ),
    route(
        "respond-to-dispute",
        "POST",
        "/merchant/disputes/{id}/respond",
        Chargeback,
        InternalOrMerchant { internal: ExceptionsResolve, merchant: MerchantDisputes },
    ),
    route("chargeback-health", "GET", "/health/chargeback", Chargeback, Public),
    // PG ingestion (the seed's pg-ingestion): the PG's signed webhooks.
    route("receive-pg-webhook", "POST", "/webhooks/pg", PgIngestion, Webhook),
    route("pg-ingestion-health", "GET", "/health/pg-ingestion", PgIngestion, Public),
    // Bank connectors (the seed's connectors): configuration and state, connectors:configure.
    route("list-connectors", "GET", "/api/connectors", Connectors, Internal(ConnectorsConfigure)),
    route("get-connector", "GET", "/api/connectors/{bank}", Connectors, Internal(ConnectorsConfigure)),
    route("put-connector", "PUT", "/api/connectors/{bank}", Connectors, Internal(ConnectorsConfigure)),
    route("connectors-health", "GET", "/health/connectors", Connectors, Public),
    // Governance (issue 15): the audit trail, read by compliance.
    route("list-audit", "GET", "/api/audit", Governance, Internal(AuditRead)),
    // Maker-checker: the queue and decisions need reconciliation:write (sp-ops); approving also
    // needs the permission of the request it applies (checked by the handler).
    route("list-approvals", "GET", "/api/approvals", Governance, Internal(ReconciliationWrite)),
    route("approve-approval", "POST", "/api/approvals/{id}/approve", Governance, Internal(ReconciliationWrite)),
    route("reject-approval", "POST", "/api/approvals/{id}/reject", Governance, Internal(ReconciliationWrite)),
    route("list-approval-rules", "GET", "/api/approval-rules", Governance, Internal(ReconciliationWrite)),
    route("put-approval-rule", "PUT", "/api/approval-rules/{action}", Governance, Internal(ReconciliationWrite)),
    route(
        "request-report",
        "POST",
        "/api/reports",
        Governance,
        InternalOrMerchant { internal: ReportsGenerate, merchant: MerchantReports },
    ),
    route(
        "get-report",
        "GET",
        "/api/reports/{id}",
        Governance,
        InternalOrMerchant { internal: ReportsGenerate, merchant: MerchantReports },
    ),
    route("governance-health", "GET", "/health/governance", Governance, Public),
];

/// The route a request matched (`path` as declared, not as requested).
pub fn find(method: &str, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
}

pub fn by_function(function: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.function == function)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_and_function_is_declared_once() {
        let mut functions: Vec<_> = ROUTES.iter().map(|r| r.function).collect();
        functions.sort_unstable();
        functions.dedup();
        assert_eq!(functions.len(), ROUTES.len());
        let mut keys: Vec<_> = ROUTES.iter().map(|r| (r.method, r.path)).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), ROUTES.len());
    }

    #[test]
    fn only_health_checks_are_public() {
        for r in ROUTES {
            assert_eq!(r.access == Access::Public, r.path.starts_with("/health"), "{}", r.path);
            assert_eq!(r.access == Access::Webhook, r.path.starts_with("/webhooks/"), "{}", r.path);
        }
    }
}
