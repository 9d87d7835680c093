//! Realistic test data: a PG export, statements in the HDFC, ICICI and AXIS layouts, and the
//! truth of what reconciling them must give.
//!
//! Method mix and success rates follow the seed (UPI 0.92 success, avg ₹850; CARD 0.88, ₹1200;
//! NETBANKING 0.85, ₹2500; WALLET 0.95, ₹400); credits are value-dated the day after capture. The
//! noise covers every case the engine distinguishes and every messiness real statements have.
//! Amounts of records that can only be paired by amount are kept at least the amount tolerance
//! apart, so the intended outcome is unambiguous and the truth is exact.

use crate::date::{format_ist, format_utc, Date, DateLayout, IST_OFFSET_MINUTES};
use crate::money::{format_indian, Paise};
use crate::pg_file::{Method, PG_HEADER};
use crate::report::push_csv_field;
use std::borrow::Cow;
use std::collections::HashMap;

mod settlements;

#[derive(Clone, Debug)]
pub struct GenConfig {
    pub txns: usize,
    pub seed: u64,
    /// First capture date (IST).
    pub start: Date,
    /// Captures spread over this many days.
    pub days: u32,
    pub merchants: u32,
    /// Transaction ids are this prefix and a serial: separate batches need separate prefixes.
    pub txn_prefix: String,
    /// Cards, net banking and wallets settle in bulk: acquirer settlement reports and one bulk
    /// credit per acquirer and day instead of a credit per payment ([`settlements`]).
    pub settlements: bool,
    /// The PG export's rows in random order, as exports are not guaranteed to be sorted.
    pub shuffle: bool,
    /// Also a clean twin of the reconciled records for a simple peer: `pg.csv` (captured
    /// transactions) and `bank.csv` (credits), each `utr,amount_paise,date`, already parsed.
    pub clean_twin: bool,
}

impl GenConfig {
    pub fn new(txns: usize, seed: u64) -> GenConfig {
        GenConfig {
            txns,
            seed,
            start: Date::from_ymd(2026, 10, 1).expect("valid date"),
            days: 1,
            merchants: 25,
            txn_prefix: "TXN".into(),
            settlements: false,
            shuffle: false,
            clean_twin: false,
        }
    }
}

pub struct GeneratedFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub struct Generated {
    pub pg: GeneratedFile,
    pub banks: Vec<GeneratedFile>,
    /// Acquirer settlement reports (when [`GenConfig::settlements`]).
    pub settlements: Vec<GeneratedFile>,
    /// `pg.csv` and `bank.csv` (when [`GenConfig::clean_twin`]).
    pub twin: Vec<GeneratedFile>,
    /// `record,outcome,counterpart`: every record's intended outcome.
    pub truth: GeneratedFile,
}

pub const TRUTH_HEADER: &str = "record,outcome,counterpart";

/// SplitMix64: small, fast, and stable across releases, so a seed always gives the same files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// True with probability `per_million / 1e6`.
    fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// (method, share of transactions in ‱, success rate in ppm, average amount in paise)
const METHODS: [(Method, u64, u64, i64); 4] = [
    (Method::Upi, 6_000, 920_000, 85_000),
    (Method::Card, 2_000, 880_000, 120_000),
    (Method::Netbanking, 1_000, 850_000, 250_000),
    (Method::Wallet, 1_000, 950_000, 40_000),
];

const NAMES: [&str; 12] = [
    "RAHUL SHARMA",
    "PRIYA NAIR",
    "SHARMA, ANIL",
    "KAVYA REDDY",
    "ARJUN MEHTA",
    "FATIMA SHAIKH",
    "VIKRAM SINGH",
    "IYER, LAKSHMI",
    "ROHAN DAS",
    "SNEHA PATIL",
    "AMIT GUPTA",
    "NEHA JOSHI",
];

/// What gen intends for a captured transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Plan {
    Match,
    PgUtrMissing,
    BankUtrMissing,
    AmountMismatch,
    DuplicateBank,
    DuplicatePg,
    PgOnly,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bank {
    Hdfc,
    Icici,
    Axis,
}

const BANKS: [Bank; 3] = [Bank::Hdfc, Bank::Icici, Bank::Axis];

