//! One business day's settlement run for every merchant (issue 12 §2), pure: what is eligible,
//! the batch it makes, and what carries forward. A [`Ledger`] remembers what earlier batches took,
//! so a payment, refund or adjustment is in one batch at most, and running a day twice makes no
//! second batch.
//!
//! For business day D and an `ACTIVE` merchant, eligible are: its matched captured payments due on
//! or before D (due = N business days after the IST capture date) not yet in a batch; refunds of
//! its payments refunded on or before D not yet deducted; its adjustments effective on or before D
//! not yet applied; and reserve an earlier batch withheld, once D reaches its release date. Per
//! payment, fee = round-half-up(amount × MDR / 10 000) and GST = round-half-up(fee × GST / 10 000).
//! Batch: net = gross − fees − GST − refunds + adjustments − withheld + released, with withheld =
//! round-half-up(gross × reserve / 10 000). Nothing eligible: nothing. Net ≤ 0, below the minimum
//! payout, or a merchant not `ACTIVE`: no batch, everything carries forward untouched.

use crate::calendar::Calendar;
use crate::merchant::{Merchant, MerchantStatus};
use settlepaisa_recon::date::Date;
use settlepaisa_recon::money::Paise;
use settlepaisa_recon::pg_file::Method;
use settlepaisa_recon::settlement::fees::share;
use std::collections::{BTreeMap, BTreeSet};

/// A captured PG transaction reconciliation matched: money that reached the nodal account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub txn_id: String,
    pub merchant_id: String,
    pub method: Method,
    pub amount: Paise,
    /// The IST capture date.
    pub captured_on: Date,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    pub refund_id: String,
    pub txn_id: String,
    pub amount: Paise,
    /// The IST date of the refund.
    pub refunded_on: Date,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AdjustmentKind {
    ChargebackDebit,
    ChargebackReversal,
    /// A refund deducted, then reported failed by the PG: the merchant gets it back (issue 14).
    RefundReversal,
    Manual,
}

impl AdjustmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentKind::ChargebackDebit => "chargeback_debit",
            AdjustmentKind::ChargebackReversal => "chargeback_reversal",
            AdjustmentKind::RefundReversal => "refund_reversal",
            AdjustmentKind::Manual => "manual",
        }
    }

    pub fn parse(text: &str) -> Option<AdjustmentKind> {
        [
            AdjustmentKind::ChargebackDebit,
            AdjustmentKind::ChargebackReversal,
            AdjustmentKind::RefundReversal,
            AdjustmentKind::Manual,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A signed amount for a merchant's next batch (debits negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Adjustment {
    pub adjustment_id: String,
    pub merchant_id: String,
    pub kind: AdjustmentKind,
    pub amount: Paise,
    pub effective_on: Date,
    pub reference: String,
}

/// Everything the runs read: the same whatever order it came in.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub payments: Vec<Payment>,
    pub refunds: Vec<Refund>,
    pub adjustments: Vec<Adjustment>,
    /// Whose transaction a refund is, for transactions not among `payments` (captured in an
    /// earlier export, or not matched yet): a refund is deducted from its merchant either way.
    pub owners: BTreeMap<String, String>,
}

/// Reserve one batch withheld, and the batch that released it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reserve {
    pub batch_id: String,
    pub merchant_id: String,
    /// The cycle date of the batch that withheld it: released by a later one only.
    pub withheld_on: Date,
    pub amount: Paise,
    pub release_on: Date,
    pub released_by: Option<String>,
}

/// What earlier batches took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    pub payments: BTreeMap<String, String>,
    pub refunds: BTreeMap<String, String>,
    pub adjustments: BTreeMap<String, String>,
    pub reserves: Vec<Reserve>,
    pub batches: BTreeSet<String>,
    /// Set by [`Ledger::prune`](crate::ledger_file): what batches before it took is forgotten,
    /// so inputs dated before it are never eligible again (a run of an earlier day included).
    pub horizon: Option<Date>,
    /// What failed payouts gave back (`P:`, `R:`, `A:` and the id): eligible again even when dated
    /// before the horizon, until a batch takes it.
    pub reopened: BTreeSet<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineKind {
    Payment,
    Refund,
    Adjustment,
    ReserveWithheld,
    ReserveReleased,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Payment => "payment",
            LineKind::Refund => "refund",
            LineKind::Adjustment => "adjustment",
            LineKind::ReserveWithheld => "reserve_withheld",
            LineKind::ReserveReleased => "reserve_released",
        }
    }
}

/// One line of a batch: what it is, its reference, and its amount as the formula counts it
/// (payments and releases positive; refunds, withheld reserve and debits negative).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub reference: String,
    pub amount: Paise,
    pub fee: Paise,
    pub gst: Paise,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub txns: u64,
    pub gross: Paise,
    pub fees: Paise,
    pub gst: Paise,
    pub refunds: Paise,
    pub adjustments: Paise,
    pub reserve_withheld: Paise,
    pub reserve_released: Paise,
    pub net: Paise,
}

