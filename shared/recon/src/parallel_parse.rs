//! Parsing a file's chunks in parallel straight into one array.
//!
//! Each chunk gets a region of a pre-sized array (as many slots as it has lines), writes its rows
//! at the start of that region, and the regions are then closed up in place. Compared with one
//! vector per chunk concatenated afterwards, this never holds the rows twice, which is most of
//! the difference between 2.5× and 3× the input size at peak.

use crate::lines::chunks_at_newlines;
use rayon::prelude::*;

/// A record that knows its 1-based line, so chunk-relative numbers can be made file-relative.
pub trait Located {
    fn shift_line(&mut self, by: u32);
}

/// Number of lines `lines::lines` yields for `chunk`.
fn line_count(chunk: &[u8]) -> usize {
    let newlines = memchr::memchr_iter(b'\n', chunk).count();
    newlines + usize::from(!chunk.is_empty() && !chunk.ends_with(b"\n"))
}

/// Cuts `body` into chunks and runs `parse` on each in parallel with a region of `filler` slots
/// (one per line). `parse` numbers lines from 1 within its chunk, fills the start of its region
/// and returns how many rows it wrote plus whatever else it found. Returns the rows, numbered
/// from `first_line + 1`, and each chunk's extras with the line offset to add to them.
pub fn parse_chunks_into<'a, T, X, F>(
    body: &'a [u8],
    chunk_bytes: usize,
    first_line: u32,
    filler: T,
    parse: F,
) -> (Vec<T>, Vec<(u32, X)>, u32)
where
    T: Copy + Send + Sync + Located,
    X: Send,
    F: Fn(&'a [u8], &mut [T]) -> (usize, X) + Sync,
{
    let chunks = chunks_at_newlines(body, chunk_bytes);
    let counts: Vec<usize> = chunks.par_iter().map(|c| line_count(c)).collect();
    // Filled in parallel: the fill is the first touch of every page of the largest array.
    let mut slots = Vec::with_capacity(counts.iter().sum());
    slots.par_extend(rayon::iter::repeat_n(filler, counts.iter().sum()));
    let results: Vec<(usize, X)> = {
        let mut regions = Vec::with_capacity(chunks.len());
        let mut rest: &mut [T] = &mut slots;
        for &n in &counts {
            let (head, tail) = rest.split_at_mut(n);
            regions.push(head);
            rest = tail;
        }
        chunks.into_par_iter().zip(regions).map(|(chunk, region)| parse(chunk, region)).collect()
    };
    let (mut dst, mut src, mut offset) = (0usize, 0usize, first_line);
    let mut extras = Vec::with_capacity(results.len());
    for ((written, extra), lines) in results.into_iter().zip(counts) {
        slots.copy_within(src..src + written, dst);
        for row in &mut slots[dst..dst + written] {
            row.shift_line(offset);
        }
        extras.push((offset, extra));
        dst += written;
        src += lines;
        offset += lines as u32;
    }
    slots.truncate(dst);
    slots.shrink_to_fit();
    (slots, extras, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Row(u32, u8);

    impl Located for Row {
        fn shift_line(&mut self, by: u32) {
            self.0 += by;
        }
    }

    #[test]
    fn rows_keep_file_order_and_file_line_numbers() {
        // Keep lines starting with `k`; count the others.
        let body = b"k1\nx\nk2\n\nk3\nk4\nx\nk5";
        for chunk_bytes in 1..12 {
            let (rows, extras, last) = parse_chunks_into(body, chunk_bytes, 10, Row(0, 0), |chunk, out| {
                let mut n = 0;
                let mut skipped = 0;
                for (i, line) in crate::lines::lines(chunk).enumerate() {
                    if line.first() == Some(&b'k') {
                        out[n] = Row(i as u32 + 1, line[1]);
                        n += 1;
                    } else {
                        skipped += 1;
                    }
                }
                (n, skipped)
            });
            let got: Vec<(u32, u8)> = rows.iter().map(|r| (r.0, r.1 - b'0')).collect();
            assert_eq!(got, [(11, 1), (13, 2), (15, 3), (16, 4), (18, 5)], "chunk size {chunk_bytes}");
            assert_eq!(extras.iter().map(|(_, s)| s).sum::<i32>(), 3);
            assert_eq!(last, 18);
        }
    }
}
