//! Creates the template's buckets, tables and queues in the emulator and resolves the functions'
//! environment against them. Physical names are derived from the stack name, so any process can
//! find a running local stack again.

use super::intrinsics::{evaluate, Pseudo};
use super::template::{self, EventSpec, StackSpec};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};
use aws_sdk_s3::types::{
    BucketVersioningStatus, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_yaml::Value;
use settlepaisa_aws::{sdk_message, Clients};
use std::collections::BTreeMap;

pub const ACCOUNT: &str = "123456789012";

/// Physical names of a deployed local stack.
#[derive(Clone, Debug)]
pub struct Deployed {
    pub stack: String,
    pub region: String,
    pub buckets: BTreeMap<String, String>,
    pub tables: BTreeMap<String, String>,
    /// logical id → (name, url)
    pub queues: BTreeMap<String, (String, String)>,
    /// The local-only queue that receives the uploads bucket's notifications.
    pub s3_events_queue: String,
    pub environment: BTreeMap<String, String>,
}

fn pseudo(stack: &str, region: &str) -> Pseudo {
    Pseudo { stack: stack.into(), region: region.into(), account: ACCOUNT.into() }
}

fn queue_arn(region: &str, name: &str) -> String {
    format!("arn:aws:sqs:{region}:{ACCOUNT}:{name}")
}

/// Names only: what `deploy` creates, without creating anything.
pub fn names(spec: &StackSpec, stack: &str, region: &str, endpoint: &str) -> Deployed {
    let buckets = spec
        .buckets
        .iter()
        .map(|b| {
            let name = b
                .name
                .as_ref()
                .and_then(|n| evaluate(n, &pseudo(stack, region), &|_| None))
                .unwrap_or_else(|| format!("{stack}-{}", b.logical.to_lowercase()));
            (b.logical.clone(), name)
        })
        .collect();
    let tables = spec.tables.iter().map(|t| (t.logical.clone(), format!("{stack}-{}", t.logical))).collect();
    let queues: BTreeMap<String, (String, String)> = spec
        .queues
        .iter()
        .map(|q| {
            // As CloudFormation names a FIFO queue: with the `.fifo` suffix SQS requires.
            let name = format!("{stack}-{}{}", q.logical, if q.fifo { ".fifo" } else { "" });
            let url = format!("{endpoint}/{ACCOUNT}/{name}");
            (q.logical.clone(), (name, url))
        })
        .collect();
    let mut d = Deployed {
        stack: stack.into(),
        region: region.into(),
        buckets,
        tables,
        queues,
        s3_events_queue: format!("{stack}-S3Events"),
        environment: BTreeMap::new(),
    };
    d.environment = spec.environment.iter().filter_map(|(k, v)| Some((k.clone(), resolve(v, spec, &d)?))).collect();
    d
}

/// Resolves a variable's value the way CloudFormation would, against local names. `None` for
/// what the local stack leaves unset: a condition (`!If`, here the emulator endpoint for `sam
/// local`, which the local stack's own clients already use).
fn resolve(v: &Value, spec: &StackSpec, d: &Deployed) -> Option<String> {
    let resource = |target: &str| {
        spec.parameters
            .get(target)
            .or_else(|| d.buckets.get(target))
            .or_else(|| d.tables.get(target))
            .or_else(|| d.queues.get(target).map(|(_, url)| url))
            .cloned()
    };
    evaluate(v, &pseudo(&d.stack, &d.region), &resource)
}

/// Creates everything (idempotently: what exists is left as it is) and returns the names.
pub async fn deploy(
    clients: &Clients,
    spec: &StackSpec,
    stack: &str,
    region: &str,
    endpoint: &str,
) -> Result<Deployed, String> {
    let mut d = names(spec, stack, region, endpoint);
    for b in &spec.buckets {
        let name = &d.buckets[&b.logical];
        let _ = clients
            .s3
            .create_bucket()
            .bucket(name)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                    .build(),
            )
            .send()
            .await;
        if b.versioned {
            clients
                .s3
                .put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(
                    VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
                )
                .send()
                .await
                .map_err(|e| sdk_message(&e))?;
        }
    }
    for t in &spec.tables {
        create_table(clients, &d.tables[&t.logical], t).await?;
    }
    // Dead-letter queues first, so redrive policies can name them.
    let mut queues = spec.queues.clone();
    queues.sort_by_key(|q| q.redrive.is_some());
    for q in &queues {
        let (name, _) = d.queues[&q.logical].clone();
        let mut req = clients
            .sqs
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::VisibilityTimeout, q.visibility_timeout.to_string());
        if q.fifo {
            req = req.attributes(QueueAttributeName::FifoQueue, "true");
        }
        if let Some((dlq, max)) = &q.redrive {
            let target = queue_arn(region, &d.queues[dlq].0);
            req = req.attributes(
                QueueAttributeName::RedrivePolicy,
                format!(r#"{{"deadLetterTargetArn":"{target}","maxReceiveCount":"{max}"}}"#),
            );
        }
        let out = req.send().await.map_err(|e| format!("create queue {name}: {}", sdk_message(&e)))?;
        if let Some(url) = out.queue_url {
            d.queues.get_mut(&q.logical).expect("queue named").1 = url;
        }
    }
    let events = clients
        .sqs
        .create_queue()
        .queue_name(&d.s3_events_queue)
        .send()
        .await
        .map_err(|e| format!("create queue {}: {}", d.s3_events_queue, sdk_message(&e)))?;
    let _ = events;
    // The functions' S3 triggers become notifications to the local events queue.
    let mut by_bucket: BTreeMap<String, Vec<(String, Vec<String>)>> = BTreeMap::new();
    for f in &spec.functions {
        for e in &f.events {
            if let EventSpec::S3 { bucket, prefix, events } = e {
                by_bucket.entry(bucket.clone()).or_default().push((prefix.clone(), events.clone()));
            }
        }
    }
    for (bucket, prefixes) in by_bucket {
        let configs = prefixes
            .iter()
            .map(|(prefix, events)| {
                QueueConfiguration::builder()
                    .queue_arn(queue_arn(region, &d.s3_events_queue))
                    .set_events(Some(events.iter().map(|e| aws_sdk_s3::types::Event::from(e.as_str())).collect()))
                    .filter(
                        NotificationConfigurationFilter::builder()
                            .key(
                                S3KeyFilter::builder()
                                    .filter_rules(
                                        FilterRule::builder().name(FilterRuleName::Prefix).value(prefix).build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        clients
            .s3
            .put_bucket_notification_configuration()
            .bucket(&d.buckets[&bucket])
            .notification_configuration(
                NotificationConfiguration::builder().set_queue_configurations(Some(configs)).build(),
            )
            .send()
            .await
            .map_err(|e| format!("bucket notification: {}", sdk_message(&e)))?;
    }
    d.environment = spec.environment.iter().filter_map(|(k, v)| Some((k.clone(), resolve(v, spec, &d)?))).collect();
    Ok(d)
}

async fn create_table(clients: &Clients, name: &str, t: &template::TableSpec) -> Result<(), String> {
    let key = |schema: &[(String, String)]| -> Vec<KeySchemaElement> {
        schema
            .iter()
            .filter_map(|(n, k)| {
                KeySchemaElement::builder()
                    .attribute_name(n)
                    .key_type(if k == "HASH" { KeyType::Hash } else { KeyType::Range })
                    .build()
                    .ok()
            })
            .collect()
    };
    let attrs = t
        .attributes
        .iter()
        .filter_map(|(n, ty)| {
            let ty = match ty.as_str() {
                "N" => ScalarAttributeType::N,
                "B" => ScalarAttributeType::B,
                _ => ScalarAttributeType::S,
            };
            AttributeDefinition::builder().attribute_name(n).attribute_type(ty).build().ok()
        })
        .collect();
    // The template's projections, so a read of an attribute an index does not carry fails here
    // as it would on AWS.
    let gsis: Vec<GlobalSecondaryIndex> = t
        .indexes
        .iter()
        .filter_map(|i| {
            let projection = match &i.projection {
                template::Projection::All => Projection::builder().projection_type(ProjectionType::All),
                template::Projection::KeysOnly => Projection::builder().projection_type(ProjectionType::KeysOnly),
                template::Projection::Include(attrs) => Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .set_non_key_attributes(Some(attrs.clone())),
            };
            GlobalSecondaryIndex::builder()
                .index_name(&i.name)
                .set_key_schema(Some(key(&i.key)))
                .projection(projection.build())
                .build()
                .ok()
        })
        .collect();
    let out = clients
        .dynamodb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attrs))
        .set_key_schema(Some(key(&t.key)))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .send()
        .await;
    match out {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => Ok(()),
        Err(e) => Err(format!("create table {name}: {}", sdk_message(&e))),
    }
}
