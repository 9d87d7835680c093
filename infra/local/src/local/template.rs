//! Reads `infra/template.yaml`: the local stack creates exactly what the template declares, and
//! wires the functions' environment the way CloudFormation would resolve it.

use serde_yaml::Value;
pub use settlepaisa_aws::capacity::Projection;
use settlepaisa_aws::capacity::{self, TableIndexes};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec {
    pub logical: String,
    /// (name, type) of every key attribute.
    pub attributes: Vec<(String, String)>,
    /// (name, HASH|RANGE).
    pub key: Vec<(String, String)>,
    pub indexes: Vec<IndexSpec>,
}

/// A global secondary index as the template declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexSpec {
    pub name: String,
    /// (name, HASH|RANGE).
    pub key: Vec<(String, String)>,
    pub projection: Projection,
}

impl TableSpec {
    /// The table's key and indexes for the request counter, which bills index writes from them.
    pub fn write_cost_model(&self) -> TableIndexes {
        TableIndexes {
            keys: self.key.iter().map(|(n, _)| n.clone()).collect(),
            indexes: self
                .indexes
                .iter()
                .map(|i| capacity::IndexSpec {
                    name: i.name.clone(),
                    keys: i.key.iter().map(|(n, _)| n.clone()).collect(),
                    projection: i.projection.clone(),
                })
                .collect(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct QueueSpec {
    pub logical: String,
    pub visibility_timeout: u32,
    /// Dead-letter queue (logical id) and maxReceiveCount.
    pub redrive: Option<(String, u32)>,
    /// A FIFO queue (`FifoQueue: true`): its name ends in `.fifo`, and each message names its group.
    pub fifo: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BucketSpec {
    pub logical: String,
    /// `BucketName` when the template sets one, unresolved (an intrinsic function of the stack).
    pub name: Option<Value>,
    pub versioned: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventSpec {
    S3 {
        bucket: String,
        prefix: String,
        /// `s3:ObjectCreated:*`, `s3:ObjectRemoved:*`, …
        events: Vec<String>,
    },
    Sqs {
        queue: String,
        batch_size: u32,
        partial_failures: bool,
    },
    /// An HTTP API route; `public` when the route turns the authorizer off; `throttle` its own
    /// `RouteSettings` (rate per second, burst) when it has them.
    Http {
        method: String,
        path: String,
        public: bool,
        throttle: Option<Throttle>,
    },
}

/// An HTTP API stage's throttling: requests a second and burst (`ThrottlingRateLimit`,
/// `ThrottlingBurstLimit`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Throttle {
    pub rate: f64,
    pub burst: u32,
}

fn throttle_of(settings: Option<&Value>) -> Option<Throttle> {
    let s = settings?;
    let rate = s.get("ThrottlingRateLimit").and_then(|v| v.as_f64().or_else(|| str_of(v)?.parse().ok()))?;
    let burst = s.get("ThrottlingBurstLimit").and_then(|v| v.as_u64().or_else(|| str_of(v)?.parse().ok()))?;
    Some(Throttle { rate, burst: burst as u32 })
}

#[derive(Clone, Debug, PartialEq)]
pub struct FunctionSpec {
    pub logical: String,
    pub binary: String,
    pub events: Vec<EventSpec>,
    /// The queue (logical id) an asynchronous invocation goes to once its retries are spent
    /// (`EventInvokeConfig.DestinationConfig.OnFailure`).
    pub on_failure: Option<String>,
    /// The function's own `Environment.Variables` (beside the Globals'), unresolved.
    pub environment: BTreeMap<String, Value>,
}

#[derive(Clone, Debug)]
pub struct StackSpec {
    pub tables: Vec<TableSpec>,
    pub queues: Vec<QueueSpec>,
    pub buckets: Vec<BucketSpec>,
    pub functions: Vec<FunctionSpec>,
    /// Globals → Function → Environment → Variables, unresolved.
    pub environment: BTreeMap<String, Value>,
    pub parameters: BTreeMap<String, String>,
    /// The HTTP API's `DefaultRouteSettings` throttling.
    pub default_throttle: Option<Throttle>,
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("template: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Shape(String),
}

fn str_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// A `!Ref X` or `!GetAtt X.Attr` target's logical id.
pub fn ref_target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "Ref" || t.tag == "GetAtt" => {
            str_of(&t.value).map(|s| s.split('.').next().unwrap_or("").to_string())
        }
        _ => None,
    }
}

pub fn load(path: &Path) -> Result<StackSpec, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|e| TemplateError::Read(path.display().to_string(), e))?;
    parse(&text)
}

pub fn parse(text: &str) -> Result<StackSpec, TemplateError> {
    let doc: Value = serde_yaml::from_str(text)?;
    let resources =
        doc.get("Resources").and_then(Value::as_mapping).ok_or_else(|| TemplateError::Shape("no Resources".into()))?;
    let mut spec = StackSpec {
        tables: vec![],
        queues: vec![],
        buckets: vec![],
        functions: vec![],
        environment: BTreeMap::new(),
        parameters: BTreeMap::new(),
        default_throttle: None,
    };
    if let Some(params) = doc.get("Parameters").and_then(Value::as_mapping) {
        for (k, v) in params {
            if let (Some(name), Some(default)) = (str_of(k), v.get("Default").and_then(str_of)) {
                // As `sam deploy --parameter-overrides Name=value` does: the local stack takes
                // `SETTLEPAISA_PARAMETER_Name` from its own environment.
                let value = std::env::var(format!("SETTLEPAISA_PARAMETER_{name}")).unwrap_or(default);
                spec.parameters.insert(name, value);
            }
        }
    }
    if let Some(vars) = get(&doc, &["Globals", "Function", "Environment", "Variables"]).and_then(Value::as_mapping) {
        for (k, v) in vars {
            if let Some(name) = str_of(k) {
                spec.environment.insert(name, v.clone());
            }
        }
    }
    for (k, r) in resources {
        let logical = str_of(k).unwrap_or_default();
        let props = r.get("Properties").cloned().unwrap_or(Value::Null);
        match r.get("Type").and_then(str_of).as_deref() {
            Some("AWS::DynamoDB::Table") => spec.tables.push(table(&logical, &props)?),
            Some("AWS::SQS::Queue") => spec.queues.push(QueueSpec {
                fifo: props.get("FifoQueue").and_then(str_of).as_deref() == Some("true"),
                logical,
                visibility_timeout: props
                    .get("VisibilityTimeout")
                    .and_then(str_of)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(30),
                redrive: props.get("RedrivePolicy").and_then(|r| {
                    let dlq = ref_target(r.get("deadLetterTargetArn")?)?;
                    let max = r.get("maxReceiveCount").and_then(|m| match ref_target(m) {
                        Some(param) => spec.parameters.get(&param).cloned(),
                        None => str_of(m),
                    })?;
                    let max = max.parse().ok()?;
                    Some((dlq, max))
                }),
            }),
            Some("AWS::S3::Bucket") => spec.buckets.push(BucketSpec {
                logical,
                name: props.get("BucketName").cloned(),
                versioned: get(&props, &["VersioningConfiguration", "Status"]).and_then(str_of).as_deref()
                    == Some("Enabled"),
            }),
            Some("AWS::Serverless::HttpApi") => spec.default_throttle = throttle_of(props.get("DefaultRouteSettings")),
            Some("AWS::Serverless::Function") => {
                let binary = get(r, &["Metadata", "BuildProperties", "Binary"]).and_then(str_of).ok_or_else(|| {
                    TemplateError::Shape(format!("{logical} names no Metadata.BuildProperties.Binary"))
                })?;
                let mut events = vec![];
                if let Some(evs) = props.get("Events").and_then(Value::as_mapping) {
                    for (_, e) in evs {
                        let p = e.get("Properties").cloned().unwrap_or(Value::Null);
                        match e.get("Type").and_then(str_of).as_deref() {
                            Some("S3") => events.push(EventSpec::S3 {
                                bucket: p.get("Bucket").and_then(ref_target).unwrap_or_default(),
                                prefix: get(&p, &["Filter", "S3Key", "Rules"])
                                    .and_then(Value::as_sequence)
                                    .and_then(|rules| {
                                        rules
                                            .iter()
                                            .find(|r| r.get("Name").and_then(str_of).as_deref() == Some("prefix"))
                                    })
                                    .and_then(|r| r.get("Value").and_then(str_of))
                                    .unwrap_or_default(),
                                events: match p.get("Events") {
                                    Some(Value::Sequence(list)) => list.iter().filter_map(str_of).collect(),
                                    Some(one) => str_of(one).into_iter().collect(),
                                    None => vec![],
                                },
                            }),
                            Some("SQS") => events.push(EventSpec::Sqs {
                                queue: p.get("Queue").and_then(ref_target).unwrap_or_default(),
                                batch_size: p
                                    .get("BatchSize")
                                    .and_then(str_of)
                                    .and_then(|b| b.parse().ok())
                                    .unwrap_or(10),
                                partial_failures: p
                                    .get("FunctionResponseTypes")
                                    .and_then(Value::as_sequence)
                                    .is_some_and(|t| {
                                        t.iter().any(|x| str_of(x).as_deref() == Some("ReportBatchItemFailures"))
                                    }),
                            }),
                            Some("HttpApi") => events.push(EventSpec::Http {
                                method: p.get("Method").and_then(str_of).unwrap_or_default().to_ascii_uppercase(),
                                path: p.get("Path").and_then(str_of).unwrap_or_default(),
                                public: get(&p, &["Auth", "Authorizer"]).and_then(str_of).as_deref() == Some("NONE"),
                                throttle: throttle_of(p.get("RouteSettings")),
                            }),
                            _ => {}
                        }
                    }
                }
                let on_failure = get(&props, &["EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination"])
                    .and_then(ref_target);
                let environment = get(&props, &["Environment", "Variables"])
                    .and_then(Value::as_mapping)
                    .map(|vars| vars.iter().filter_map(|(k, v)| Some((str_of(k)?, v.clone()))).collect())
                    .unwrap_or_default();
                spec.functions.push(FunctionSpec { logical, binary, events, on_failure, environment });
            }
            _ => {}
        }
    }
    Ok(spec)
}

fn pairs(v: Option<&Value>, a: &str, b: &str) -> Vec<(String, String)> {
    v.and_then(Value::as_sequence)
        .map(|seq| seq.iter().filter_map(|x| Some((x.get(a).and_then(str_of)?, x.get(b).and_then(str_of)?))).collect())
        .unwrap_or_default()
}

fn table(logical: &str, props: &Value) -> Result<TableSpec, TemplateError> {
    let mut indexes = Vec::new();
    for i in props.get("GlobalSecondaryIndexes").and_then(Value::as_sequence).into_iter().flatten() {
        let name = i
            .get("IndexName")
            .and_then(str_of)
            .ok_or_else(|| TemplateError::Shape(format!("{logical}: an index without IndexName")))?;
        indexes.push(IndexSpec {
            key: pairs(i.get("KeySchema"), "AttributeName", "KeyType"),
            projection: projection(i.get("Projection"))
                .map_err(|e| TemplateError::Shape(format!("{logical} index {name}: {e}")))?,
            name,
        });
    }
    Ok(TableSpec {
        logical: logical.to_string(),
        attributes: pairs(props.get("AttributeDefinitions"), "AttributeName", "AttributeType"),
        key: pairs(props.get("KeySchema"), "AttributeName", "KeyType"),
        indexes,
    })
}

/// An index's `Projection`; CloudFormation requires one, so a missing or unknown type is an
/// error rather than a guess (the write cost depends on it).
fn projection(p: Option<&Value>) -> Result<Projection, String> {
    let included = || -> Vec<String> {
        p.and_then(|p| p.get("NonKeyAttributes"))
            .and_then(Value::as_sequence)
            .map(|seq| seq.iter().filter_map(str_of).collect())
            .unwrap_or_default()
    };
    match p.and_then(|p| p.get("ProjectionType")).and_then(str_of).as_deref() {
        Some("ALL") => Ok(Projection::All),
        Some("KEYS_ONLY") => Ok(Projection::KeysOnly),
        Some("INCLUDE") if !included().is_empty() => Ok(Projection::Include(included())),
        Some("INCLUDE") => Err("INCLUDE names no NonKeyAttributes".into()),
        Some(other) => Err(format!("unknown ProjectionType {other}")),
        None => Err("no Projection.ProjectionType".into()),
    }
}