/// A line a statement will hold.
struct Entry {
    value_date: Date,
    amount: i64,
    credit: bool,
    /// The UTR as the bank prints it (absent when the bank lost it).
    utr: Option<String>,
    neft: bool,
    name: Cow<'static, str>,
    merchant_ref: Option<String>,
    /// A malformed line written just before this one.
    malformed_before: Option<String>,
}

/// A record as the truth names it, resolved to text once the files are written.
#[derive(Clone)]
enum Rec {
    Pg(String),
    Entry(usize, usize),
    Line(String, u32),
}

struct TruthRow {
    record: Rec,
    outcome: &'static str,
    counterpart: Option<Rec>,
}

/// Keeps amounts of records paired only by amount at least `TOLERANCE` apart.
struct AmountPool(HashMap<i64, i64>);

const TOLERANCE: i64 = 100;
/// Every generated statement opens with ₹5 crore.
const OPENING_BALANCE: i64 = 5_000_000_000;

impl AmountPool {
    /// An amount near `avg` that no other pooled amount is within tolerance of. Typical tickets
    /// run out of room at a few thousand pooled records; after that the draw widens to
    /// ₹100–₹10 lakh, where there is room for a million.
    fn draw(&mut self, rng: &mut Rng, avg: i64) -> i64 {
        for _ in 0..20 {
            let a = draw_amount(rng, avg);
            if self.admit(a) {
                return a;
            }
        }
        loop {
            let a = 10_000 + rng.below(100_000_000) as i64;
            if self.admit(a) {
                return a;
            }
        }
    }

    fn admit(&mut self, amount: i64) -> bool {
        let bucket = amount / TOLERANCE;
        let clash = (bucket - 1..=bucket + 1).any(|b| self.0.get(&b).is_some_and(|&a| (a - amount).abs() < TOLERANCE));
        if !clash {
            self.0.insert(bucket, amount);
        }
        !clash
    }
}

