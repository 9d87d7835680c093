//! Turnaround-time aging (issue 15 §5) on a reconciled day whose age the test knows: the
//! overview's and top reasons' buckets, and the exceptions API by deadline.

use serde_json::Value;
use settlepaisa_auth::Role;
use settlepaisa_tests::api::reconciled_days_ago;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread")]
async fn open_exceptions_age_into_their_bucket_and_list_by_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let (api, day) = reconciled_days_ago(dir.path(), 300, 9, "JOB-AGING").await;
    let today = settlepaisa_http::time_filter::today();
    let cal = &api.ctx.settlement.calendar;
    // What the test knows: each record's age in business days, and each turnaround's deadline.
    let bucket_of = |age: usize| match age {
        0..=1 => "0-1",
        2..=5 => "2-5",
        6..=10 => "6-10",
        _ => ">10",
    };
    let ops = api.token(Role::SpOps, None);

    // Every open exception of the job, through the usual listing: each carries its aging.
    let mut open = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/api/jobs/JOB-AGING/exceptions?status=OPEN&limit=500".to_string(),
            Some(c) => format!("/api/jobs/JOB-AGING/exceptions?status=OPEN&limit=500&cursor={c}"),
        };
        let r = api.call("GET", &path, Some(&ops), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        open.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert!(open.len() > 5, "the generated day has exceptions: {}", open.len());
    let mut exposure = 0i64;
    let mut by_category: BTreeMap<(String, &str), i64> = BTreeMap::new();
    let mut buckets: BTreeMap<String, i64> = ["0-1", "2-5", "6-10", ">10"].iter().map(|b| (b.to_string(), 0)).collect();
    for e in &open {
        let a = &e["aging"];
        let t = settlepaisa_recon::date::Date::parse_iso(e["date"].as_str().unwrap()).unwrap();
        let tat = if e["category"] == "UNMATCHED_BANK" { 1 } else { 5 };
        let age = cal.business_days(t.add_days(1), today).count();
        assert_eq!(a["deadline"], t.add_days(tat).to_string(), "{e}");
        assert_eq!(a["ageBusinessDays"], age as u64, "{e}");
        assert_eq!(a["bucket"], bucket_of(age), "{e}");
        let overdue = i64::from(t.add_days(tat).days_until(today).max(0));
        let txns = e["txnIds"].as_array().unwrap().len().max(1) as i64;
        assert_eq!(a["exposurePaise"], overdue * 10_000 * txns, "{e}");
        exposure += overdue * 10_000 * txns;
        *by_category.entry((e["category"].as_str().unwrap().to_string(), bucket_of(age))).or_default() += 1;
        *buckets.get_mut(bucket_of(age)).unwrap() += 1;
    }
    assert!(exposure > 0, "nine days on, merchant payments (T+5) are overdue");

    // The overview over the days the records fall on: the same buckets and exposure.
    let range = format!("from={}&to={today}", day.add_days(-1));
    let r = api.call("GET", &format!("/api/overview?{range}"), Some(&ops), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let aging = &r.body["overview"]["aging"]["openExceptions"];
    let counts: BTreeMap<String, i64> = aging["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["bucket"].as_str().unwrap().to_string(), b["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, buckets);
    assert_eq!(aging["exposurePaise"], exposure);
    // Top reasons: each category's open exceptions in their buckets.
    let r = api.call("GET", &format!("/api/top-reasons?{range}"), Some(&ops), None).await;
    for row in r.body["reasons"].as_array().unwrap() {
        let cat = row["category"].as_str().unwrap().to_string();
        for b in row["aging"]["buckets"].as_array().unwrap() {
            let n = by_category.get(&(cat.clone(), b["bucket"].as_str().unwrap())).copied().unwrap_or(0);
            assert_eq!(b["count"], n, "{row}");
        }
    }

    // By deadline: the T+1 transfers first, then the T+5 payments, page after page; and only those
    // due by a date when asked.
    let mut sorted: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/api/jobs/JOB-AGING/exceptions?sort=deadline&limit=7".to_string(),
            Some(c) => format!("/api/jobs/JOB-AGING/exceptions?sort=deadline&limit=7&cursor={c}"),
        };
        let r = api.call("GET", &path, Some(&ops), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        sorted.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let ids = |v: &[Value]| {
        let mut ids: Vec<String> = v.iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&sorted), ids(&open), "the same open exceptions, each once");
    let deadlines: Vec<&str> = sorted.iter().map(|e| e["aging"]["deadline"].as_str().unwrap()).collect();
    assert!(deadlines.windows(2).all(|w| w[0] <= w[1]), "{deadlines:?}");
    let due = deadlines[deadlines.len() / 2];
    let r = api
        .call("GET", &format!("/api/jobs/JOB-AGING/exceptions?deadlineBefore={due}&limit=500"), Some(&ops), None)
        .await;
    let want = deadlines.iter().filter(|d| **d <= due).count();
    assert_eq!(r.body["items"].as_array().unwrap().len(), want, "{}", r.body);
}