/// A merchant's payout for one cycle date: `STL-{merchant}-{YYYYMMDD}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub settlement_id: String,
    pub merchant_id: String,
    pub cycle_date: Date,
    pub totals: Totals,
    pub lines: Vec<Line>,
}

/// A merchant with something eligible and no batch: why, and the net it would have paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carried {
    pub merchant_id: String,
    pub cycle_date: Date,
    pub reason: String,
    pub net: Paise,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CycleError {
    #[error("{0} is not a business day")]
    NotABusinessDay(Date),
    #[error("merchant {0}'s batch of {1} overflows")]
    Overflow(String, Date),
}

/// What one day's run made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayOutcome {
    pub batches: Vec<Batch>,
    pub carried: Vec<Carried>,
}

pub fn settlement_id(merchant_id: &str, day: Date) -> String {
    format!("STL-{merchant_id}-{}", day.to_string().replace('-', ""))
}

/// Runs business day `day` for every merchant, in merchant order; the ledger takes the batches.
pub fn run_day(
    day: Date,
    calendar: &Calendar,
    merchants: &[Merchant],
    inputs: &Inputs,
    ledger: &mut Ledger,
) -> Result<DayOutcome, CycleError> {
    if !calendar.is_business_day(day) {
        return Err(CycleError::NotABusinessDay(day));
    }
    let merchant_of = owners(inputs);
    let mut ordered: Vec<&Merchant> = merchants.iter().collect();
    ordered.sort_by(|a, b| a.merchant_id.cmp(&b.merchant_id));
    let mut out = DayOutcome::default();
    for m in ordered {
        let one = run_merchant(day, calendar, m, inputs, &merchant_of, ledger, Due::OnCycle)?;
        out.batches.extend(one.batches);
        out.carried.extend(one.carried);
    }
    Ok(out)
}

/// Which payments a run takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Those due by the merchant's T+N cycle.
    OnCycle,
    /// Every matched payment captured on or before the day: an on-demand settlement the merchant
    /// asked for (`POST /merchant/settlement/schedule`).
    OnDemand,
}

/// Whose transaction each txn id is: `inputs.owners`, and each payment's merchant.
pub fn owners(inputs: &Inputs) -> BTreeMap<&str, &str> {
    let mut merchant_of: BTreeMap<&str, &str> = inputs.owners.iter().map(|(t, m)| (t.as_str(), m.as_str())).collect();
    merchant_of.extend(inputs.payments.iter().map(|p| (p.txn_id.as_str(), p.merchant_id.as_str())));
    merchant_of
}

