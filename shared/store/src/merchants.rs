//! The merchants table: one item per merchant (`merchant_id`), its settlement plan as
//! `settlepaisa_payout::merchant::Merchant` holds it, read back loudly (a malformed item is an
//! error naming it, never a merchant with a zero rate).

use crate::error::StoreError;
use settlepaisa_aws::dynamo::{nv, put_all, sv, Fields, Item, Malformed};
use settlepaisa_aws::{requests, sdk_message, AwsError};
use settlepaisa_payout::merchant::{Merchant, MerchantStatus};
use settlepaisa_recon::money::Paise;

pub fn to_item(m: &Merchant) -> Item {
    let mut item = Item::new();
    item.insert("merchant_id".into(), sv(&m.merchant_id));
    item.insert("name".into(), sv(&m.name));
    item.insert("status".into(), sv(m.status.as_str()));
    item.insert("settlement_days".into(), nv(m.settlement_days));
    item.insert("min_payout_paise".into(), nv(m.min_payout.0));
    item.insert("reserve_bps".into(), nv(m.reserve_bps));
    item.insert("reserve_hold_days".into(), nv(m.reserve_hold_days));
    for (name, bps) in ["mdr_upi_bps", "mdr_card_bps", "mdr_netbanking_bps", "mdr_wallet_bps"].iter().zip(m.mdr_bps) {
        item.insert((*name).into(), nv(bps));
    }
    item.insert("gst_bps".into(), nv(m.gst_bps));
    item.insert("ifsc".into(), sv(&m.ifsc));
    item.insert("account_number".into(), sv(&m.account_number));
    item.insert("beneficiary".into(), sv(&m.beneficiary));
    item
}

pub fn from_item(item: &Item) -> Result<Merchant, Malformed> {
    let f = Fields::new("merchant", item);
    Ok(Merchant {
        merchant_id: f.s("merchant_id")?,
        name: f.s("name")?,
        status: f.parsed("status", MerchantStatus::parse)?,
        settlement_days: f.n("settlement_days")?,
        min_payout: Paise(f.n("min_payout_paise")?),
        reserve_bps: f.n("reserve_bps")?,
        reserve_hold_days: f.n("reserve_hold_days")?,
        mdr_bps: [f.n("mdr_upi_bps")?, f.n("mdr_card_bps")?, f.n("mdr_netbanking_bps")?, f.n("mdr_wallet_bps")?],
        gst_bps: f.n("gst_bps")?,
        ifsc: f.s("ifsc")?,
        account_number: f.s("account_number")?,
        beneficiary: f.s("beneficiary")?,
    })
}

/// Writes every merchant (a file already checked whole): a merchant imported again is replaced.
pub async fn put_merchants(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    merchants: &[Merchant],
) -> Result<(), StoreError> {
    Ok(put_all(client, table, merchants.iter().map(to_item).collect()).await?)
}

/// One merchant, strongly consistent.
pub async fn get(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    merchant_id: &str,
) -> Result<Option<Merchant>, StoreError> {
    requests::record("dynamodb.GetItem", 1);
    let out = client
        .get_item()
        .table_name(table)
        .key("merchant_id", sv(merchant_id))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::new("GetItem", sdk_message(&e)))?;
    Ok(out.item.as_ref().map(from_item).transpose()?)
}

/// Replaces a merchant read as `before` with `after`, its audit entry (and `extra`: an approval
/// decided by it) in the same transaction. A failed condition at index 0: the merchant changed
/// meanwhile (or is gone), so two edits never overwrite each other unseen.
pub async fn replace(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    before: &Merchant,
    after: &Merchant,
    audit: (&str, settlepaisa_audit::Draft),
    extra: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
) -> Result<settlepaisa_aws::transact::Transacted, StoreError> {
    let mut put = aws_sdk_dynamodb::types::Put::builder().table_name(table).set_item(Some(to_item(after)));
    // Every attribute as read: a change by anyone else fails the condition.
    let mut conditions = Vec::new();
    for (i, (name, value)) in to_item(before).into_iter().enumerate() {
        conditions.push(format!("#a{i} = :v{i}"));
        put =
            put.expression_attribute_names(format!("#a{i}"), name).expression_attribute_values(format!(":v{i}"), value);
    }
    let put = put
        .condition_expression(conditions.join(" AND "))
        .build()
        .map_err(|e| AwsError::new("TransactWriteItems", e))?;
    let mut items = vec![aws_sdk_dynamodb::types::TransactWriteItem::builder().put(put).build()];
    items.extend(extra);
    Ok(crate::audit::transact(client, audit.0, items, audit.1).await?)
}

/// Every merchant, by id (a scan: the table holds merchants, thousands at most).
pub async fn all(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Merchant>, StoreError> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        requests::record("dynamodb.Scan", 1);
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| AwsError::new("Scan", sdk_message(&e)))?;
        for item in page.items.unwrap_or_default() {
            out.push(from_item(&item)?);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    out.sort_by(|a, b| a.merchant_id.cmp(&b.merchant_id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merchant_reads_back_and_a_malformed_item_is_an_error() {
        let m = settlepaisa_payout::merchant::generated(7).pop().unwrap();
        assert_eq!(from_item(&to_item(&m)).unwrap(), m);
        let mut item = to_item(&m);
        item.insert("status".into(), sv("PAUSED"));
        assert!(from_item(&item).is_err());
        item = to_item(&m);
        item.remove("gst_bps");
        assert!(from_item(&item).is_err(), "a missing rate is never zero");
    }
}
