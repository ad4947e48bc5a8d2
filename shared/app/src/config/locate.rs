//! Where a configuration key's value came from, so an error can point at it: a line and
//! column of the file, an environment variable, or nowhere (the default is in effect).

use std::fmt;
use std::ops::Range;

use figment::{Figment, Metadata, Source};
use toml_edit::{ImDocument, Item, TableLike, Value};

use super::load::ENV_PREFIX;

/// The place a person goes to change a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `path:line:column`, or `path` alone when the key is not written in the file.
    File {
        path: String,
        at: Option<(usize, usize)>,
    },
    Environment(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File {
                path,
                at: Some((line, column)),
            } => write!(f, "{path}:{line}:{column}"),
            Origin::File { path, at: None } => write!(f, "{path}"),
            Origin::Environment(variable) => write!(f, "environment variable {variable}"),
        }
    }
}

/// The configuration file as read: its name (a path, or what the text was read from) and text.
#[derive(Debug, Clone)]
pub struct FileText {
    pub name: String,
    pub text: String,
}

/// Where `key` (dotted; a number is an index into an array) was set: by the environment when
/// a variable gave it, else in the file at the key's own line, else the file without a line
/// when the key is not written there (its default is in effect).
pub fn locate(figment: &Figment, file: Option<&FileText>, key: &[String]) -> Option<Origin> {
    let from_environment = (1..=key.len()).rev().find_map(|len| {
        let prefix = key[..len].join(".");
        figment.find_metadata(&prefix).filter(|m| is_environment(m))
    });
    if from_environment.is_some() {
        return Some(Origin::Environment(variable(key)));
    }
    file.map(|file| Origin::File {
        path: file.name.clone(),
        at: spans(&file.text, key).map(|(key, _)| line_and_column(&file.text, key.start)),
    })
}

/// The variable that sets `key`: `PAYOUTS_RAIL__TIMEOUT` for `rail.timeout`.
/// A misspelt section (`PAYOUTS_PLANER__PAGE_SIZE`) is reported by its section alone, so the
/// variable set is looked for by that prefix.
fn variable(key: &[String]) -> String {
    let name = format!("{ENV_PREFIX}{}", key.join("__").to_uppercase());
    let mut set: Vec<String> = std::env::vars()
        .map(|(variable, _)| variable)
        .filter(|variable| variable == &name || variable.starts_with(&format!("{name}__")))
        .collect();
    set.sort();
    set.into_iter().next().unwrap_or(name)
}

/// The value of `key` as the file writes it, when it does.
pub fn written_value(file: &FileText, key: &[String]) -> Option<String> {
    let (_, value) = spans(&file.text, key)?;
    Some(file.text.get(value)?.trim().to_string())
}

fn is_environment(metadata: &Metadata) -> bool {
    metadata.source.is_none() && metadata.name.contains("environment")
        || matches!(&metadata.source, Some(Source::Custom(name)) if name.contains("environment"))
}

/// The byte ranges of the last key of `path` in `text` and of its value (both the element's,
/// for an array element), when the file writes it.
fn spans(text: &str, path: &[String]) -> Option<(Range<usize>, Range<usize>)> {
    let document = ImDocument::parse(text).ok()?;
    let mut table: &dyn TableLike = document.as_table();
    let mut segments = path.iter().peekable();
    while let Some(segment) = segments.next() {
        let (key, item) = table.get_key_value(segment)?;
        let index = segments.peek().and_then(|next| next.parse::<usize>().ok());
        if let Some(index) = index {
            segments.next();
            let last = segments.peek().is_none();
            table = match item {
                Item::ArrayOfTables(tables) if last => return both(tables.get(index)?.span()?),
                Item::ArrayOfTables(tables) => tables.get(index)?,
                Item::Value(Value::Array(values)) if last => {
                    return both(values.get(index)?.span()?);
                }
                Item::Value(Value::Array(values)) => values.get(index)?.as_inline_table()?,
                _ => return None,
            };
            continue;
        }
        if segments.peek().is_none() {
            return Some((key.span()?, item.span()?));
        }
        table = item.as_table_like()?;
    }
    None
}

fn both(span: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
    Some((span.clone(), span))
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |line| line.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(key: &str) -> Vec<String> {
        key.split('.').map(String::from).collect()
    }

    #[test]
    fn a_key_is_found_in_tables_dotted_keys_and_arrays_of_tables() {
        let text = "[rail]\ntimeout = \"3s\"\n\n[fees.stripe]\nfixed = \"0.25\"\n\n[[commission.tiers]]\nrate = \"0.7\"\n\n[[commission.tiers]]\n  rate = \"0.8\"\n";
        let at = |key: &str| spans(text, &path(key)).map(|(k, _)| line_and_column(text, k.start));
        assert_eq!(at("rail.timeout"), Some((2, 1)));
        assert_eq!(at("fees.stripe.fixed"), Some((5, 1)));
        assert_eq!(at("commission.tiers.1.rate"), Some((11, 3)));
        assert_eq!(at("rail.kind"), None);
    }
}
