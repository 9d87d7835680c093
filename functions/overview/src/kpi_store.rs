//! Reads the KPI items of a day range: one BatchGetItem (≤ 100 keys), never a scan.
//!
//! Items are written by `finalize-job` and adjusted by resolutions (`ADD` on `matched_*`,
//! `res_n_<CATEGORY>`, `res_p_<CATEGORY>`, `src_n_<BANK>`, `src_p_<BANK>`).

use crate::dashboard::{DayKpi, SourceKpi};
use settlepaisa_aws::dynamo::{batch_get, n, s, sv, Item};
use settlepaisa_aws::AwsError;
use settlepaisa_http::time_filter::DayRange;
use std::collections::BTreeMap;

/// `ALL`, or one merchant's items.
pub fn dimension(merchant: Option<&str>) -> String {
    merchant.map_or_else(|| "ALL".to_string(), |m| format!("MERCHANT#{m}"))
}

pub async fn read(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    range: DayRange,
    dimension: &str,
) -> Result<Vec<DayKpi>, AwsError> {
    let keys = range
        .days()
        .map(|d| Item::from([("day".into(), sv(d.to_string())), ("dimension".into(), sv(dimension))]))
        .collect();
    let mut days: Vec<DayKpi> = batch_get(client, table, keys).await?.iter().map(day_kpi).collect();
    days.sort_by(|a, b| a.day.cmp(&b.day));
    Ok(days)
}

pub fn day_kpi(item: &Item) -> DayKpi {
    let json = |k: &str| s(item, k).unwrap_or_default();
    let mut d = DayKpi {
        day: json("day"),
        counts: serde_json::from_str(&json("counts")).unwrap_or_default(),
        statuses: serde_json::from_str(&json("statuses")).unwrap_or_default(),
        sources: serde_json::from_str::<BTreeMap<String, SourceKpi>>(&json("sources")).unwrap_or_default(),
        resolved: BTreeMap::new(),
    };
    // The attributes carry resolutions on top of what the job counted.
    d.counts.matched_count = n(item, "matched_count").unwrap_or(0).max(0) as u64;
    d.counts.matched_amount_paise = n(item, "matched_amount_paise").unwrap_or(0);
    for name in item.keys() {
        if let Some(cat) = name.strip_prefix("res_n_") {
            let count = n(item, name).unwrap_or(0);
            let paise = n(item, &format!("res_p_{cat}")).unwrap_or(0);
            d.resolved.insert(cat.to_string(), [count, paise]);
        }
        if let Some(bank) = name.strip_prefix("src_n_") {
            let src = d.sources.entry(bank.to_string()).or_default();
            src.matched_count += n(item, name).unwrap_or(0).max(0) as u64;
            src.matched_amount_paise += n(item, &format!("src_p_{bank}")).unwrap_or(0);
        }
    }
    d
}
