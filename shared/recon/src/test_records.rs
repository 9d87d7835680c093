//! Records for unit tests, with every field a test does not care about filled in.

use crate::bank_file::{BankRow, Direction};
use crate::date::Date;
use crate::money::Paise;
use crate::pg_file::{Method, PgTxn, CAPTURED};
use crate::utr::find_utr;

pub fn day(d: u32) -> Date {
    Date::from_ymd(2026, 10, d).expect("a day of October 2026")
}

/// A captured UPI transaction of merchant `M1` on 2026-10-`d`, without a merchant reference.
pub fn pg(id: &'static str, amount: i64, utr: &str, d: u32) -> PgTxn<'static> {
    PgTxn {
        line: 2,
        txn_id: id,
        merchant_id: "M1",
        merchant_ref: "",
        method: Method::Upi,
        amount: Paise(amount),
        status: CAPTURED,
        utr: find_utr(utr),
        captured_at: i64::from(day(d).0) * 86_400,
        date: day(d),
    }
}

/// A credit on line `line` of `hdfc.csv`, value-dated 2026-10-`d`, its UTR found in the narration.
pub fn credit(line: u32, amount: i64, narration: &'static str, d: u32) -> BankRow<'static> {
    BankRow {
        file: "hdfc.csv",
        line,
        date: day(d),
        amount: Paise(amount),
        direction: Direction::Credit,
        utr: find_utr(narration),
        narration,
    }
}

impl<'a> PgTxn<'a> {
    pub fn with_ref(self, merchant_ref: &'a str) -> PgTxn<'a> {
        PgTxn { merchant_ref, ..self }
    }

    pub fn with_utr(self, utr: &str) -> PgTxn<'a> {
        PgTxn { utr: find_utr(utr), ..self }
    }
}

/// A small deterministic Fisher–Yates shuffle (xorshift), so properties need no RNG crate.
pub fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
}
