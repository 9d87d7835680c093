//! The run's CSV reports: matches, exceptions and rejects, written in canonical order.

use crate::config::format_fixed;
use crate::outcome::Reconciliation;
use crate::reject::Reject;
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

pub fn write_matches(rec: &Reconciliation<'_>, w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{MATCHES_HEADER}")?;
    let pieces: Vec<Vec<u8>> = rec
        .matches
        .par_chunks(ROWS_PER_PIECE)
        .map(|chunk| {
            let mut out = Vec::with_capacity(chunk.len() * 96);
            for m in chunk {
                let p = &rec.pg[m.pg as usize];
                let b = &rec.bank[m.bank as usize];
                push_csv_field(&mut out, p.txn_id);
                out.push(b',');
                push_csv_field(&mut out, b.file);
                out.push(b':');
                out.extend_from_slice(b.line.to_string().as_bytes());
                out.push(b',');
                if let Some(utr) = p.utr.or(b.utr) {
                    out.extend_from_slice(utr.to_string().as_bytes());
                }
                out.push(b',');
                out.extend_from_slice(p.amount.0.to_string().as_bytes());
                out.push(b',');
                out.extend_from_slice(format_fixed(m.score.confidence()).as_bytes());
                out.push(b',');
                push_csv_field(&mut out, &m.score.explain(&rec.config));
                out.push(b'\n');
            }
            out
        })
        .collect();
    for piece in pieces {
        w.write_all(&piece)?;
    }
    Ok(())
}

pub fn write_exceptions(rec: &Reconciliation<'_>, w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{EXCEPTIONS_HEADER}")?;
    let pieces: Vec<Vec<u8>> = rec
        .exceptions
        .par_chunks(ROWS_PER_PIECE)
        .map(|chunk| {
            let mut out = Vec::with_capacity(chunk.len() * 160);
            for e in chunk {
                let txn_ids: Vec<&str> = e.pg.iter().map(|&p| rec.pg[p as usize].txn_id).collect();
                let bank_refs: Vec<String> = e.bank.iter().map(|&b| rec.bank[b as usize].bank_ref()).collect();
                let confidence = e.suggestion.map(|s| format_fixed(s.score.confidence())).unwrap_or_default();
                for (i, field) in [
                    rec.exception_id(e).as_str(),
                    e.category.as_str(),
                    &txn_ids.join(";"),
                    &bank_refs.join(";"),
                    &e.amount_delta.to_string(),
                    &confidence,
                    &rec.reason(e),
                ]
                .into_iter()
                .enumerate()
                {
                    if i > 0 {
                        out.push(b',');
                    }
                    push_csv_field(&mut out, field);
                }
                out.push(b'\n');
            }
            out
        })
        .collect();
    for piece in pieces {
        w.write_all(&piece)?;
    }
    Ok(())
}

/// Writes the header and the rejects of every file, each with the file's base name.
pub fn write_rejects<'r>(files: impl IntoIterator<Item = (&'r str, &'r [Reject])>, w: &mut impl Write) -> io::Result<()> {
    writeln!(w, "{REJECTS_HEADER}")?;
    let mut out = Vec::new();
    for (file, rejects) in files {
        for r in rejects {
            push_csv_field(&mut out, file);
            out.push(b',');
            out.extend_from_slice(r.line.to_string().as_bytes());
            out.push(b',');
            push_csv_field(&mut out, &r.reason);
            out.push(b',');
            push_csv_field(&mut out, &r.raw);
            out.push(b'\n');
        }
    }
    w.write_all(&out)
}
