//! What every handler needs, built once per process: clients, resource names, configuration.

use crate::error::StoreError;
use settlepaisa_aws::Clients;
use settlepaisa_recon::template::{built_in_templates, Template};
use settlepaisa_recon::MatchConfig;

/// Names of the stack's resources, as the template passes them in the environment.
#[derive(Clone, Debug)]
pub struct Resources {
    pub uploads_bucket: String,
    pub artifacts_bucket: String,
    pub files_table: String,
    pub transactions_table: String,
    pub jobs_table: String,
    pub results_table: String,
    pub kpi_table: String,
    /// Merchants and their settlement plans.
    pub merchants_table: String,
    /// Ledger heads, settlement batches, reconciled days, on-demand requests.
    pub settlements_table: String,
    /// Payout response files for `apply-payout-responses`, as `ingest-file` forwards them.
    pub payout_response_queue_url: String,
    /// Disputes (issue 13).
    pub disputes_table: String,
    /// Dispute files for `apply-dispute-file`, as `ingest-file` forwards them.
    pub dispute_file_queue_url: String,
    /// Webhook receipts, transactions' webhook states, conflicts (issue 14).
    pub pg_events_table: String,
    /// Verified webhook deliveries for `apply-pg-events`.
    pub pg_events_queue_url: String,
    /// Bank connectors: configuration, state, files taken (the seed's `bank_connectors`).
    pub bank_connectors_table: String,
    /// The audit trail: a hash chain per day (issue 15).
    pub audit_table: String,
    /// Per-user token buckets for the edge's rate limits (issue 15).
    pub rate_limits_table: String,
    /// Maker-checker: rules, parked requests (issue 15).
    pub approvals_table: String,
    /// Reports requested, and the queue `generate-report` reads (issue 15).
    pub reports_table: String,
    pub report_queue_url: String,
    pub match_queue_url: String,
    pub finalize_queue_url: String,
    /// Where Lambda puts S3 events whose ingestion failed on every attempt.
    pub ingest_dlq_url: String,
    /// Where the chunks of a large PG export wait for `ingest-chunk`.
    pub ingest_chunk_queue_url: String,
    /// The FIFO queue of claim steps: one message per (file, claim group), grouped by claim group.
    pub claim_queue_url: String,
    /// Where the claim queue puts a step that failed on every attempt (`redrive-ingest` reads it).
    pub claim_dlq_url: String,
    /// Jobs whose planning `POST /api/jobs/{id}/match` queued, for `plan-match`.
    pub plan_queue_url: String,
    /// Statements to read again with a chosen template, for `renormalize-file`.
    pub renormalize_queue_url: String,
    /// Where the renormalize queue puts a read that failed on every attempt (`redrive-ingest`).
    pub renormalize_dlq_url: String,
}

#[derive(Clone, Debug)]
pub struct Context {
    pub clients: Clients,
    pub resources: Resources,
    pub match_config: MatchConfig,
    pub templates: Vec<Template>,
    pub default_shards: u32,
    /// The match queue's `maxReceiveCount`: the attempt after which a shard is marked failed.
    pub max_receive_count: u32,
    /// The finalize queue's `maxReceiveCount`: the attempt after which the job is marked failed.
    pub finalize_max_receive_count: u32,
    /// Seconds without progress after which a running job's messages may be queued again.
    pub stall_secs: i64,
    /// A PG export larger than this is ingested in chunks of about this size, in parallel.
    pub chunk_bytes: u64,
    /// The chunk queue's `maxReceiveCount`: the attempt after which the file is marked failed.
    pub max_receive_chunk: u32,
    /// The claim queue's `maxReceiveCount`: the attempt after which the file is marked failed.
    pub max_receive_claim: u32,
    /// The renormalize queue's `maxReceiveCount`: the attempt after which the file is marked failed.
    pub max_receive_renormalize: u32,
    /// Paces this invocation's transaction page writes, in write units a second
    /// (`INGEST_WRITES_PER_SECOND`, 0 = unpaced).
    pub write_pacer: std::sync::Arc<settlepaisa_aws::pace::Pacer>,
    pub settlement: SettlementSettings,
    /// The disputes' rules table, with deduct-at-onset as `DISPUTE_DEDUCT_AT_ONSET` sets it.
    pub dispute_rules: settlepaisa_dispute::rules::Rules,
    /// The PG's webhook signing keys (`PG_WEBHOOK_SECRET_ARN` in AWS, `PG_WEBHOOK_SECRET`
    /// locally): `whsec_…`, several while the PG rotates. Only the functions that verify or sign
    /// webhooks are given it; [`Context::pg_webhook_keys`] reads it (and alone links the Secrets
    /// Manager client).
    pub pg_webhook_secret: Option<SecretSetting>,
    pg_webhook_secret_cache: std::sync::Arc<std::sync::OnceLock<settlepaisa_aws::secrets::Secret>>,
    /// Where the mock PG delivers its webhooks (`PG_WEBHOOK_URL`: the stack's `/webhooks/pg`).
    pub pg_webhook_url: Option<String>,
    /// How bank connectors retry, wait and give up.
    pub connectors: ConnectorSettings,
    /// Each user's limits per route class (`USER_RATE_LIMITS`: `class:per_minute:burst,…` or
    /// `off`; the default is [`settlepaisa_auth::rate_limit::DEFAULT_LIMITS`]).
    pub user_rate_limits: settlepaisa_auth::rate_limit::Limits,
}

