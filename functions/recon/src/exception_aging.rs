//! Exceptions by turnaround deadline (issue 15 §5): each open exception's age, deadline and
//! accrued exposure under the RBI circular (`settlepaisa_payout::aging`), and the job's open
//! exceptions sorted by deadline or filtered to those due by a date.
//!
//! Sorting needs the whole set: a job's open exceptions (of a category, when named) are read up to
//! [`MAX_SORTED`] and sorted in memory; past that the request is refused with a way to narrow it.

use crate::exception_record::{ExceptionRecord, ExceptionStatus};
use crate::exception_store;
use serde_json::{json, Value};
use settlepaisa_http::page_walk::Resume;
use settlepaisa_http::ApiError;
use settlepaisa_payout::aging::{age, Aging, Tat};
use settlepaisa_payout::calendar::Calendar;
use settlepaisa_recon::date::Date;

/// The most open exceptions one deadline-ordered listing reads.
pub const MAX_SORTED: usize = 10_000;

/// An exception's aging on `today`; `None` once resolved (nothing is owed on what is closed) or
/// when it has no day.
pub fn aging(e: &ExceptionRecord, today: Date, calendar: &Calendar) -> Option<Aging> {
    if e.status != ExceptionStatus::Open {
        return None;
    }
    let t = Date::parse_iso(e.day.as_deref()?)?;
    Some(age(t, Tat::for_category(e.category.as_str()), today, calendar, e.txn_ids.len().max(1) as u64))
}

pub fn aging_view(a: Option<Aging>) -> Value {
    a.map_or(Value::Null, |a| json!(a))
}

/// The job's open exceptions (of `category`) due by `due_by` (all when `None`), earliest deadline
/// first (then largest exposure, then id), each with its aging.
pub async fn by_deadline(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    job_id: &str,
    category: Option<&str>,
    due_by: Option<Date>,
    today: Date,
    calendar: &Calendar,
) -> Result<Vec<(ExceptionRecord, Aging)>, ApiError> {
    let mut all = Vec::new();
    let mut from = Resume { partition: 0, key: None };
    loop {
        let (items, next) = exception_store::page(client, table, job_id, category, Some("OPEN"), 500, from)
            .await
            .map_err(ApiError::paging)?;
        for item in &items {
            let e = ExceptionRecord::from_item(item).map_err(ApiError::internal)?;
            if let Some(a) = aging(&e, today, calendar) {
                if due_by.is_none_or(|d| a.deadline <= d) {
                    all.push((e, a));
                }
            }
        }
        if all.len() > MAX_SORTED {
            return Err(ApiError::bad_request(format!(
                "job {job_id} has more than {MAX_SORTED} open exceptions to order by deadline; name a category"
            )));
        }
        match next {
            Some(r) => from = r,
            None => break,
        }
    }
    all.sort_by(|(x, a), (y, b)| {
        (a.deadline, std::cmp::Reverse(a.exposure_paise), &x.exception_id).cmp(&(
            b.deadline,
            std::cmp::Reverse(b.exposure_paise),
            &y.exception_id,
        ))
    });
    Ok(all)
}