pub fn generate(cfg: &GenConfig) -> Generated {
    let mut rng = Rng(cfg.seed);
    let mut pool = AmountPool(HashMap::new());
    let mut entries: [Vec<Entry>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut truth: Vec<TruthRow> = Vec::with_capacity(cfg.txns * 2 + 16);
    let mut pg = Vec::with_capacity(cfg.txns * 110 + 100);
    pg.extend_from_slice(PG_HEADER.as_bytes());
    pg.push(b'\n');
    let mut pg_line = 1u32;
    let day0 = cfg.start;

    let mut bulk = Vec::new();
    // The clean twin's PG side: (UTR, amount, capture date) of every captured transaction.
    let mut twin_pg: Vec<(String, i64, Date)> = Vec::new();
    let mut i = 0usize;
    let mut serial = 0u64;
    while i < cfg.txns {
        i += 1;
        serial += 1;
        let roll = rng.below(10_000);
        let mut acc = 0;
        let &(method, _, success, avg) = METHODS
            .iter()
            .find(|m| {
                acc += m.1;
                roll < acc
            })
            .unwrap_or(&METHODS[0]);
        let captured = rng.chance(success);
        let txn_id = format!("{}{serial:010}", cfg.txn_prefix);
        let merchant_id = format!("MERCH{:03}", 1 + rng.below(u64::from(cfg.merchants.max(1))));
        let merchant_ref = format!("ORD-{}", base36(rng.below(36u64.pow(6)), 6));
        let capture_day = day0.add_days(rng.below(u64::from(cfg.days.max(1))) as i32);
        let captured_at = i64::from(capture_day.0) * 86_400 - IST_OFFSET_MINUTES * 60 + rng.below(86_400) as i64;
        let bank_idx = match rng.below(100) {
            0..=44 => 0,
            45..=79 => 1,
            _ => 2,
        };
        let neft = method == Method::Netbanking;
        let utr = if neft {
            let code = rng.pick(&["HDFC", "ICIC", "UTIB", "SBIN", "KKBK"]);
            format!("{code}N{:011}", 52_000_000_000 + serial)
        } else {
            format!("6{:03}{:08}", (capture_day.0.rem_euclid(1000)), serial % 100_000_000)
        };
        let plan = if !captured {
            None
        } else {
            Some(match rng.below(10_000) {
                0..=99 => Plan::PgUtrMissing,
                100..=199 => Plan::BankUtrMissing,
                200..=249 => Plan::AmountMismatch,
                250..=279 => Plan::DuplicateBank,
                280..=289 if i < cfg.txns => Plan::DuplicatePg,
                290..=389 => Plan::PgOnly,
                _ => Plan::Match,
            })
        };
        // Paid in bulk through an acquirer's settlement rather than by a credit of its own.
        let in_bulk = cfg.settlements && method != Method::Upi && plan == Some(Plan::Match);
        // A transaction whose settlement credit never comes can only be paired by amount.
        let unpaid = in_bulk && settlements::credit_missing(method, capture_day, day0);
        let needs_pool = unpaid || matches!(plan, Some(Plan::PgUtrMissing | Plan::BankUtrMissing | Plan::PgOnly));
        let amount = if needs_pool { pool.draw(&mut rng, avg) } else { draw_amount(&mut rng, avg) };
        let status = match (captured, rng.below(3)) {
            (true, _) => "captured",
            (false, 0) => "pending",
            (false, _) => "failed",
        };
        // Failed payments never reached a bank, so they carry no UTR.
        let pg_utr = match plan {
            Some(Plan::PgUtrMissing) => "",
            None if status == "failed" => "",
            _ => utr.as_str(),
        };
        pg_line += 1;
        push_pg_row(
            &mut pg,
            &txn_id,
            &merchant_id,
            &merchant_ref,
            method,
            amount,
            status,
            pg_utr,
            captured_at,
            &mut rng,
        );
        if cfg.clean_twin && status == "captured" {
            twin_pg.push((pg_utr.to_string(), amount, capture_day));
        }
        let Some(plan) = plan else {
            truth.push(TruthRow { record: Rec::Pg(txn_id), outcome: "NOT_CAPTURED", counterpart: None });
            continue;
        };
        let value_date = capture_day.add_days(1);
        let with_ref = rng.chance(400_000);
        let entry = |amount: i64, utr: Option<String>, rng: &mut Rng| Entry {
            value_date,
            amount,
            credit: true,
            utr,
            neft,
            name: NAMES[rng.below(NAMES.len() as u64) as usize].into(),
            merchant_ref: with_ref.then(|| merchant_ref.clone()),
            malformed_before: None,
        };
        let pg_rec = Rec::Pg(txn_id.clone());
        let push_entry = |e: Entry, entries: &mut [Vec<Entry>; 3]| {
            entries[bank_idx].push(e);
            Rec::Entry(bank_idx, entries[bank_idx].len() - 1)
        };
        if in_bulk {
            bulk.push(settlements::BulkTxn { txn_id, amount, method, capture_day, serial });
            continue;
        }
        match plan {
            Plan::Match | Plan::PgUtrMissing | Plan::BankUtrMissing | Plan::AmountMismatch => {
                let bank_amount = if plan == Plan::AmountMismatch {
                    let delta = (TOLERANCE + rng.below(5_000) as i64) * if rng.chance(500_000) { 1 } else { -1 };
                    (amount + delta).max(1)
                } else {
                    amount
                };
                let bank_utr = (plan != Plan::BankUtrMissing).then(|| utr.clone());
                let b = push_entry(entry(bank_amount, bank_utr, &mut rng), &mut entries);
                let outcome = match plan {
                    Plan::Match => "MATCHED",
                    Plan::AmountMismatch => "AMOUNT_MISMATCH",
                    _ => "UTR_MISSING",
                };
                truth.push(TruthRow { record: pg_rec.clone(), outcome, counterpart: Some(b.clone()) });
                truth.push(TruthRow { record: b, outcome, counterpart: Some(pg_rec) });
            }
            Plan::DuplicateBank => {
                let group = Rec::Line(format!("utr:{utr}"), 0);
                let b1 = push_entry(entry(amount, Some(utr.clone()), &mut rng), &mut entries);
                let b2 = push_entry(entry(amount, Some(utr.clone()), &mut rng), &mut entries);
                for r in [pg_rec, b1, b2] {
                    truth.push(TruthRow { record: r, outcome: "DUPLICATE_UTR", counterpart: Some(group.clone()) });
                }
            }
            Plan::DuplicatePg => {
                // A second capture carrying the same UTR (a replayed callback, say).
                i += 1;
                serial += 1;
                let twin_id = format!("{}{serial:010}", cfg.txn_prefix);
                pg_line += 1;
                push_pg_row(
                    &mut pg,
                    &twin_id,
                    &merchant_id,
                    &merchant_ref,
                    method,
                    amount,
                    "captured",
                    &utr,
                    captured_at + 7,
                    &mut rng,
                );
                if cfg.clean_twin {
                    twin_pg.push((utr.clone(), amount, capture_day));
                }
                let group = Rec::Line(format!("utr:{utr}"), 0);
                let b = push_entry(entry(amount, Some(utr.clone()), &mut rng), &mut entries);
                for r in [pg_rec, Rec::Pg(twin_id), b] {
                    truth.push(TruthRow { record: r, outcome: "DUPLICATE_UTR", counterpart: Some(group.clone()) });
                }
            }
            Plan::PgOnly => truth.push(TruthRow { record: pg_rec, outcome: "UNMATCHED_PG", counterpart: None }),
        }
        // A malformed PG row now and then, rejected and never reconciled.
        if rng.chance(500) {
            pg_line += 1;
            let bad = format!("TXNBAD{serial:08},MERCH001,ORD-BAD,UPI,850.00,captured,,2026-10-01T10:00:00+05:30\n");
            pg.extend_from_slice(bad.as_bytes());
            truth.push(TruthRow {
                record: Rec::Line("pg_transactions.csv".into(), pg_line),
                outcome: "REJECTED",
                counterpart: None,
            });
        }
    }

    let settlement_files = settlements::build(&bulk, day0, &mut entries[0], &mut truth, &mut rng);

    // Credits nobody at the PG knows about, withdrawals, and malformed lines.
    for (b, list) in entries.iter_mut().enumerate() {
        let n = list.len();
        let day_span = cfg.days.max(1) as u64;
        for _ in 0..(n / 200).max(1) {
            let amount = pool.draw(&mut rng, 85_000);
            serial += 1;
            let value_date = day0.add_days(1 + rng.below(day_span) as i32);
            list.push(Entry {
                value_date,
                amount,
                credit: true,
                utr: Some(format!("7{:03}{:08}", value_date.0.rem_euclid(1000), serial % 100_000_000)),
                neft: false,
                name: NAMES[rng.below(NAMES.len() as u64) as usize].into(),
                merchant_ref: None,
                malformed_before: None,
            });
            truth.push(TruthRow {
                record: Rec::Entry(b, list.len() - 1),
                outcome: "UNMATCHED_BANK",
                counterpart: None,
            });
        }
        for _ in 0..(n / 50).max(1) {
            list.push(Entry {
                value_date: day0.add_days(1 + rng.below(day_span) as i32),
                amount: 500 + rng.below(2_000_000) as i64,
                credit: false,
                utr: None,
                neft: false,
                name: rng.pick(&["PAYOUT TO MERCHANT", "BANK CHARGES", "GST ON CHARGES", "REFUND"]).into(),
                merchant_ref: None,
                malformed_before: None,
            });
            truth.push(TruthRow { record: Rec::Entry(b, list.len() - 1), outcome: "WITHDRAWAL", counterpart: None });
        }
        // Statement order: by value date, stable.
        let mut order: Vec<usize> = (0..list.len()).collect();
        order.sort_by_key(|&k| (list[k].value_date, k));
        let mut position = vec![0usize; list.len()];
        for (pos, &k) in order.iter().enumerate() {
            position[k] = pos;
        }
        let mut sorted: Vec<Entry> = Vec::with_capacity(list.len());
        let mut taken: Vec<Option<Entry>> = list.drain(..).map(Some).collect();
        for &k in &order {
            sorted.push(taken[k].take().expect("each entry once"));
        }
        *list = sorted;
        for row in &mut truth {
            for r in std::iter::once(&mut row.record).chain(row.counterpart.as_mut()) {
                if let Rec::Entry(bank, k) = r {
                    if *bank == b {
                        *k = position[*k];
                    }
                }
            }
        }
        for _ in 0..(n / 1000).max(1) {
            let k = rng.below(list.len() as u64) as usize;
            list[k].malformed_before = Some(malformed_line(BANKS[b], &mut rng));
        }
    }

    let date_tag = day0.add_days(1);
    let (y, m, d) = date_tag.ymd();
    let mut files = Vec::new();
    let mut lines_of: Vec<Vec<u32>> = Vec::new();
    let mut rejected: Vec<(String, u32)> = Vec::new();
    for (b, bank) in BANKS.iter().enumerate() {
        let name = match bank {
            Bank::Hdfc => format!("HDFC_{y:04}{m:02}{d:02}.csv"),
            Bank::Icici => format!("ICICI_{y:04}{m:02}{d:02}.txt"),
            Bank::Axis => format!("AXIS_{y:04}{m:02}{d:02}.csv"),
        };
        let (bytes, lines, bad) = write_statement(*bank, &entries[b], &mut rng);
        rejected.extend(bad.into_iter().map(|l| (name.clone(), l)));
        files.push(GeneratedFile { name, bytes });
        lines_of.push(lines);
    }
    for (file, line) in rejected {
        truth.push(TruthRow { record: Rec::Line(file, line), outcome: "REJECTED", counterpart: None });
    }

    if cfg.shuffle {
        pg = shuffle_rows(&pg, &mut truth, &mut rng);
    }
    let twin = match cfg.clean_twin {
        false => Vec::new(),
        true => {
            let credits = entries.iter().flatten().filter(|e| e.credit);
            vec![
                twin_file("pg.csv", twin_pg.iter().map(|(u, a, d)| (u.as_str(), *a, *d))),
                twin_file("bank.csv", credits.map(|e| (e.utr.as_deref().unwrap_or(""), e.amount, e.value_date))),
            ]
        }
    };

    let resolve = |r: &Rec| match r {
        Rec::Pg(id) => id.clone(),
        Rec::Entry(b, k) => format!("{}:{}", files[*b].name, lines_of[*b][*k]),
        Rec::Line(file, 0) => file.clone(),
        Rec::Line(file, line) => format!("{file}:{line}"),
    };
    let mut truth_csv = Vec::with_capacity(truth.len() * 48);
    truth_csv.extend_from_slice(TRUTH_HEADER.as_bytes());
    truth_csv.push(b'\n');
    for row in &truth {
        push_csv_field(&mut truth_csv, &resolve(&row.record));
        truth_csv.push(b',');
        truth_csv.extend_from_slice(row.outcome.as_bytes());
        truth_csv.push(b',');
        if let Some(c) = &row.counterpart {
            push_csv_field(&mut truth_csv, &resolve(c));
        }
        truth_csv.push(b'\n');
    }
    Generated {
        pg: GeneratedFile { name: "pg_transactions.csv".into(), bytes: pg },
        banks: files,
        settlements: settlement_files,
        twin,
        truth: GeneratedFile { name: "truth.csv".into(), bytes: truth_csv },
    }
}

/// The PG export with its data rows in random order; the truth's PG lines follow them.
fn shuffle_rows(pg: &[u8], truth: &mut [TruthRow], rng: &mut Rng) -> Vec<u8> {
    let header_end = pg.iter().position(|&c| c == b'\n').map_or(pg.len(), |i| i + 1);
    let rows: Vec<&[u8]> = pg[header_end..].split_inclusive(|&c| c == b'\n').collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    // Row k (line k + 2) now stands at line new_line[k].
    let mut new_line = vec![0u32; rows.len()];
    let mut out = Vec::with_capacity(pg.len());
    out.extend_from_slice(&pg[..header_end]);
    for (position, &k) in order.iter().enumerate() {
        new_line[k] = position as u32 + 2;
        out.extend_from_slice(rows[k]);
    }
    for row in truth.iter_mut() {
        if let Rec::Line(file, line) = &mut row.record {
            if file == "pg_transactions.csv" && *line >= 2 {
                *line = new_line[*line as usize - 2];
            }
        }
    }
    out
}

/// A clean twin file: `utr,amount_paise,date`, one parsed record a line.
fn twin_file<'a>(name: &str, records: impl Iterator<Item = (&'a str, i64, Date)>) -> GeneratedFile {
    let mut bytes = b"utr,amount_paise,date\n".to_vec();
    for (utr, amount, date) in records {
        bytes.extend_from_slice(format!("{utr},{amount},{date}\n").as_bytes());
    }
    GeneratedFile { name: name.into(), bytes }
}

