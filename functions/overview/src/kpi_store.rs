//! Reads the KPI items of a day range: one BatchGetItem (≤ 100 keys), never a scan.
//!
//! Items are written by `finalize-job` and adjusted by resolutions (`ADD` on `matched_*`,
//! `res_n_<CATEGORY>`, `res_p_<CATEGORY>`, `src_n_<BANK>`, `src_p_<BANK>`).

use crate::dashboard::{DayKpi, SourceKpi};
use settlepaisa_aws::dynamo::{batch_get, sv, Fields, Item, Malformed};
use settlepaisa_aws::AwsError;
use settlepaisa_http::time_filter::DayRange;
use std::collections::BTreeMap;

/// `ALL`, or one merchant's items.
pub fn dimension(merchant: Option<&str>) -> String {
    merchant.map_or_else(|| "ALL".to_string(), |m| format!("MERCHANT#{m}"))
}

/// The settlement states' items beside a dimension (`SETTLEMENT`, `SETTLEMENT#{merchant}`),
/// which the settlement engine moves as batches are made, sent, credited and failed.
pub fn settlement_dimension(dimension: &str) -> String {
    match dimension.strip_prefix("MERCHANT#") {
        Some(m) => format!("{}#{m}", settlepaisa_store::settlements::SETTLEMENT_DIMENSION),
        None => settlepaisa_store::settlements::SETTLEMENT_DIMENSION.to_string(),
    }
}

/// The funnel's settlement stages.
pub const STAGES: [&str; 3] = ["in_settlement", "sent_to_bank", "credited"];

/// What the KPI views read: the range's days, and the dispute counters of the scope (current
/// state, not per day: `settlepaisa_dispute::kpi`).
pub struct Kpis {
    pub days: Vec<DayKpi>,
    pub disputes: BTreeMap<String, i64>,
    /// The PG webhooks' counters of each day (staff scope only: `settlepaisa_pg_events::kpi`).
    pub webhooks: Vec<BTreeMap<String, i64>>,
}

pub async fn read(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    range: DayRange,
    dimension: &str,
) -> Result<Kpis, KpiReadError> {
    let settlement = settlement_dimension(dimension);
    let mut keys: Vec<Item> = range
        .days()
        .flat_map(|d| {
            [dimension, settlement.as_str()]
                .map(|dim| Item::from([("day".into(), sv(d.to_string())), ("dimension".into(), sv(dim))]))
        })
        .collect();
    let disputes_key = settlepaisa_store::disputes::kpi_key(dimension.strip_prefix("MERCHANT#"));
    keys.push(disputes_key.clone());
    let webhooks_dimensions = settlepaisa_pg_events::kpi::dimensions();
    if dimension == "ALL" {
        for d in range.days() {
            for dim in &webhooks_dimensions {
                keys.push(Item::from([("day".into(), sv(d.to_string())), ("dimension".into(), sv(dim))]));
            }
        }
    }
    let items = batch_get(client, table, keys).await?;
    let disputes = items
        .iter()
        .find(|i| i.get("day") == disputes_key.get("day") && i.get("dimension") == disputes_key.get("dimension"))
        .map(settlepaisa_store::disputes::counters)
        .unwrap_or_default();
    let mut days: BTreeMap<String, DayKpi> = BTreeMap::new();
    for item in items.iter().filter(|i| i.get("dimension") == Some(&sv(dimension))) {
        let d = day_kpi(item)?;
        days.insert(d.day.clone(), d);
    }
    for item in items.iter().filter(|i| i.get("dimension") == Some(&sv(&settlement))) {
        let f = Fields::new("KPI", item);
        let day: String = f.s("day")?;
        let d = days.entry(day.clone()).or_insert_with(|| DayKpi { day, ..DayKpi::default() });
        for stage in STAGES {
            let n: i64 = f.opt_n(&format!("{stage}_n"))?.unwrap_or(0);
            let p: i64 = f.opt_n(&format!("{stage}_p"))?.unwrap_or(0);
            d.settlement.insert(stage.to_string(), [n, p]);
        }
    }
    let mut webhooks = Vec::new();
    let is_webhooks =
        |i: &Item| i.get("dimension").and_then(|d| d.as_s().ok()).is_some_and(|d| webhooks_dimensions.contains(d));
    for item in items.iter().filter(|i| is_webhooks(i)) {
        let f = Fields::new("KPI", item);
        let mut counters = BTreeMap::new();
        for c in settlepaisa_pg_events::kpi::COUNTERS {
            counters.insert(c.to_string(), f.opt_n::<i64>(c)?.unwrap_or(0));
        }
        webhooks.push(counters);
    }
    Ok(Kpis { days: days.into_values().collect(), disputes, webhooks })
}

