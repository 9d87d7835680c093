//! A row that could not be read, kept with where it was and why.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reject {
    /// 1-based physical line number.
    pub line: u32,
    pub reason: String,
    /// The line as it was in the file (invalid UTF-8 replaced).
    pub raw: String,
}
