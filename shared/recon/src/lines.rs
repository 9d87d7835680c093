//! Physical lines of a file buffer, cut into chunks that can be parsed in parallel.

/// Cuts `bytes` into pieces of about `target` bytes, each ending just after a `\n` (or at the
/// end), so that no line spans two pieces.
pub fn chunks_at_newlines(bytes: &[u8], target: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(bytes.len() / target.max(1) + 1);
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.len() <= target {
            out.push(rest);
            break;
        }
        let cut = match memchr::memchr(b'\n', &rest[target..]) {
            Some(k) => target + k + 1,
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out
}

/// The lines of `bytes` without their `\n` or `\r\n`. A final line without a newline counts; the
/// empty piece after a final newline does not.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut rest = (!bytes.is_empty()).then_some(body);
    // memchr finds each break a vector at a time; a byte-by-byte split was a tenth of parsing.
    std::iter::from_fn(move || {
        let text = rest?;
        let line = match memchr::memchr(b'\n', text) {
            Some(at) => {
                rest = Some(&text[at + 1..]);
                &text[..at]
            }
            None => {
                rest = None;
                text
            }
        };
        Some(line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// Strips a UTF-8 byte order mark.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Whether the start of a file looks like binary data rather than text.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_handle_crlf_and_missing_final_newline() {
        let got: Vec<&[u8]> = lines(b"a\r\nb\n\nc").collect();
        assert_eq!(got, [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(lines(b"a\n").count(), 1);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n").count(), 1);
        assert_eq!(lines(b"\n\n").collect::<Vec<_>>(), [&b""[..], b""]);
        assert_eq!(lines(b"x\r\n\r\ny").collect::<Vec<_>>(), [&b"x"[..], b"", b"y"]);
    }

    #[test]
    fn chunks_cover_the_buffer_and_end_at_newlines() {
        let text = b"line one\nline two\nthree\nfour\n";
        for target in 1..text.len() + 2 {
            let chunks = chunks_at_newlines(text, target);
            assert_eq!(chunks.concat(), text);
            assert!(chunks.iter().all(|c| c.ends_with(b"\n")));
        }
    }
}
