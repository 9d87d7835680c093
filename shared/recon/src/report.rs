//! The run's CSV reports: matches, exceptions and rejects, written in canonical order.

use crate::bank_file::BankRow;
use crate::config::format_fixed;
use crate::outcome::Reconciliation;
use crate::reject::Reject;
use crate::score::Score;
use rayon::prelude::*;
use std::io::{self, Write};

pub const MATCHES_HEADER: &str = "txn_id,bank_ref,utr,amount_paise,confidence,rules";
pub const EXCEPTIONS_HEADER: &str =
    "exception_id,category,txn_ids,bank_refs,amount_delta_paise,suggestion_confidence,reason";
pub const REJECTS_HEADER: &str = "file,line,reason,raw";

/// Rows formatted per parallel piece before being written in order.
const ROWS_PER_PIECE: usize = 16_384;

/// Appends `field` to `out`, quoted when it holds a comma, quote or line break.
pub fn push_csv_field(out: &mut Vec<u8>, field: &str) {
    if field.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for c in field.bytes() {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(field.as_bytes());
    }
}

/// Formats `items` in parallel pieces and writes them in order, a bounded batch at a time so the
/// formatted text never has to fit in memory at once.
///
/// `touch` reads what a row's text lives behind (see [`crate::touch`]), a batch of rows ahead of
/// formatting them.
fn write_rows<T: Sync>(
    items: &[T],
    w: &mut (impl Write + Send),
    touch: impl Fn(&T) -> u8 + Sync,
    format: impl Fn(&T, &mut Vec<u8>) + Sync,
) -> io::Result<()> {
    let format_batch = |rows: &[T]| -> Vec<Vec<u8>> {
        rows.par_chunks(ROWS_PER_PIECE)
            .map(|chunk| {
                let mut out = Vec::with_capacity(chunk.len() * 128);
                let mut ahead = crate::touch::Ahead::default();
                for (at, item) in chunk.iter().enumerate() {
                    ahead.before(at, chunk.len(), |batch| chunk[batch].iter().fold(0, |acc, item| acc ^ touch(item)));
                    format(item, &mut out);
                }
                out
            })
            .collect()
    };
    let batch = ROWS_PER_PIECE * rayon::current_num_threads().max(1) * 2;
    let mut batches = items.chunks(batch);
    let mut ready = batches.next().map(format_batch).unwrap_or_default();
    loop {
        // Write one batch while the next is formatted: the kernel's copy overlaps the formatting.
        let next = batches.next();
        let (written, formatted) =
            rayon::join(|| ready.iter().try_for_each(|piece| w.write_all(piece)), || next.map(format_batch));
        written?;
        match formatted {
            Some(f) => ready = f,
            None => return Ok(()),
        }
    }
}

fn push_int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn push_bank_ref(out: &mut Vec<u8>, b: &BankRow<'_>) {
    push_csv_field(out, b.file);
    out.push(b':');
    push_int(out, b.line);
}

pub fn write_matches(rec: &Reconciliation<'_>, w: &mut (impl Write + Send)) -> io::Result<()> {
    writeln!(w, "{MATCHES_HEADER}")?;
    // Confidence and rules depend only on which fields agreed (and the amount difference, shown
    // when not zero): format each of the 16 combinations once.
    let cached: Vec<(String, String)> = (0..16u8)
        .map(|bits| {
            let s = Score::of_agreed(bits, &rec.config);
            (format_fixed(s.confidence()), s.explain(&rec.config))
        })
        .collect();
    let touch = |pg: u32, bank: u32| {
        let (p, b) = (&rec.pg[pg as usize], &rec.bank[bank as usize]);
        crate::touch::first_bytes([p.txn_id].into_iter()) ^ b.line as u8
    };
    write_rows(
        &rec.matches,
        w,
        |m| touch(m.pg, m.bank),
        |m, out| {
            let p = &rec.pg[m.pg as usize];
            let b = &rec.bank[m.bank as usize];
            push_csv_field(out, p.txn_id);
            out.push(b',');
            push_bank_ref(out, b);
            out.push(b',');
            if let Some(utr) = p.utr.or(b.utr) {
                utr.push_to(out);
            }
            out.push(b',');
            push_int(out, p.amount.0);
            out.push(b',');
            let (confidence, rules) = &cached[usize::from(m.score.agreed.bits())];
            out.extend_from_slice(confidence.as_bytes());
            out.push(b',');
            if m.score.amount_delta == 0 {
                out.extend_from_slice(rules.as_bytes());
            } else {
                push_csv_field(out, &m.score.explain(&rec.config));
            }
            out.push(b'\n');
        },
    )?;
    // Then the transactions paid through a settlement's bulk credit, by txn_id: the credit, the
    // settlement's UTR, and the rule that proved them.
    write_rows(
        &rec.settled,
        w,
        |m| touch(m.pg, m.bank),
        |m, out| {
            let p = &rec.pg[m.pg as usize];
            push_csv_field(out, p.txn_id);
            out.push(b',');
            push_bank_ref(out, &rec.bank[m.bank as usize]);
            out.push(b',');
            m.utr.push_to(out);
            out.push(b',');
            push_int(out, p.amount.0);
            out.extend_from_slice(b",1,settlement\n");
        },
    )
}

pub fn write_exceptions(rec: &Reconciliation<'_>, w: &mut (impl Write + Send)) -> io::Result<()> {
    writeln!(w, "{EXCEPTIONS_HEADER}")?;
    write_rows(
        &rec.exceptions,
        w,
        |_| 0,
        |e, out| {
            out.extend_from_slice(rec.exception_id(e).as_bytes());
            out.push(b',');
            out.extend_from_slice(e.category.as_str().as_bytes());
            out.push(b',');
            let txn_ids: Vec<&str> = e.pg.iter().map(|&p| rec.pg[p as usize].txn_id).collect();
            push_csv_field(out, &txn_ids.join(";"));
            out.push(b',');
            let bank_refs: Vec<String> = e.bank.iter().map(|&b| rec.bank[b as usize].bank_ref()).collect();
            push_csv_field(out, &bank_refs.join(";"));
            out.push(b',');
            push_int(out, e.amount_delta);
            out.push(b',');
            if let Some(s) = e.suggestion {
                out.extend_from_slice(format_fixed(s.score.confidence()).as_bytes());
            }
            out.push(b',');
            push_csv_field(out, &rec.reason(e));
            out.push(b'\n');
        },
    )
}

/// Writes the header and the rejects of every file, each with the file's base name.
pub fn write_rejects<'r>(
    files: impl IntoIterator<Item = (&'r str, &'r [Reject])>,
    w: &mut impl Write,
) -> io::Result<()> {
    writeln!(w, "{REJECTS_HEADER}")?;
    let mut out = Vec::new();
    for (file, rejects) in files {
        push_reject_rows(file, rejects, &mut out);
    }
    w.write_all(&out)
}

/// The rows of `rejects.csv` for one file's rejects, without the header (for writers that add
/// rows as they come).
pub fn push_reject_rows(file: &str, rejects: &[Reject], out: &mut Vec<u8>) {
    for r in rejects {
        push_csv_field(out, file);
        out.push(b',');
        push_int(out, r.line);
        out.push(b',');
        push_csv_field(out, &r.reason);
        out.push(b',');
        push_csv_field(out, &r.raw);
        out.push(b'\n');
    }
}
