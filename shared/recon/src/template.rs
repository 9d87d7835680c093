//! Normalization templates: one bank statement layout, described as data.
//!
//! The three layouts the product ships with are TOML files compiled into the binary; a new bank is
//! a new TOML file (`--template FILE`), no code.

use crate::date::{Date, DateLayout};
use serde::Deserialize;

/// A template as written in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    name: String,
    bank: String,
    delimiter: String,
    header: Vec<String>,
    date_column: String,
    date_formats: Vec<String>,
    narration_column: String,
    reference_column: Option<String>,
    credit_column: String,
    debit_column: String,
}

/// A checked template with its columns resolved to positions.
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub bank: String,
    pub delimiter: u8,
    pub header: Vec<String>,
    pub date_formats: Vec<DateLayout>,
    pub date_col: usize,
    pub narration_col: usize,
    pub reference_col: Option<usize>,
    pub credit_col: usize,
    pub debit_col: usize,
}

#[derive(Debug, thiserror::Error)]
#[error("template {source_name}: {message}")]
pub struct TemplateError {
    pub source_name: String,
    pub message: String,
}

const BUILT_IN: [(&str, &str); 3] = [
    ("hdfc.toml", include_str!("../templates/hdfc.toml")),
    ("icici.toml", include_str!("../templates/icici.toml")),
    ("axis.toml", include_str!("../templates/axis.toml")),
];

/// The templates compiled into the binary: HDFC, ICICI, AXIS.
pub fn built_in_templates() -> Vec<Template> {
    BUILT_IN.iter().map(|(name, text)| Template::from_toml(name, text).expect("built-in templates are valid")).collect()
}

impl Template {
    /// Parses and checks a template; `source_name` names it in errors.
    pub fn from_toml(source_name: &str, text: &str) -> Result<Template, TemplateError> {
        let err = |message: String| TemplateError { source_name: source_name.to_string(), message };
        let file: TemplateFile = toml::from_str(text).map_err(|e| err(e.message().to_string()))?;
        let delimiter = match file.delimiter.as_bytes() {
            [d] if !d.is_ascii_alphanumeric() && *d != b'"' => *d,
            _ => return Err(err(format!("delimiter must be one punctuation character, not `{}`", file.delimiter))),
        };
        let column = |name: &str| {
            file.header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| err(format!("column `{name}` is not in the header")))
        };
        let date_formats =
            file.date_formats.iter().map(|f| DateLayout::new(f).map_err(err)).collect::<Result<Vec<_>, _>>()?;
        if date_formats.is_empty() {
            return Err(err("date_formats is empty".into()));
        }
        Ok(Template {
            date_col: column(&file.date_column)?,
            narration_col: column(&file.narration_column)?,
            reference_col: file.reference_column.as_deref().map(column).transpose()?,
            credit_col: column(&file.credit_column)?,
            debit_col: column(&file.debit_column)?,
            name: file.name.to_ascii_lowercase(),
            bank: file.bank,
            delimiter,
            header: file.header,
            date_formats,
        })
    }

    /// How many fields a data row needs for every column the template reads.
    pub fn required_fields(&self) -> usize {
        [self.date_col, self.narration_col, self.credit_col, self.debit_col, self.reference_col.unwrap_or(0)]
            .into_iter()
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Whether split `fields` are this layout's header row. Header cells compare without case or
    /// surrounding space; trailing empty cells (a trailing delimiter) are allowed.
    pub fn is_header(&self, fields: &[&str]) -> bool {
        let mut n = fields.len();
        while n > self.header.len() && fields[n - 1].is_empty() {
            n -= 1;
        }
        n == self.header.len()
            && fields.iter().zip(&self.header).all(|(f, h)| f.trim_start_matches('\u{feff}').eq_ignore_ascii_case(h))
    }

    pub fn parse_date(&self, text: &str) -> Option<Date> {
        self.date_formats.iter().find_map(|f| f.parse(text))
    }

    /// The first of `date_formats`: the one this layout is written with.
    pub fn primary_date_format(&self) -> &DateLayout {
        &self.date_formats[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_resolve_their_columns() {
        let all = built_in_templates();
        let names: Vec<_> = all.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["hdfc", "icici", "axis"]);
        let icici = &all[1];
        assert_eq!(icici.delimiter, b'|');
        assert_eq!((icici.date_col, icici.narration_col, icici.credit_col, icici.debit_col), (1, 4, 6, 5));
        assert_eq!(icici.required_fields(), 7);
    }

    #[test]
    fn a_template_naming_a_missing_column_is_refused_with_its_name() {
        let text =
            include_str!("../templates/axis.toml").replace("credit_column = \"CR\"", "credit_column = \"Credit\"");
        let err = Template::from_toml("mybank.toml", &text).unwrap_err().to_string();
        assert!(err.contains("mybank.toml") && err.contains("`Credit`"), "{err}");
        let unknown = format!("{}\nfoo = 1\n", include_str!("../templates/axis.toml"));
        assert!(Template::from_toml("x.toml", &unknown).is_err());
    }

    #[test]
    fn header_detection_ignores_case_bom_and_trailing_empties() {
        let hdfc = &built_in_templates()[0];
        let fields: Vec<&str> =
            "\u{feff}date,NARRATION,Chq./Ref.No.,Value Dt,Withdrawal Amt.,Deposit Amt.,Closing Balance,,"
                .split(',')
                .collect();
        assert!(hdfc.is_header(&fields));
        assert!(!hdfc.is_header(&fields[..6]));
    }
}
