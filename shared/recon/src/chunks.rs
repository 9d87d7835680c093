//! Cutting a large file into byte ranges that start on a line, so that parts of it can be read
//! and normalized in parallel (S3 ranged reads) with the line numbers of the whole file. Planned
//! while the file streams by once (the pass that hashes it), holding nothing but the cut points.

/// One part of a file: bytes `[start, end)`, whose first line is line `first_line` of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkSpan {
    pub start: u64,
    pub end: u64,
    pub first_line: u32,
}

/// Cuts at the first line break at or after every `size` bytes since the last cut.
#[derive(Debug)]
pub struct ChunkPlanner {
    size: u64,
    /// Bytes seen so far.
    offset: u64,
    /// Line breaks seen so far.
    breaks: u64,
    /// Where the next cut may start looking for a line break.
    target: u64,
    /// `(offset after the break, lines before it)` of each cut.
    cuts: Vec<(u64, u64)>,
}

impl ChunkPlanner {
    pub fn new(size: u64) -> ChunkPlanner {
        let size = size.max(1);
        ChunkPlanner { size, offset: 0, breaks: 0, target: size, cuts: Vec::new() }
    }

    pub fn push(&mut self, block: &[u8]) {
        let base = self.offset;
        let mut i = 0usize;
        while i < block.len() {
            let here = base + i as u64;
            if here < self.target {
                let upto = block.len().min((self.target - base) as usize);
                self.breaks += memchr::memchr_iter(b'\n', &block[i..upto]).count() as u64;
                i = upto;
                continue;
            }
            match memchr::memchr(b'\n', &block[i..]) {
                Some(p) => {
                    self.breaks += 1;
                    let cut = here + p as u64 + 1;
                    self.cuts.push((cut, self.breaks));
                    self.target = cut + self.size;
                    i += p + 1;
                }
                None => i = block.len(),
            }
        }
        self.offset += block.len() as u64;
    }

    /// The spans of the whole file (one when it is smaller than the chunk size).
    pub fn finish(self) -> Vec<ChunkSpan> {
        let total = self.offset;
        let mut spans = Vec::with_capacity(self.cuts.len() + 1);
        let (mut start, mut first_line) = (0u64, 1u64);
        for (cut, lines_before) in self.cuts {
            if cut >= total {
                break;
            }
            spans.push(ChunkSpan { start, end: cut, first_line: line(first_line) });
            (start, first_line) = (cut, lines_before + 1);
        }
        spans.push(ChunkSpan { start, end: total, first_line: line(first_line) });
        spans
    }
}

/// Line numbers are `u32` everywhere (files are capped well below 4 billion lines).
fn line(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plan(text: &[u8], size: u64, block: usize) -> Vec<ChunkSpan> {
        let mut p = ChunkPlanner::new(size);
        for b in text.chunks(block.max(1)) {
            p.push(b);
        }
        p.finish()
    }

    #[test]
    fn cuts_fall_after_line_breaks_and_number_the_lines() {
        let text = b"h\naaaa\nbbbb\ncc\ndddd\n";
        let spans = plan(text, 5, 3);
        assert_eq!(
            spans,
            vec![
                ChunkSpan { start: 0, end: 7, first_line: 1 },
                ChunkSpan { start: 7, end: 15, first_line: 3 },
                ChunkSpan { start: 15, end: 20, first_line: 5 },
            ]
        );
        assert_eq!(plan(text, 1_000, 4), vec![ChunkSpan { start: 0, end: 20, first_line: 1 }]);
        assert_eq!(plan(b"", 5, 1), vec![ChunkSpan { start: 0, end: 0, first_line: 1 }]);
        assert_eq!(plan(b"no break at all", 3, 2), vec![ChunkSpan { start: 0, end: 15, first_line: 1 }]);
    }

    proptest! {
        #[test]
        fn spans_cover_the_file_start_on_lines_and_know_their_line(
            lines in proptest::collection::vec("[a-z]{0,12}", 0..60),
            trailing in any::<bool>(),
            size in 1u64..40,
            block in 1usize..17,
        ) {
            let mut text = lines.join("\n");
            if trailing { text.push('\n'); }
            let bytes = text.as_bytes();
            let spans = plan(bytes, size, block);
            prop_assert_eq!(spans.first().map(|s| s.start), Some(0));
            prop_assert_eq!(spans.last().map(|s| s.end), Some(bytes.len() as u64));
            for w in spans.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
                prop_assert!(w[0].start < w[0].end);
            }
            for s in &spans {
                if s.start > 0 {
                    prop_assert_eq!(bytes[s.start as usize - 1], b'\n', "a span starts on a line");
                }
                let before = bytes[..s.start as usize].iter().filter(|&&b| b == b'\n').count() as u32;
                prop_assert_eq!(s.first_line, before + 1);
            }
        }
    }
}