/// Bank connectors' timing (`CONNECTOR_*`; the defaults are production's, tests shrink them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectorSettings {
    /// The backoff's base, `CONNECTOR_BACKOFF_BASE_MS` (the seed's 1,000: `min(1000·2^n, 30000)`).
    pub backoff_base_ms: u64,
    /// Each remote step's bound, `CONNECTOR_TIMEOUT_SECS` (30).
    pub timeout_secs: u64,
    /// A remote file modified this recently is left for a later run, `CONNECTOR_SETTLE_SECS` (60).
    pub settle_secs: i64,
    /// Failed runs in a row that open the breaker, `CONNECTOR_FAILURES_TO_OPEN` (3).
    pub failures_to_open: u32,
    /// How long an open breaker waits before a trial run, `CONNECTOR_COOL_DOWN_SECS` (3,600).
    pub cool_down_secs: i64,
    /// A scheduled event's `time` further than this from the clock is not believed (a stale
    /// sample event must not move state back in time); tests that travel in time raise it.
    pub max_event_skew_secs: i64,
}

/// Where a secret comes from (its `Debug` never shows a value).
#[derive(Clone)]
pub enum SecretSetting {
    /// Secrets Manager (`{NAME}_ARN`), read again every few minutes.
    Arn(String),
    /// The value itself (`{NAME}`: the local stack, tests).
    Value(String),
}

impl std::fmt::Debug for SecretSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSetting::Arn(arn) => write!(f, "Arn({arn})"),
            SecretSetting::Value(_) => f.write_str("Value(…)"),
        }
    }
}

/// The settlement cycle's settings.
#[derive(Clone, Debug)]
pub struct SettlementSettings {
    /// The aggregator's paying banks (`PAYOUT_BANKS`, comma-separated; the first pays accounts
    /// at banks not among them).
    pub payout_banks: Vec<String>,
    /// Bank holidays (`SETTLEMENT_HOLIDAYS`, comma-separated ISO dates).
    pub calendar: settlepaisa_payout::calendar::Calendar,
    /// Capture days a run looks back over (`SETTLEMENT_WINDOW_DAYS`, 7 to 45): inputs older than
    /// the window are not read and the ledger forgets what batches before it took. At most 45, so
    /// a batch's funnel moves (two KPI items per capture day) fit one transaction.
    pub window_days: u32,
}

impl SettlementSettings {
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<SettlementSettings, StoreError> {
        let banks: Vec<String> = lookup("PAYOUT_BANKS")
            .unwrap_or_else(|| "HDFC".into())
            .split(',')
            .map(|b| b.trim().to_ascii_uppercase())
            .filter(|b| !b.is_empty())
            .collect();
        if banks.is_empty() || banks.iter().any(|b| !b.bytes().all(|c| c.is_ascii_alphanumeric())) {
            return Err(StoreError::BadSetting("PAYOUT_BANKS", banks.join(",")));
        }
        let holidays = lookup("SETTLEMENT_HOLIDAYS").unwrap_or_default();
        let calendar = settlepaisa_payout::calendar::Calendar::parse(&holidays.replace(',', "\n"))
            .map_err(|_| StoreError::BadSetting("SETTLEMENT_HOLIDAYS", holidays.clone()))?;
        let window_days = match lookup("SETTLEMENT_WINDOW_DAYS").filter(|v| !v.is_empty()) {
            None => 45,
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| (7..=45).contains(n))
                .ok_or(StoreError::BadSetting("SETTLEMENT_WINDOW_DAYS", v))?,
        };
        Ok(SettlementSettings { payout_banks: banks, calendar, window_days })
    }
}

