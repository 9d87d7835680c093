//! Each report's rows, read a page at a time from where the stack keeps them and written to the
//! sink as they come: no report is held whole.

use super::kind::{field, Kind};
use super::sink::CsvSink;
use settlepaisa_recon::date::Date;
use settlepaisa_store::reports::Report;
use settlepaisa_store::Context;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Aws(#[from] settlepaisa_aws::AwsError),
    #[error(transparent)]
    Store(#[from] settlepaisa_store::StoreError),
    #[error("{0}")]
    Data(String),
}

fn text(v: impl serde::Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

pub async fn write(ctx: &Context, r: &Report, kind: Kind, sink: &mut CsvSink) -> Result<(), SourceError> {
    let bad = |what: &str| SourceError::Data(format!("report {}: {what}", r.report_id));
    let from = Date::parse_iso(&r.from).ok_or_else(|| bad("from is not a date"))?;
    let to = Date::parse_iso(&r.to).ok_or_else(|| bad("to is not a date"))?;
    let db = &ctx.clients.dynamodb;
    match kind {
        Kind::ReconSummary => {
            let range = settlepaisa_http::time_filter::DayRange { from, to };
            let dimension = settlepaisa_overview::kpi_store::dimension(r.merchant_id.as_deref());
            let kpis = settlepaisa_overview::kpi_store::read(db, &ctx.resources.kpi_table, range, &dimension)
                .await
                .map_err(|e| SourceError::Data(e.to_string()))?;
            for d in &kpis.days {
                let c = &d.counts;
                let (mut open_n, mut open_p) = (0u64, 0i64);
                for (o, _) in settlepaisa_overview::dashboard::open_exceptions(d).values() {
                    open_n += o.count;
                    open_p += o.amount_paise;
                }
                let rate = (c.matched_count.saturating_mul(10_000)).checked_div(c.pg_count).unwrap_or(0);
                let row = format!(
                    "{},{},{},{},{},{},{},{open_n},{open_p},{rate}",
                    d.day,
                    c.pg_count,
                    c.pg_amount_paise,
                    c.bank_count,
                    c.bank_amount_paise,
                    c.matched_count,
                    c.matched_amount_paise
                );
                sink.row(&row).await?;
            }
        }
        Kind::Exceptions => {
            use settlepaisa_http::page_walk::Resume;
            use settlepaisa_recon_api::exception_record::ExceptionRecord;
            let job = r.job_id.as_deref().ok_or_else(|| bad("no job"))?;
            let mut at = Resume { partition: 0, key: None };
            loop {
                let (items, next) = settlepaisa_recon_api::exception_store::page(
                    db,
                    &ctx.resources.results_table,
                    job,
                    None,
                    None,
                    500,
                    at,
                )
                .await?;
                for item in &items {
                    let e = ExceptionRecord::from_item(item).map_err(|e| SourceError::Data(e.to_string()))?;
                    let day = e.day.as_deref().and_then(Date::parse_iso);
                    if day.is_some_and(|d| d < from || d > to) {
                        continue;
                    }
                    if r.merchant_id.is_some() && e.merchant_id != r.merchant_id {
                        continue;
                    }
                    let row = [
                        field(&e.exception_id),
                        field(&e.job_id),
                        e.category.as_str().to_string(),
                        e.status.as_str().to_string(),
                        e.day.clone().unwrap_or_default(),
                        field(e.merchant_id.as_deref().unwrap_or("")),
                        field(&e.txn_ids.join(" ")),
                        field(&e.bank_refs.join(" ")),
                        e.pg_amount_paise.to_string(),
                        e.amount_delta_paise.to_string(),
                        // What the overview weighs it at; a settlement finding's settlement and row.
                        e.exposure().to_string(),
                        field(e.settlement.as_ref().map_or("", |s| s.settlement_id.as_str())),
                        field(e.settlement.as_ref().and_then(|s| s.row.as_deref()).unwrap_or("")),
                        field(&e.reason),
                        field(&e.resolution.as_ref().map(|v| v.to_string()).unwrap_or_default()),
                    ]
                    .join(",");
                    sink.row(&row).await?;
                }
                match next {
                    Some(n) => at = n,
                    None => break,
                }
            }
        }
        Kind::Settlements => {
            let table = &ctx.resources.settlements_table;
            for i in 0..=from.days_until(to) {
                let day = from.add_days(i).to_string();
                for b in settlepaisa_store::settlements::all_day_batches(db, table, &day).await? {
                    if r.merchant_id.as_ref().is_some_and(|m| *m != b.merchant_id) {
                        continue;
                    }
                    let t = &b.totals;
                    let row = format!(
                        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                        field(&b.settlement_id),
                        field(&b.merchant_id),
                        b.cycle_date,
                        b.status.as_str(),
                        t.txns,
                        t.gross.0,
                        t.fees.0,
                        t.gst.0,
                        t.refunds.0,
                        t.adjustments.0,
                        t.reserve_withheld.0,
                        t.reserve_released.0,
                        t.net.0,
                        field(b.utr.as_deref().unwrap_or("")),
                        field(b.failure_reason.as_deref().unwrap_or(""))
                    );
                    sink.row(&row).await?;
                }
            }
        }
        Kind::Disputes => {
            use settlepaisa_dispute::model::Status;
            use settlepaisa_store::disputes::{page, Partition};
            let table = &ctx.resources.disputes_table;
            let partitions: Vec<Partition> = match r.merchant_id.as_deref() {
                Some(m) => vec![Partition::Merchant(m)],
                None => [
                    Status::NeedsResponse,
                    Status::UnderReview,
                    Status::Won,
                    Status::Lost,
                    Status::Accepted,
                    Status::Expired,
                ]
                .into_iter()
                .map(Partition::Status)
                .collect(),
            };
            // A dispute that moves status while the report runs is met in two partitions: once.
            let mut written = std::collections::HashSet::new();
            for p in &partitions {
                let mut start = None;
                loop {
                    let pg = page(db, table, p, None, 500, start).await?;
                    for d in &pg.disputes {
                        if d.raised_on < from || d.raised_on > to || !written.insert(d.dispute_id.clone()) {
                            continue;
                        }
                        let row = format!(
                            "{},{},{},{},{},{},{},{},{}",
                            field(&d.dispute_id),
                            field(&d.merchant_id),
                            field(&d.txn.txn_id),
                            text(d.stage),
                            text(d.status),
                            field(&d.reason_code),
                            d.amount_paise,
                            d.raised_on,
                            settlepaisa_recon::date::format_utc(d.respond_by)
                        );
                        sink.row(&row).await?;
                    }
                    match pg.next {
                        Some(k) => start = Some(k),
                        None => break,
                    }
                }
            }
        }
        Kind::MerchantStatement => {
            let merchant = r.merchant_id.as_deref().ok_or_else(|| bad("no merchant"))?;
            let table = &ctx.resources.settlements_table;
            let mut start = None;
            loop {
                let page =
                    settlepaisa_store::settlements::merchant_batches(db, table, merchant, &r.from, &r.to, 100, start)
                        .await?;
                for b in &page.batches {
                    statement_lines(ctx, merchant, &b.cycle_date, &b.lines_key, sink).await?;
                }
                match page.next {
                    Some(k) => start = Some(k),
                    None => break,
                }
            }
        }
    }
    Ok(())
}

/// A batch's lines, streamed from its object a chunk at a time (its header skipped).
async fn statement_lines(
    ctx: &Context,
    merchant: &str,
    cycle_date: &str,
    key: &str,
    sink: &mut CsvSink,
) -> Result<(), SourceError> {
    let mut obj = settlepaisa_aws::s3::open(&ctx.clients.s3, &ctx.resources.artifacts_bucket, key, None).await?;
    let mut pending: Vec<u8> = Vec::new();
    let mut header_seen = false;
    let prefix = format!("{},{cycle_date},", field(merchant));
    let mut emit = |line: &[u8], sink_rows: &mut Vec<String>| {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\r');
        if !header_seen {
            header_seen = true;
            return;
        }
        if !line.is_empty() {
            sink_rows.push(format!("{prefix}{line}"));
        }
    };
    while let Some(chunk) =
        obj.body.next().await.transpose().map_err(|e| settlepaisa_aws::AwsError::new("GetObject", e))?
    {
        pending.extend_from_slice(&chunk);
        let mut rows = Vec::new();
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
            emit(&pending[start..start + end], &mut rows);
            start += end + 1;
        }
        pending.drain(..start);
        for row in rows {
            sink.row(&row).await?;
        }
    }
    let mut rows = Vec::new();
    if !pending.is_empty() {
        emit(&pending, &mut rows);
    }
    for row in rows {
        sink.row(&row).await?;
    }
    Ok(())
}