/// Runs business day `day` for one merchant: one batch at most, or what carries forward.
/// `merchant_of` is [`owners`] of the same inputs.
pub fn run_merchant(
    day: Date,
    calendar: &Calendar,
    m: &Merchant,
    inputs: &Inputs,
    merchant_of: &BTreeMap<&str, &str>,
    ledger: &mut Ledger,
    due: Due,
) -> Result<DayOutcome, CycleError> {
    if !calendar.is_business_day(day) {
        return Err(CycleError::NotABusinessDay(day));
    }
    let mut out = DayOutcome::default();
    let id = m.merchant_id.as_str();
    let mut payments: Vec<&Payment> = inputs
        .payments
        .iter()
        .filter(|p| {
            p.merchant_id == id
                && (ledger.horizon.is_none_or(|h| p.captured_on >= h)
                    || ledger.reopened.contains(&format!("P:{}", p.txn_id)))
                && !ledger.payments.contains_key(&p.txn_id)
                && match due {
                    Due::OnCycle => calendar.add_business_days(p.captured_on, m.settlement_days) <= day,
                    Due::OnDemand => p.captured_on <= day,
                }
        })
        .collect();
    let mut refunds: Vec<&Refund> = inputs
        .refunds
        .iter()
        .filter(|r| {
            merchant_of.get(r.txn_id.as_str()) == Some(&id)
                && r.refunded_on <= day
                && (ledger.horizon.is_none_or(|h| r.refunded_on >= h)
                    || ledger.reopened.contains(&format!("R:{}", r.refund_id)))
                && !ledger.refunds.contains_key(&r.refund_id)
        })
        .collect();
    let mut adjustments: Vec<&Adjustment> = inputs
        .adjustments
        .iter()
        .filter(|a| {
            a.merchant_id == id
                && a.effective_on <= day
                && (ledger.horizon.is_none_or(|h| a.effective_on >= h)
                    || ledger.reopened.contains(&format!("A:{}", a.adjustment_id)))
                && !ledger.adjustments.contains_key(&a.adjustment_id)
        })
        .collect();
    let releases: Vec<usize> = (0..ledger.reserves.len())
        .filter(|&i| {
            let r = &ledger.reserves[i];
            r.merchant_id == id && r.released_by.is_none() && r.release_on <= day && r.withheld_on < day
        })
        .collect();
    if payments.is_empty() && refunds.is_empty() && adjustments.is_empty() && releases.is_empty() {
        return Ok(out);
    }
    // The same lines whatever order the inputs came in.
    payments.sort_by(|a, b| a.txn_id.cmp(&b.txn_id));
    refunds.sort_by(|a, b| a.refund_id.cmp(&b.refund_id));
    adjustments.sort_by(|a, b| a.adjustment_id.cmp(&b.adjustment_id));
    let batch_id = settlement_id(id, day);
    let overflow = || CycleError::Overflow(id.to_string(), day);
    let add = |a: Paise, b: Paise| a.0.checked_add(b.0).map(Paise).ok_or_else(overflow);
    let mut t = Totals::default();
    let mut lines = Vec::new();
    for p in &payments {
        let fee = share(p.amount, m.mdr_for(p.method));
        let gst = share(fee, m.gst_bps);
        t.txns += 1;
        t.gross = add(t.gross, p.amount)?;
        t.fees = add(t.fees, fee)?;
        t.gst = add(t.gst, gst)?;
        lines.push(Line { kind: LineKind::Payment, reference: p.txn_id.clone(), amount: p.amount, fee, gst });
    }
    for r in &refunds {
        t.refunds = add(t.refunds, r.amount)?;
        lines.push(Line {
            kind: LineKind::Refund,
            reference: r.refund_id.clone(),
            amount: Paise(-r.amount.0),
            fee: Paise(0),
            gst: Paise(0),
        });
    }
    for a in &adjustments {
        t.adjustments = add(t.adjustments, a.amount)?;
        lines.push(Line {
            kind: LineKind::Adjustment,
            reference: a.adjustment_id.clone(),
            amount: a.amount,
            fee: Paise(0),
            gst: Paise(0),
        });
    }
    for &i in &releases {
        let r = &ledger.reserves[i];
        t.reserve_released = add(t.reserve_released, r.amount)?;
        lines.push(Line {
            kind: LineKind::ReserveReleased,
            reference: r.batch_id.clone(),
            amount: r.amount,
            fee: Paise(0),
            gst: Paise(0),
        });
    }
    t.reserve_withheld = share(t.gross, m.reserve_bps);
    let net = [
        Paise(-t.fees.0),
        Paise(-t.gst.0),
        Paise(-t.refunds.0),
        t.adjustments,
        Paise(-t.reserve_withheld.0),
        t.reserve_released,
    ]
    .into_iter()
    .try_fold(t.gross, add)?;
    t.net = net;
    let reason = if m.status != MerchantStatus::Active {
        Some(format!("merchant is {}", m.status.as_str()))
    } else if net.0 <= 0 {
        Some("net is not positive".to_string())
    } else if net < m.min_payout {
        Some(format!("net is below the minimum payout of {} paise", m.min_payout.0))
    } else if ledger.batches.contains(&batch_id) {
        // A second batch for the same cycle date (an on-demand run after the scheduled one):
        // the next day's takes it.
        Some("a batch of this cycle date exists".to_string())
    } else {
        None
    };
    if let Some(reason) = reason {
        out.carried.push(Carried { merchant_id: id.to_string(), cycle_date: day, reason, net });
        return Ok(out);
    }
    if t.reserve_withheld.0 > 0 {
        lines.push(Line {
            kind: LineKind::ReserveWithheld,
            reference: batch_id.clone(),
            amount: Paise(-t.reserve_withheld.0),
            fee: Paise(0),
            gst: Paise(0),
        });
    }
    for p in &payments {
        ledger.payments.insert(p.txn_id.clone(), batch_id.clone());
        ledger.reopened.remove(&format!("P:{}", p.txn_id));
    }
    for r in &refunds {
        ledger.refunds.insert(r.refund_id.clone(), batch_id.clone());
        ledger.reopened.remove(&format!("R:{}", r.refund_id));
    }
    for a in &adjustments {
        ledger.adjustments.insert(a.adjustment_id.clone(), batch_id.clone());
        ledger.reopened.remove(&format!("A:{}", a.adjustment_id));
    }
    for &i in &releases {
        ledger.reserves[i].released_by = Some(batch_id.clone());
    }
    if t.reserve_withheld.0 > 0 {
        ledger.reserves.push(Reserve {
            batch_id: batch_id.clone(),
            merchant_id: id.to_string(),
            withheld_on: day,
            amount: t.reserve_withheld,
            release_on: day.add_days(m.reserve_hold_days as i32),
            released_by: None,
        });
    }
    ledger.batches.insert(batch_id.clone());
    out.batches.push(Batch { settlement_id: batch_id, merchant_id: id.to_string(), cycle_date: day, totals: t, lines });
    Ok(out)
}

/// Every business day from `from` to `to`, in order.
pub fn run_days(
    from: Date,
    to: Date,
    calendar: &Calendar,
    merchants: &[Merchant],
    inputs: &Inputs,
    ledger: &mut Ledger,
) -> Result<DayOutcome, CycleError> {
    let mut all = DayOutcome::default();
    for day in calendar.business_days(from, to) {
        let out = run_day(day, calendar, merchants, inputs, ledger)?;
        all.batches.extend(out.batches);
        all.carried.extend(out.carried);
    }
    Ok(all)
}