impl Resources {
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Resources, StoreError> {
        let get = |key: &'static str| lookup(key).filter(|v| !v.is_empty()).ok_or(StoreError::MissingSetting(key));
        Ok(Resources {
            uploads_bucket: get("UPLOADS_BUCKET")?,
            artifacts_bucket: get("ARTIFACTS_BUCKET")?,
            files_table: get("FILES_TABLE")?,
            transactions_table: get("TRANSACTIONS_TABLE")?,
            jobs_table: get("JOBS_TABLE")?,
            results_table: get("RESULTS_TABLE")?,
            kpi_table: get("KPI_TABLE")?,
            merchants_table: get("MERCHANTS_TABLE")?,
            settlements_table: get("SETTLEMENTS_TABLE")?,
            payout_response_queue_url: get("PAYOUT_RESPONSE_QUEUE_URL")?,
            disputes_table: get("DISPUTES_TABLE")?,
            dispute_file_queue_url: get("DISPUTE_FILE_QUEUE_URL")?,
            pg_events_table: get("PG_EVENTS_TABLE")?,
            pg_events_queue_url: get("PG_EVENTS_QUEUE_URL")?,
            bank_connectors_table: get("BANK_CONNECTORS_TABLE")?,
            audit_table: get("AUDIT_TABLE")?,
            rate_limits_table: get("RATE_LIMITS_TABLE")?,
            approvals_table: get("APPROVALS_TABLE")?,
            reports_table: get("REPORTS_TABLE")?,
            report_queue_url: get("REPORT_QUEUE_URL")?,
            match_queue_url: get("MATCH_QUEUE_URL")?,
            finalize_queue_url: get("FINALIZE_QUEUE_URL")?,
            ingest_dlq_url: get("INGEST_DLQ_URL")?,
            ingest_chunk_queue_url: get("INGEST_CHUNK_QUEUE_URL")?,
            claim_queue_url: get("CLAIM_QUEUE_URL")?,
            claim_dlq_url: get("CLAIM_DLQ_URL")?,
            plan_queue_url: get("PLAN_QUEUE_URL")?,
            renormalize_queue_url: get("RENORMALIZE_QUEUE_URL")?,
            renormalize_dlq_url: get("RENORMALIZE_DLQ_URL")?,
        })
    }
}