/// Why the KPI items could not be read: the store did not answer (503), or an item is malformed
/// (500, never shown as zeros).
#[derive(Debug, thiserror::Error)]
pub enum KpiReadError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Malformed(#[from] Malformed),
}

/// A JSON attribute only some items carry (`statuses`, `sources` on `ALL`), of the shape `T`.
fn optional_json<T: serde::de::DeserializeOwned>(f: &Fields<'_>, name: &str) -> Result<Option<T>, Malformed> {
    f.opt_s(name)?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| Malformed { what: "KPI", problem: format!("`{name}`: {e}") })
}

pub fn day_kpi(item: &Item) -> Result<DayKpi, Malformed> {
    let f = Fields::new("KPI", item);
    let bad = |problem: String| Malformed { what: "KPI", problem };
    let mut d = DayKpi {
        day: f.s("day")?,
        counts: f.parsed("counts", |t| serde_json::from_str(t).ok())?,
        statuses: optional_json(&f, "statuses")?.unwrap_or_default(),
        sources: optional_json(&f, "sources")?.unwrap_or_default(),
        resolved: BTreeMap::new(),
        settlement: BTreeMap::new(),
    };
    // The attributes carry resolutions on top of what the job counted.
    d.counts.matched_count = f.n("matched_count")?;
    d.counts.matched_amount_paise = f.n("matched_amount_paise")?;
    for name in item.keys() {
        if let Some(cat) = name.strip_prefix("res_n_") {
            let count = f.n(name)?;
            let paise = f.n(&format!("res_p_{cat}"))?;
            d.resolved.insert(cat.to_string(), [count, paise]);
        }
        if let Some(bank) = name.strip_prefix("src_n_") {
            let count: u64 = f.n(name)?;
            let paise: i64 = f.n(&format!("src_p_{bank}"))?;
            let src: &mut SourceKpi = d.sources.entry(bank.to_string()).or_default();
            src.matched_count =
                src.matched_count.checked_add(count).ok_or_else(|| bad(format!("`{name}` overflows")))?;
            src.matched_amount_paise =
                src.matched_amount_paise.checked_add(paise).ok_or_else(|| bad(format!("`src_p_{bank}` overflows")))?;
        }
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use settlepaisa_aws::dynamo::nv;

    fn item() -> Item {
        Item::from([
            ("day".into(), sv("2026-10-01")),
            ("dimension".into(), sv("ALL")),
            (
                "counts".into(),
                sv(serde_json::to_string(&settlepaisa_recon::kpi::KpiCounts { pg_count: 3, ..Default::default() })
                    .unwrap()),
            ),
            ("matched_count".into(), nv(2)),
            ("matched_amount_paise".into(), nv(500)),
            ("res_n_UNMATCHED_PG".into(), nv(1)),
            ("res_p_UNMATCHED_PG".into(), nv(250)),
        ])
    }

    #[test]
    fn a_kpi_item_reads_with_its_resolutions() {
        let d = day_kpi(&item()).unwrap();
        assert_eq!((d.counts.matched_count, d.counts.matched_amount_paise), (2, 500));
        assert_eq!(d.resolved["UNMATCHED_PG"], [1, 250]);
    }

    #[test]
    fn a_corrupt_kpi_item_is_an_error_not_zeros() {
        for (name, value) in [
            ("counts", Some(sv("{broken"))),
            ("matched_count", None),
            ("matched_amount_paise", Some(sv("500"))),
            ("res_p_UNMATCHED_PG", None),
            ("sources", Some(sv(r#"{"HDFC": 3}"#))),
        ] {
            let mut i = item();
            match value {
                Some(v) => i.insert(name.into(), v),
                None => i.remove(name),
            };
            let err = day_kpi(&i).unwrap_err().to_string();
            assert!(err.contains(name), "{name}: {err}");
        }
    }
}
