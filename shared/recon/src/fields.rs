//! Splitting one physical line of a delimited file into fields.
//!
//! Statement files put one record per line, so lines are found first (in parallel) and each is
//! split here. Fields may be quoted to hold the delimiter (`"1,23,456.78"`); a doubled quote inside
//! a quoted field stands for one quote and is kept doubled in the returned slice, which only
//! narrations can contain and only substring search reads.

/// Splits `line` on `delim` into `out` (cleared first), trimming spaces and outer quotes.
/// Returns `false` when a quoted field is not closed.
pub fn split_fields<'a>(line: &'a str, delim: u8, out: &mut Vec<&'a str>) -> bool {
    out.clear();
    let b = line.as_bytes();
    // Fast path: no quote anywhere, a plain split.
    if memchr::memchr(b'"', b).is_none() {
        let mut start = 0;
        for at in memchr::memchr_iter(delim, b) {
            out.push(line[start..at].trim());
            start = at + 1;
        }
        out.push(line[start..].trim());
        return true;
    }
    let mut i = 0;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i < b.len() && b[i] == b'"' {
            let start = i + 1;
            let mut j = start;
            loop {
                match memchr::memchr(b'"', &b[j..]) {
                    None => return false,
                    Some(k) => {
                        j += k;
                        if b.get(j + 1) == Some(&b'"') {
                            j += 2;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(line[start..j].trim());
            i = j + 1;
            // Anything between the closing quote and the delimiter is ignored, as spreadsheets do.
            match memchr::memchr(delim, &b[i..]) {
                Some(k) => i += k + 1,
                None => return true,
            }
        } else {
            match memchr::memchr(delim, &b[i..]) {
                Some(k) => {
                    out.push(line[i..i + k].trim());
                    i += k + 1;
                }
                None => {
                    out.push(line[i..].trim());
                    return true;
                }
            }
        }
        if i == b.len() {
            // A trailing delimiter means one more, empty, field.
            out.push("");
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str, delim: u8) -> Option<Vec<&str>> {
        let mut out = Vec::new();
        split_fields(line, delim, &mut out).then_some(out)
    }

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(split("a, b ,c", b','), Some(vec!["a", "b", "c"]));
        assert_eq!(split("a,,c,", b','), Some(vec!["a", "", "c", ""]));
        assert_eq!(
            split(r#"01/10/26,"ACME, PVT LTD","1,23,456.78",x"#, b','),
            Some(vec!["01/10/26", "ACME, PVT LTD", "1,23,456.78", "x"])
        );
        assert_eq!(split(r#""a""b",c"#, b','), Some(vec![r#"a""b"#, "c"]));
        assert_eq!(split(r#"a,"b","#, b','), Some(vec!["a", "b", ""]));
        assert_eq!(split(r#"1|"x|y"|3"#, b'|'), Some(vec!["1", "x|y", "3"]));
        assert_eq!(split(r#"a,"unclosed"#, b','), None);
    }
}