impl Context {
    /// Reads every setting through `lookup` (the process environment in Lambda).
    pub fn new(clients: Clients, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Context, StoreError> {
        let number = |key: &'static str, default: u32, max: u32| -> Result<u32, StoreError> {
            match lookup(key).filter(|v| !v.is_empty()) {
                None => Ok(default),
                Some(v) => v.parse().ok().filter(|n| (1..=max).contains(n)).ok_or(StoreError::BadSetting(key, v)),
            }
        };
        let writes_per_second = match lookup("INGEST_WRITES_PER_SECOND") {
            Some(v) if !v.is_empty() && v != "0" => number("INGEST_WRITES_PER_SECOND", 0, 1_000_000)?,
            _ => 0,
        };
        let set = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let pg_webhook_secret = match (set("PG_WEBHOOK_SECRET_ARN"), set("PG_WEBHOOK_SECRET")) {
            (Some(arn), _) => Some(SecretSetting::Arn(arn)),
            (None, Some(v)) => Some(SecretSetting::Value(v)),
            (None, None) => None,
        };
        let connectors = ConnectorSettings {
            backoff_base_ms: u64::from(number("CONNECTOR_BACKOFF_BASE_MS", 1_000, 60_000)?),
            timeout_secs: u64::from(number("CONNECTOR_TIMEOUT_SECS", 30, 600)?),
            settle_secs: i64::from(number("CONNECTOR_SETTLE_SECS", 60, 86_400)?),
            failures_to_open: number("CONNECTOR_FAILURES_TO_OPEN", 3, 100)?,
            cool_down_secs: i64::from(number("CONNECTOR_COOL_DOWN_SECS", 3_600, 7 * 86_400)?),
            max_event_skew_secs: 900,
        };
        let limits = set("USER_RATE_LIMITS").unwrap_or_else(|| settlepaisa_auth::rate_limit::DEFAULT_LIMITS.into());
        let user_rate_limits = settlepaisa_auth::rate_limit::Limits::parse(&limits)
            .map_err(|why| StoreError::BadSetting("USER_RATE_LIMITS", format!("{limits}: {why}")))?;
        Ok(Context {
            user_rate_limits,
            connectors,
            pg_webhook_secret,
            pg_webhook_secret_cache: Default::default(),
            pg_webhook_url: lookup("PG_WEBHOOK_URL").filter(|v| !v.is_empty()),
            clients,
            resources: Resources::from_lookup(lookup)?,
            match_config: MatchConfig::from_lookup(lookup)?,
            templates: built_in_templates(),
            default_shards: number("DEFAULT_MATCH_SHARDS", 16, settlepaisa_recon::shard::PARTITIONS)?,
            max_receive_count: number("MATCH_MAX_RECEIVE_COUNT", 5, 1000)?,
            finalize_max_receive_count: number("FINALIZE_MAX_RECEIVE_COUNT", 5, 1000)?,
            stall_secs: i64::from(number("JOB_STALL_SECONDS", 900, 86_400)?),
            // Tests cut small files into small chunks; the template keeps AWS at 8 MiB or more.
            // Chunks write S3 only, so no write rate bounds their size.
            chunk_bytes: u64::from(number("INGEST_CHUNK_BYTES", 64 << 20, 1 << 30)?),
            max_receive_chunk: number("INGEST_CHUNK_MAX_RECEIVE_COUNT", 5, 1000)?,
            max_receive_claim: number("CLAIM_MAX_RECEIVE_COUNT", 5, 1000)?,
            max_receive_renormalize: number("RENORMALIZE_MAX_RECEIVE_COUNT", 5, 1000)?,
            write_pacer: std::sync::Arc::new(settlepaisa_aws::pace::Pacer::new(writes_per_second)),
            settlement: SettlementSettings::from_lookup(lookup)?,
            dispute_rules: {
                let v = lookup("DISPUTE_DEDUCT_AT_ONSET");
                settlepaisa_dispute::rules::Rules::with_deduct_at_onset(v.as_deref())
                    .map_err(|_| StoreError::BadSetting("DISPUTE_DEDUCT_AT_ONSET", v.unwrap_or_default()))?
            },
        })
    }

    /// This context with other webhook keys (a rotation in tests, the local stack): the keys read
    /// before are not kept.
    pub fn with_pg_webhook_secret(&self, setting: SecretSetting) -> Context {
        Context { pg_webhook_secret: Some(setting), pg_webhook_secret_cache: Default::default(), ..self.clone() }
    }

    /// The webhook signing keys as configured now (read again after a rotation).
    pub async fn pg_webhook_keys(&self) -> Result<Vec<settlepaisa_pg_events::signature::SigningKey>, StoreError> {
        use settlepaisa_aws::secrets::{Secret, DEFAULT_TTL};
        let setting = self.pg_webhook_secret.as_ref().ok_or(StoreError::MissingSetting("PG_WEBHOOK_SECRET"))?;
        let secret = self.pg_webhook_secret_cache.get_or_init(|| match setting {
            SecretSetting::Arn(arn) => Secret::manager(self.clients.secretsmanager(), arn, DEFAULT_TTL),
            SecretSetting::Value(v) => Secret::value(v.as_bytes()),
        });
        let value = secret.current().await?;
        let text =
            String::from_utf8(value).map_err(|_| StoreError::BadSetting("PG_WEBHOOK_SECRET", "not text".into()))?;
        settlepaisa_pg_events::signature::parse_keys(&text)
            .map_err(|e| StoreError::BadSetting("PG_WEBHOOK_SECRET", e.to_string()))
    }

    pub async fn from_env() -> Result<Context, StoreError> {
        Context::new(Clients::from_env().await, &|k| std::env::var(k).ok())
    }
}
