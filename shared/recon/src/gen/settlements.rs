//! Bulk settlements in generated data: cards settle through one acquirer (`PAYU`), net banking
//! and wallets through another (`BILLDESK`), each paying one bulk credit per capture day into the
//! HDFC account the next day, net of the contract's fees and GST, refunds and noise; UPI keeps a
//! credit per payment. Every case the settlement step distinguishes occurs, and the truth says
//! what each must give:
//!
//! - statuses: the first BILLDESK settlement's credit never comes (`CREDIT_MISSING`; its
//!   transactions stay `UNMATCHED_PG`), the first and second PAYU credits are short and excess,
//!   the rest `SETTLED`;
//! - tie rules: credits carry the settlement's UTR, except the second BILLDESK credit (its
//!   narration names the settlement) and the third (neither: its amount alone ties it);
//! - line checks: fee drift (`FEE_MISMATCH`), wrong GST (`GST_MISMATCH`), a short-paid row
//!   (`AMOUNT_DIFFERS`), a refund of an unknown transaction in every settlement (`UNKNOWN_TXN`),
//!   BILLDESK payments paid again in PAYU's report of the same day (`DOUBLE_SETTLED`);
//! - messiness: a BOM and CRLF in one report, blank lines and a malformed row in each, rows in
//!   no particular order.

use super::{Entry, GeneratedFile, Rec, Rng, TruthRow};
use crate::date::Date;
use crate::money::Paise;
use crate::pg_file::Method;
use crate::settlement::report_file::SETTLEMENT_HEADER;
use crate::settlement::FeeSchedule;
use std::collections::BTreeMap;

const ACQUIRERS: [&str; 2] = ["PAYU", "BILLDESK"];

/// A captured card, net banking or wallet payment that settles in bulk.
pub(super) struct BulkTxn {
    pub txn_id: String,
    pub amount: i64,
    pub method: Method,
    pub capture_day: Date,
    pub serial: u64,
}

fn acquirer_of(method: Method) -> usize {
    usize::from(method != Method::Card)
}

/// Whether the settlement of a payment by `method` captured on `day` is the one whose credit
/// never arrives: BILLDESK's for the first capture day.
pub(super) fn credit_missing(method: Method, day: Date, day0: Date) -> bool {
    acquirer_of(method) == 1 && day == day0
}

struct Row {
    kind: &'static str,
    txn_id: String,
    entity: String,
    amount: i64,
    fee: i64,
    tax: i64,
}

impl Row {
    /// The payment of `t` as the contract says it: fee and GST on the PG amount.
    fn payment(t: &BulkTxn, entity: String, fees: &FeeSchedule) -> Row {
        let fee = fees.expected_fee(Paise(t.amount), t.method).0;
        let tax = fees.expected_tax(Paise(fee)).0;
        Row { kind: "payment", txn_id: t.txn_id.clone(), entity, amount: t.amount, fee, tax }
    }

    fn net(&self) -> i64 {
        let signed = if self.kind == "payment" { self.amount } else { -self.amount };
        signed - self.fee - self.tax
    }
}

struct Planned {
    acquirer: usize,
    id: String,
    utr: String,
    settled_on: Date,
    rows: Vec<Row>,
}

