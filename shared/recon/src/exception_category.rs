//! Every category an exception of a job can have: the engine's five (the seed's) and the
//! settlement step's eight (issue 11 §2). The exceptions API filters and the resolutions decide
//! on this one type.

use crate::outcome::Category;
use crate::settlement::exceptions::SettlementCategory;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExceptionCategory {
    Recon(Category),
    Settlement(SettlementCategory),
}

impl ExceptionCategory {
    pub fn all() -> impl Iterator<Item = ExceptionCategory> {
        Category::ALL
            .into_iter()
            .map(ExceptionCategory::Recon)
            .chain(SettlementCategory::ALL.into_iter().map(ExceptionCategory::Settlement))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionCategory::Recon(c) => c.as_str(),
            ExceptionCategory::Settlement(c) => c.as_str(),
        }
    }

    /// Any case, as people type them.
    pub fn parse(text: &str) -> Option<ExceptionCategory> {
        ExceptionCategory::all().find(|c| c.as_str().eq_ignore_ascii_case(text))
    }

    /// The names, for a message that lists what is accepted.
    pub fn names() -> String {
        ExceptionCategory::all().map(ExceptionCategory::as_str).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirteen_categories_each_read_back_and_no_name_is_shared() {
        let names: std::collections::BTreeSet<&str> = ExceptionCategory::all().map(ExceptionCategory::as_str).collect();
        assert_eq!(names.len(), 13);
        for c in ExceptionCategory::all() {
            assert_eq!(ExceptionCategory::parse(&c.as_str().to_lowercase()), Some(c));
        }
        assert_eq!(ExceptionCategory::parse("SETTLED"), None);
    }
}
