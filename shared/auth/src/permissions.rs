//! The seed's roles and the permissions each one has — the contract, as one table.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "sp-ops")]
    SpOps,
    #[serde(rename = "sp-finance")]
    SpFinance,
    #[serde(rename = "sp-compliance")]
    SpCompliance,
    #[serde(rename = "merchant-admin")]
    MerchantAdmin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    #[serde(rename = "overview:read")]
    OverviewRead,
    #[serde(rename = "reconciliation:write")]
    ReconciliationWrite,
    #[serde(rename = "exceptions:resolve")]
    ExceptionsResolve,
    #[serde(rename = "connectors:configure")]
    ConnectorsConfigure,
    #[serde(rename = "reports:generate")]
    ReportsGenerate,
    #[serde(rename = "analytics:read")]
    AnalyticsRead,
    #[serde(rename = "settlements:read")]
    SettlementsRead,
    #[serde(rename = "disputes:read")]
    DisputesRead,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "merchant:dashboard")]
    MerchantDashboard,
    #[serde(rename = "merchant:settlements")]
    MerchantSettlements,
    #[serde(rename = "merchant:reports")]
    MerchantReports,
    #[serde(rename = "merchant:disputes")]
    MerchantDisputes,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::SpOps, Role::SpFinance, Role::SpCompliance, Role::MerchantAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SpOps => "sp-ops",
            Role::SpFinance => "sp-finance",
            Role::SpCompliance => "sp-compliance",
            Role::MerchantAdmin => "merchant-admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The seed's `rolePermissions`, exactly.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::SpOps => &[
                OverviewRead,
                ReconciliationWrite,
                ExceptionsResolve,
                ConnectorsConfigure,
                ReportsGenerate,
                AnalyticsRead,
            ],
            Role::SpFinance => &[OverviewRead, SettlementsRead, ReportsGenerate, AnalyticsRead, DisputesRead],
            Role::SpCompliance => &[OverviewRead, AnalyticsRead, ReportsGenerate, AuditRead, DisputesRead],
            Role::MerchantAdmin => &[MerchantDashboard, MerchantSettlements, MerchantReports, MerchantDisputes],
        }
    }

    /// Whether the role grants `permission`. Decided by the role, never by a token's own list.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }

    /// Merchant users are confined to their own merchant's data.
    pub fn is_merchant(self) -> bool {
        self == Role::MerchantAdmin
    }
}

impl Permission {
    pub fn as_str(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_have_exactly_the_seeds_permissions() {
        let names = |r: Role| r.permissions().iter().map(|p| p.as_str()).collect::<Vec<_>>().join(",");
        assert_eq!(
            names(Role::SpOps),
            "overview:read,reconciliation:write,exceptions:resolve,connectors:configure,reports:generate,analytics:read"
        );
        assert_eq!(
            names(Role::SpFinance),
            "overview:read,settlements:read,reports:generate,analytics:read,disputes:read"
        );
        assert_eq!(names(Role::SpCompliance), "overview:read,analytics:read,reports:generate,audit:read,disputes:read");
        assert_eq!(
            names(Role::MerchantAdmin),
            "merchant:dashboard,merchant:settlements,merchant:reports,merchant:disputes"
        );
        assert!(Role::SpOps.allows(Permission::ExceptionsResolve));
        assert!(!Role::SpFinance.allows(Permission::ExceptionsResolve));
        assert!(!Role::MerchantAdmin.allows(Permission::OverviewRead));
        assert_eq!(Role::parse("sp-compliance"), Some(Role::SpCompliance));
        assert_eq!(Role::parse("admin"), None);
    }
}