/// An amount around `avg` paise: the mean of three uniform draws keeps it positive and skewed
/// like real tickets; seven in ten are whole rupees.
fn draw_amount(rng: &mut Rng, avg: i64) -> i64 {
    let k: i64 = (0..3).map(|_| 100 + rng.below(1_800) as i64).sum();
    let a = (avg * k / 3_000).max(100);
    if rng.chance(700_000) {
        a / 100 * 100
    } else {
        a
    }
}

fn base36(mut n: u64, width: usize) -> String {
    let digits = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = digits[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn push_pg_row(
    out: &mut Vec<u8>,
    txn_id: &str,
    merchant_id: &str,
    merchant_ref: &str,
    method: Method,
    amount: i64,
    status: &str,
    utr: &str,
    captured_at: i64,
    rng: &mut Rng,
) {
    // Most exports stamp IST; some systems write UTC.
    let stamp = if rng.chance(100_000) { format_utc(captured_at) } else { format_ist(captured_at) };
    let row = format!("{txn_id},{merchant_id},{merchant_ref},{},{amount},{status},{utr},{stamp}\n", method.as_str());
    out.extend_from_slice(row.as_bytes());
}

fn malformed_line(bank: Bank, rng: &mut Rng) -> String {
    let kind = rng.below(4);
    match bank {
        Bank::Hdfc => match kind {
            0 => "31/02/26,UPI-RAHUL SHARMA-629400000001-REVERSAL,,31/02/2026,,850.00,\"1,00,000.00\"".into(),
            1 => "02/10/26,UPI-PRIYA NAIR-629400000002,,02/10/2026,,12.345,\"1,00,000.00\"".into(),
            2 => "02/10/26,UPI-NEHA JOSHI-629400000003,,02/10/2026,,\"12,3456.00\",\"1,00,000.00\"".into(),
            _ => "02/10/26,TRUNCATED ROW".into(),
        },
        Bank::Icici => match kind {
            0 => "99|2026-13-02|2026-10-01||UPI/629400000004/X||850.00|1".into(),
            1 => "99|2026-10-02|2026-10-01||UPI/629400000005/X||N/A|1".into(),
            2 => "99|2026-10-02|2026-10-01||UPI/629400000006/REVERSAL||-850.00|1".into(),
            _ => "99|2026-10-02|2026-10-01||UPI/629400000007/X|850.00|850.00|1".into(),
        },
        Bank::Axis => match kind {
            0 => "2026-10-02,,UPI/P2M/629400000008/X,,850,1,1234".into(),
            1 => "02-10-2026,,UPI/P2M/629400000009/X,,85O.00,1,1234".into(),
            2 => "02-10-2026,,\"UPI/P2M/629400000010/UNCLOSED,,850,1,1234".into(),
            _ => "02-10-2026,,UPI/P2M/629400000011/X,,,1,1234".into(),
        },
    }
}

/// Writes one statement; returns its bytes, the line of each entry, and the lines of malformed rows.
/// A credit for [`statement`]: what a bank prints for one settlement it received.
#[derive(Clone, Debug)]
pub struct StatementCredit {
    pub value_date: Date,
    pub amount: Paise,
    /// The UTR as the bank prints it; `None` when the bank lost it.
    pub utr: Option<String>,
    /// NEFT (16-character UTR) rather than UPI/IMPS.
    pub neft: bool,
    pub merchant_ref: Option<String>,
}

/// A statement file in the layout of `bank` (`HDFC`, `ICICI`, `AXIS`) holding `credits`, with the
/// bank's real-world furniture (preamble, BOM, summary) but no malformed lines; `None` for a bank
/// the generator does not know.
pub fn statement(bank: &str, credits: &[StatementCredit], seed: u64) -> Option<Vec<u8>> {
    let bank = match bank.to_ascii_uppercase().as_str() {
        "HDFC" => Bank::Hdfc,
        "ICICI" => Bank::Icici,
        "AXIS" => Bank::Axis,
        _ => return None,
    };
    let mut rng = Rng(seed);
    let entries: Vec<Entry> = credits
        .iter()
        .map(|c| Entry {
            value_date: c.value_date,
            amount: c.amount.0,
            credit: true,
            utr: c.utr.clone(),
            neft: c.neft,
            name: rng.pick(&NAMES).into(),
            merchant_ref: c.merchant_ref.clone(),
            malformed_before: None,
        })
        .collect();
    Some(write_statement(bank, &entries, &mut rng).0)
}

/// The bank names [`statement`] writes.
pub const STATEMENT_BANKS: [&str; 3] = ["HDFC", "ICICI", "AXIS"];

fn write_statement(bank: Bank, entries: &[Entry], rng: &mut Rng) -> (Vec<u8>, Vec<u32>, Vec<u32>) {
    let mut out = Vec::with_capacity(entries.len() * 130 + 1024);
    let eol: &[u8] = if bank == Bank::Hdfc { b"\r\n" } else { b"\n" };
    let mut line = 0u32;
    let mut push = |out: &mut Vec<u8>, text: &str| {
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(eol);
        line += 1;
        line
    };
    let (header, preamble): (&str, &[&str]) = match bank {
        Bank::Hdfc => (
            "Date,Narration,Chq./Ref.No.,Value Dt,Withdrawal Amt.,Deposit Amt.,Closing Balance",
            &["HDFC BANK Ltd.", "SETTLEPAISA TECHNOLOGIES PVT LTD", "Account No : 50200012345678", "Statement From : 01/10/2026 To : 31/10/2026", ""],
        ),
        Bank::Icici => (
            "S No.|Value Date|Transaction Date|Cheque Number|Transaction Remarks|Withdrawal Amount (INR )|Deposit Amount (INR )|Balance (INR )",
            &["DETAILED STATEMENT", "Account Number|000405012345|SETTLEPAISA TECHNOLOGIES PVT LTD", "Transaction Period|From 01/10/2026 To 31/10/2026", ""],
        ),
        Bank::Axis => ("Tran Date,CHQNO,PARTICULARS,DR,CR,BAL,SOL", &["Statement of Axis Account No :917020012345678 for the period (From : 01-10-2026 To : 31-10-2026)"]),
    };
    if bank == Bank::Hdfc {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    for p in preamble {
        push(&mut out, p);
    }
    push(&mut out, header);
    let hdfc_long = DateLayout::new("DD/MM/YYYY").expect("layout");
    let hdfc_short = DateLayout::new("DD/MM/YY").expect("layout");
    let iso = DateLayout::new("YYYY-MM-DD").expect("layout");
    let axis = DateLayout::new("DD-MM-YYYY").expect("layout");
    let mut balance: i64 = OPENING_BALANCE;
    let (mut credits, mut debits, mut credit_sum, mut debit_sum) = (0u64, 0u64, 0i64, 0i64);
    let mut lines = Vec::with_capacity(entries.len());
    let mut bad_lines = Vec::new();
    for (k, e) in entries.iter().enumerate() {
        if let Some(bad) = &e.malformed_before {
            bad_lines.push(push(&mut out, bad));
        }
        if k > 0 && k % 5_000 == 0 {
            push(&mut out, ""); // blank lines, as some exports leave between pages
        }
        if bank == Bank::Axis && k > 0 && k % 2_000 == 0 {
            push(&mut out, header); // page break repeats the header
        }
        if e.credit {
            balance += e.amount;
            credits += 1;
            credit_sum += e.amount;
        } else {
            balance -= e.amount;
            debits += 1;
            debit_sum += e.amount;
        }
        let posted = e.value_date.add_days(-1);
        let reference = e.merchant_ref.as_deref().map(|r| format!("-{r}")).unwrap_or_default();
        let narration = match (&e.utr, e.credit) {
            (_, false) => e.name.to_string(),
            (None, true) => format!("BY TRANSFER-{}{reference}", e.name),
            (Some(utr), true) if e.neft => match bank {
                Bank::Hdfc => format!("NEFT CR-{utr}-{}{reference}", e.name),
                Bank::Icici => format!("NEFT-{utr}-{}{reference}", e.name),
                Bank::Axis => format!("NEFT/{utr}/{}{reference}", e.name),
            },
            (Some(utr), true) => match bank {
                Bank::Hdfc => format!("UPI-{}-{}@okaxis-ICIC0000104-{utr}-PAYMENT{reference}", e.name, vpa(&e.name)),
                Bank::Icici => format!("UPI/{utr}/{}/{}@ybl{}", e.name, vpa(&e.name), reference.replacen('-', "/", 1)),
                Bank::Axis => format!("UPI/P2M/{utr}/{}{}", e.name, reference.replacen('-', "/", 1)),
            },
        };
        let amount = Paise(e.amount);
        let row = match bank {
            Bank::Hdfc => {
                let value_fmt = if rng.chance(300_000) { &hdfc_short } else { &hdfc_long };
                let reference_cell = match &e.utr {
                    Some(u) if !e.neft && e.credit => format!("0000{u}"),
                    Some(u) if e.credit => u.clone(),
                    _ => String::new(),
                };
                csv_row(&[
                    posted.format(&hdfc_short),
                    narration,
                    reference_cell,
                    e.value_date.format(value_fmt),
                    if e.credit { String::new() } else { format_indian(amount) },
                    if e.credit { format_indian(amount) } else { String::new() },
                    format_indian(Paise(balance)),
                ])
            }
            Bank::Icici => {
                let amt = if rng.chance(500_000) { format_indian(amount) } else { amount.to_string() };
                let (dr, cr) = if e.credit { (String::new(), amt) } else { (amt, String::new()) };
                format!(
                    "{}|{}|{}||{}|{dr}|{cr}|{}",
                    k + 1,
                    e.value_date.format(&iso),
                    posted.format(&iso),
                    narration,
                    Paise(balance)
                )
            }
            Bank::Axis => {
                // Axis trims trailing zeros: 850, 850.5, 850.05.
                let amt = amount.to_string().trim_end_matches(".00").to_string();
                let amt = if amt.contains('.') && amt.ends_with('0') { amt[..amt.len() - 1].to_string() } else { amt };
                let (dr, cr) = if e.credit { (String::new(), amt) } else { (amt, String::new()) };
                let chq = match (&e.utr, e.neft) {
                    (Some(u), true) => u.clone(),
                    _ => String::new(),
                };
                csv_row(&[
                    e.value_date.format(&axis),
                    chq,
                    narration,
                    dr,
                    cr,
                    Paise(balance).to_string(),
                    "1234".into(),
                ])
            }
        };
        lines.push(push(&mut out, &row));
    }
    push(&mut out, "");
    match bank {
        Bank::Hdfc => {
            push(&mut out, "STATEMENT SUMMARY :-");
            push(&mut out, "Opening Balance,Dr Count,Cr Count,Debits,Credits,Closing Bal");
            push(
                &mut out,
                &format!(
                    "\"{}\",{debits},{credits},\"{}\",\"{}\",\"{}\"",
                    format_indian(Paise(OPENING_BALANCE)),
                    format_indian(Paise(debit_sum)),
                    format_indian(Paise(credit_sum)),
                    format_indian(Paise(balance))
                ),
            );
            push(&mut out, "Generated On: 03/10/2026 09:00:00");
        }
        Bank::Icici => {
            push(
                &mut out,
                &format!("Total||||{debits} debits, {credits} credits|{}|{}|", Paise(debit_sum), Paise(credit_sum)),
            );
            push(&mut out, "This is a computer generated statement.");
        }
        Bank::Axis => {
            push(&mut out, &format!("OPENING BALANCE,,,,,{},", Paise(OPENING_BALANCE)));
            push(&mut out, &format!("TRANSACTION TOTAL,,,{},{},,", Paise(debit_sum), Paise(credit_sum)));
            push(&mut out, &format!("CLOSING BALANCE,,,,,{},", Paise(balance)));
        }
    }
    (out, lines, bad_lines)
}

/// A comma-separated row, each field quoted when it needs to be.
fn csv_row(fields: &[String]) -> String {
    let mut row = Vec::new();
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            row.push(b',');
        }
        push_csv_field(&mut row, field);
    }
    String::from_utf8(row).unwrap_or_default()
}

fn vpa(name: &str) -> String {
    name.split([' ', ',']).find(|w| !w.is_empty()).unwrap_or("user").to_ascii_lowercase()
}