/// Builds the settlements of `bulk`: their reports (returned), their credits (pushed onto
/// `hdfc`, whose entries the caller writes) and the truth of every transaction, credit,
/// settlement, line check and rejected row.
pub(super) fn build(
    bulk: &[BulkTxn],
    day0: Date,
    hdfc: &mut Vec<Entry>,
    truth: &mut Vec<TruthRow>,
    rng: &mut Rng,
) -> Vec<GeneratedFile> {
    if bulk.is_empty() {
        return Vec::new();
    }
    let fees = FeeSchedule::default();
    let line_check = |id: &str, txn: &str, category: &'static str| TruthRow {
        record: Rec::Line(format!("line:{id}:{txn}:{category}"), 0),
        outcome: category,
        counterpart: None,
    };

    // One settlement per acquirer and capture day, settled the next day.
    let mut by_key: BTreeMap<(Date, usize), Vec<&BulkTxn>> = BTreeMap::new();
    for t in bulk {
        by_key.entry((t.capture_day, acquirer_of(t.method))).or_default().push(t);
    }
    let mut planned: Vec<Planned> = Vec::new();
    let mut paid_in: Vec<(&BulkTxn, usize)> = Vec::new();
    for (k, ((day, acquirer), txns)) in by_key.iter().enumerate() {
        let settled_on = day.add_days(1);
        let (y, m, d) = settled_on.ymd();
        let id = format!("setl_{}_{y:04}{m:02}{d:02}", ACQUIRERS[*acquirer]);
        let utr = format!("UTIBN{:011}", 62_000_000_000 + k as u64);
        let mut rows = Vec::with_capacity(txns.len() + 2);
        for t in txns {
            let mut row = Row::payment(t, format!("pay_{:08}", t.serial), &fees);
            match rng.below(1_000) {
                0..=19 => {
                    row.fee += 1 + rng.below(50) as i64;
                    row.tax = fees.expected_tax(Paise(row.fee)).0;
                    truth.push(line_check(&id, &t.txn_id, "FEE_MISMATCH"));
                }
                20..=29 => {
                    row.tax += 1 + rng.below(9) as i64;
                    truth.push(line_check(&id, &t.txn_id, "GST_MISMATCH"));
                }
                30..=32 if t.amount > 1 => {
                    row.amount = (t.amount - 1 - rng.below(500) as i64).max(1);
                    truth.push(line_check(&id, &t.txn_id, "AMOUNT_DIFFERS"));
                }
                _ => {}
            }
            rows.push(row);
            paid_in.push((t, planned.len()));
            if rng.chance(5_000) {
                // A partial refund, deducted from the same settlement.
                rows.push(Row {
                    kind: "refund",
                    txn_id: t.txn_id.clone(),
                    entity: format!("rfnd_{:08}", t.serial),
                    amount: 1 + rng.below(t.amount as u64) as i64,
                    fee: 0,
                    tax: 0,
                });
            }
        }
        let unknown = format!("TXNUNKNOWN{k:04}");
        truth.push(line_check(&id, &unknown, "UNKNOWN_TXN"));
        rows.push(Row { kind: "refund", txn_id: unknown, entity: format!("rfnd_x{k}"), amount: 1_000, fee: 0, tax: 0 });
        planned.push(Planned { acquirer: *acquirer, id, utr, settled_on, rows });
    }
    // BILLDESK payments paid again in PAYU's report of the same day: the later settlement in
    // (settled_on, id) order, so the BILLDESK row stays the one that counts.
    let payu_of_day: BTreeMap<Date, usize> =
        planned.iter().enumerate().filter(|(_, p)| p.acquirer == 0).map(|(i, p)| (p.settled_on, i)).collect();
    for &(t, s) in &paid_in {
        let home = &planned[s];
        let again = payu_of_day.get(&home.settled_on).copied();
        if home.acquirer != 1 || credit_missing(t.method, t.capture_day, day0) || !rng.chance(2_000) {
            continue;
        }
        let Some(payu) = again else { continue };
        truth.push(line_check(&planned[payu].id, &t.txn_id, "DOUBLE_SETTLED"));
        planned[payu].rows.push(Row::payment(t, format!("pay_{:08}b", t.serial), &fees));
    }

    // Credits and statuses.
    let mut credit_of: Vec<Option<usize>> = Vec::with_capacity(planned.len());
    let (mut payu_seen, mut billdesk_seen) = (0, 0);
    for p in &planned {
        let net: i64 = p.rows.iter().map(Row::net).sum();
        let nth = if p.acquirer == 0 { &mut payu_seen } else { &mut billdesk_seen };
        *nth += 1;
        let settlement = Rec::Line(format!("settlement:{}", p.id), 0);
        if (p.acquirer == 1 && *nth == 1) || net <= 0 {
            truth.push(TruthRow { record: settlement, outcome: "CREDIT_MISSING", counterpart: None });
            credit_of.push(None);
            continue;
        }
        let (amount, status) = match (p.acquirer, *nth) {
            (0, 1) => (net - 100 - rng.below(10_000) as i64, "SHORT_CREDIT"),
            (0, 2) => (net + 100 + rng.below(10_000) as i64, "EXCESS_CREDIT"),
            _ => (net, "SETTLED"),
        };
        let amount = amount.max(1);
        let status = if amount == net { "SETTLED" } else { status };
        let (utr, name) = match (p.acquirer, *nth) {
            (1, 2) => (None, format!("{} SETTL {}", ACQUIRERS[1], p.id)),
            (1, 3) => (None, "BULK CREDIT".to_string()),
            (a, _) => (Some(p.utr.clone()), format!("{} SETTLEMENT", ACQUIRERS[a])),
        };
        hdfc.push(Entry {
            value_date: p.settled_on,
            amount,
            credit: true,
            utr,
            neft: true,
            name: name.into(),
            merchant_ref: None,
            malformed_before: None,
        });
        let credit = Rec::Entry(0, hdfc.len() - 1);
        truth.push(TruthRow { record: settlement.clone(), outcome: status, counterpart: Some(credit.clone()) });
        truth.push(TruthRow { record: credit, outcome: "SETTLEMENT_CREDIT", counterpart: Some(settlement) });
        credit_of.push(Some(hdfc.len() - 1));
    }
    for &(t, s) in &paid_in {
        let record = Rec::Pg(t.txn_id.clone());
        truth.push(match credit_of[s] {
            Some(entry) => TruthRow { record, outcome: "MATCHED", counterpart: Some(Rec::Entry(0, entry)) },
            None => TruthRow { record, outcome: "UNMATCHED_PG", counterpart: None },
        });
    }

    // The reports: one per acquirer, rows shuffled, with the messiness exports have.
    let mut files = Vec::new();
    for (a, acquirer) in ACQUIRERS.iter().enumerate() {
        let name = format!("settlement_{acquirer}.csv");
        let eol = if a == 0 { "\r\n" } else { "\n" };
        let mut lines: Vec<String> = planned
            .iter()
            .filter(|p| p.acquirer == a)
            .flat_map(|p| {
                p.rows.iter().map(move |r| {
                    format!(
                        "{},{},{},{},{},{},{},{},{}",
                        p.id, p.utr, p.settled_on, r.kind, r.entity, r.txn_id, r.amount, r.fee, r.tax
                    )
                })
            })
            .collect();
        if lines.is_empty() {
            continue;
        }
        for i in (1..lines.len()).rev() {
            lines.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let bad_at = rng.below(lines.len() as u64) as usize;
        let mut out = String::with_capacity(lines.len() * 90);
        if a == 0 {
            out.push('\u{feff}');
        }
        out.push_str(SETTLEMENT_HEADER);
        out.push_str(eol);
        let mut line = 1u32;
        for (k, text) in lines.iter().enumerate() {
            if k == bad_at {
                line += 1;
                out.push_str(&format!(
                    "setl_{acquirer}_BAD,UTIBN00000000000,2026-10-02,payment,pay_bad,TXNBAD,12.50,0,0{eol}"
                ));
                truth.push(TruthRow { record: Rec::Line(name.clone(), line), outcome: "REJECTED", counterpart: None });
            }
            if k > 0 && k % 500 == 0 {
                line += 1;
                out.push_str(eol);
            }
            line += 1;
            out.push_str(text);
            out.push_str(eol);
        }
        files.push(GeneratedFile { name, bytes: out.into_bytes() });
    }
    files
}
