//! Turnaround-time aging (issue 15 §5) on a reconciled day whose age the test knows: the
//! overview's and top reasons' buckets, and the exceptions API by deadline.

use serde_json::{json, Value};
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

#[tokio::test(flavor = "multi_thread")]
async fn captured_transactions_carry_their_settlement_stage_and_age_until_credited() {
    let dir = tempfile::tempdir().unwrap();
    let (api, day) = reconciled_days_ago(dir.path(), 300, 9, "JOB-TXN-AGING").await;
    let ctx = api.ctx;
    let (today, cal) = (settlepaisa_http::time_filter::today(), &ctx.settlement.calendar);
    let ops = api.token(Role::SpOps, None);
    let path = format!("/api/transactions?from={}&to={today}&limit=500", day.add_days(-1));
    // What the test knows of a payment of day t not yet credited: T+5, ₹100 a day past it.
    let check_aging = |t: &Value| {
        let on = settlepaisa_recon::date::Date::parse_iso(t["captureDate"].as_str().unwrap()).unwrap();
        let a = &t["settlement"]["aging"];
        assert_eq!(a["deadline"], on.add_days(5).to_string(), "{t}");
        assert_eq!(a["ageBusinessDays"], cal.business_days(on.add_days(1), today).count() as u64, "{t}");
        assert_eq!(a["exposurePaise"], i64::from(on.add_days(5).days_until(today).max(0)) * 10_000, "{t}");
    };

    // Before any settlement run: every captured transaction is unsettled and aging; others carry
    // no settlement.
    let before = api.all_pages(&ops, &path).await;
    let captured: Vec<&Value> = before.iter().filter(|t| t["status"] == "captured").collect();
    assert!(captured.len() > 100, "{}", captured.len());
    for t in &before {
        if t["status"] == "captured" {
            assert_eq!(t["settlement"]["stage"], "unsettled", "{t}");
            assert_eq!(t["settlement"]["settlementId"], Value::Null);
            check_aging(t);
        } else {
            assert_eq!(t["settlement"], Value::Null, "{t}");
        }
    }

    // A run takes the matched payments into batches (sent to the bank straight away).
    let run_day = (0..7).map(|i| today.add_days(-i)).find(|d| cal.is_business_day(*d)).unwrap();
    let run = Box::pin(settlepaisa_settlement::cycle_run::run(ctx, run_day)).await.unwrap();
    assert!(!run.batches.is_empty(), "{run:?}");
    let finance = api.token(Role::SpFinance, None);
    let mut in_batches: BTreeMap<String, String> = BTreeMap::new();
    for id in &run.batches {
        let r = api.call("GET", &format!("/api/settlements/{id}?limit=500"), Some(&finance), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["nextCursor"].is_null(), "one page of lines");
        for l in r.body["lines"].as_array().unwrap().iter().filter(|l| l["kind"] == "payment") {
            assert!(in_batches.insert(l["ref"].as_str().unwrap().into(), id.clone()).is_none(), "paid twice: {l}");
        }
    }
    let after = api.all_pages(&finance, &path).await;
    let listed: BTreeMap<String, String> = after
        .iter()
        .filter_map(|t| Some((t["txnId"].as_str()?.to_string(), t["settlement"]["settlementId"].as_str()?.to_string())))
        .collect();
    assert_eq!(listed, in_batches, "each paid transaction names its batch, and only those");
    for t in after.iter().filter(|t| t["status"] == "captured") {
        let want = if in_batches.contains_key(t["txnId"].as_str().unwrap()) { "sent_to_bank" } else { "unsettled" };
        assert_eq!(t["settlement"]["stage"], want, "{t}");
        check_aging(t);
    }
    // Ops without settlements:read see each stage, not which batch paid it.
    let ops_view = api.all_pages(&ops, &path).await;
    let stages = |v: &[Value]| -> Vec<(String, String)> {
        let mut s: Vec<(String, String)> = v
            .iter()
            .map(|t| (t["txnId"].as_str().unwrap().into(), t["settlement"]["stage"].as_str().unwrap_or("-").into()))
            .collect();
        s.sort();
        s
    };
    assert_eq!(stages(&ops_view), stages(&after));
    assert!(ops_view.iter().all(|t| t["settlement"]["settlementId"].is_null()));

    // The bank credits one batch (its transactions stop aging) and returns another (its
    // transactions are unsettled again, in no batch).
    assert!(run.batches.len() >= 2, "{run:?}");
    let (credited, returned) = (&run.batches[0], &run.batches[1]);
    let batch =
        settlepaisa_store::settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, credited)
            .await
            .unwrap()
            .unwrap();
    let bank = batch.payout_bank.clone().unwrap();
    let returned_bank =
        settlepaisa_store::settlements::get_batch(&ctx.clients.dynamodb, &ctx.resources.settlements_table, returned)
            .await
            .unwrap()
            .unwrap()
            .payout_bank
            .unwrap();
    for (bank, line) in [
        (&bank, format!("{credited},SUCCESS,HDFCN0000042,,{today}T10:00:00Z")),
        (&returned_bank, format!("{returned},RETURNED,,account closed,{today}T10:05:00Z")),
    ] {
        let response = format!("reference,status,utr,reason,processed_at\n{line}\n");
        let key = format!("incoming/payout-responses/{bank}/resp-aging-{}.csv", line.len());
        settlepaisa_tests::pipeline::upload_bytes(&api.stack, &key, response.into_bytes()).await;
    }
    api.stack.runner.run_until_idle(settlepaisa_tests::pipeline::IDLE).await.unwrap();
    let m = batch.merchant_id.clone();
    // The merchant sees its own the same way.
    let merchant = api.token(Role::MerchantAdmin, Some(&m));
    let mine = api.all_pages(&merchant, &path).await;
    let mut credited_n = 0;
    for t in mine.iter().filter(|t| t["status"] == "captured") {
        assert_eq!(t["merchantId"], m.as_str());
        if in_batches.get(t["txnId"].as_str().unwrap()) == Some(credited) {
            assert_eq!(t["settlement"]["stage"], "credited", "{t}");
            assert_eq!(t["settlement"]["aging"], Value::Null, "paid: nothing owed");
            credited_n += 1;
        } else {
            assert_ne!(t["settlement"]["stage"], "credited", "{t}");
            check_aging(t);
        }
    }
    assert_eq!(credited_n, batch.totals.txns as usize);
    let now = api.all_pages(&finance, &path).await;
    let given_back: Vec<&Value> =
        now.iter().filter(|t| in_batches.get(t["txnId"].as_str().unwrap_or_default()) == Some(returned)).collect();
    assert!(!given_back.is_empty());
    for t in given_back {
        assert_eq!((&t["settlement"]["stage"], &t["settlement"]["settlementId"]), (&json!("unsettled"), &Value::Null));
        check_aging(t);
    }
}
