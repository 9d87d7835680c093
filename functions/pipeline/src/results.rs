//! Matches and exceptions as items of the results table (`job_id`, `item`): `M#<txn_id>` for a
//! match, `E#<exception_id>` for an exception (also indexed by `job_id#category`). Keys come from
//! the records, so a redelivered shard overwrites the same items with the same values.

use aws_sdk_dynamodb::types::AttributeValue;
use settlepaisa_aws::dynamo::{lv, n, nv, s, str_list, sv, Item};
use settlepaisa_recon::config::format_fixed;
use settlepaisa_recon::{Exception, Match, Reconciliation};

pub fn match_item(job_id: &str, rec: &Reconciliation<'_>, m: &Match) -> Item {
    let p = &rec.pg[m.pg as usize];
    let b = &rec.bank[m.bank as usize];
    let mut item = Item::new();
    item.insert("job_id".into(), sv(job_id));
    item.insert("item".into(), sv(format!("M#{}", p.txn_id)));
    item.insert("txn_id".into(), sv(p.txn_id));
    item.insert("bank_ref".into(), sv(b.bank_ref()));
    if let Some(u) = p.utr.or(b.utr) {
        item.insert("utr".into(), sv(u.to_string()));
    }
    item.insert("amount_paise".into(), nv(p.amount.0));
    item.insert("bank_amount_paise".into(), nv(b.amount.0));
    item.insert("confidence".into(), sv(format_fixed(m.score.confidence())));
    item.insert("rules".into(), sv(m.score.explain(&rec.config)));
    item.insert("merchant_id".into(), sv(p.merchant_id));
    item.insert("day".into(), sv(p.date.to_string()));
    item
}

pub fn exception_item(job_id: &str, rec: &Reconciliation<'_>, e: &Exception) -> Item {
    let id = rec.exception_id(e);
    let mut item = Item::new();
    item.insert("job_id".into(), sv(job_id));
    item.insert("item".into(), sv(format!("E#{id}")));
    item.insert("exception_id".into(), sv(&id));
    item.insert("category".into(), sv(e.category.as_str()));
    item.insert("job_category".into(), sv(format!("{job_id}#{}", e.category.as_str())));
    item.insert("txn_ids".into(), lv(e.pg.iter().map(|&i| rec.pg[i as usize].txn_id.to_string())));
    item.insert("bank_refs".into(), lv(e.bank.iter().map(|&i| rec.bank[i as usize].bank_ref())));
    item.insert("amount_delta_paise".into(), nv(e.amount_delta));
    if let Some(sug) = e.suggestion {
        item.insert("suggestion_confidence".into(), sv(format_fixed(sug.score.confidence())));
        item.insert("suggestion_txn_id".into(), sv(rec.pg[sug.pg as usize].txn_id));
        item.insert("suggestion_bank_ref".into(), sv(rec.bank[sug.bank as usize].bank_ref()));
    }
    item.insert("reason".into(), sv(rec.reason(e)));
    item.insert("status".into(), sv("OPEN"));
    item.insert("version".into(), AttributeValue::N("1".into()));
    let day = e.pg.first().map(|&i| rec.pg[i as usize].date).or(e.bank.first().map(|&i| rec.bank[i as usize].date));
    if let Some(d) = day {
        item.insert("day".into(), sv(d.to_string()));
    }
    item
}

/// A match as `matches.csv` writes it: `txn_id,bank_ref,utr,amount_paise,confidence,rules`.
pub fn match_row(item: &Item) -> [String; 6] {
    [
        s(item, "txn_id").unwrap_or_default(),
        s(item, "bank_ref").unwrap_or_default(),
        s(item, "utr").unwrap_or_default(),
        n(item, "amount_paise").unwrap_or(0).to_string(),
        s(item, "confidence").unwrap_or_default(),
        s(item, "rules").unwrap_or_default(),
    ]
}

/// An exception as `exceptions.csv` writes it:
/// `exception_id,category,txn_ids,bank_refs,amount_delta_paise,suggestion_confidence,reason`.
pub fn exception_row(item: &Item) -> [String; 7] {
    [
        s(item, "exception_id").unwrap_or_default(),
        s(item, "category").unwrap_or_default(),
        str_list(item, "txn_ids").join(";"),
        str_list(item, "bank_refs").join(";"),
        n(item, "amount_delta_paise").unwrap_or(0).to_string(),
        s(item, "suggestion_confidence").unwrap_or_default(),
        s(item, "reason").unwrap_or_default(),
    ]
}
