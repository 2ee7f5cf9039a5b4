//! Attribute definitions and values, and the naming rules that read an
//! attribute's role from its name (which one is the title, which ones hold
//! categories, how a person reads the name). The rules live here, once, and
//! [`AttributeDef`] answers them for itself.

use serde::{Deserialize, Serialize};

use super::item_ref::ValueRef;

/// The type of an item attribute the app (or the dataset) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    /// One string (a title, a brand, a genre string).
    Text,
    /// A set of strings (genres, categories).
    Tags,
    /// A number (year, price, rating).
    Number,
}

/// One declared attribute: its name and kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeDef {
    /// Attribute name, e.g. `genre`, `release_year`.
    pub name: String,
    /// What its values are.
    pub kind: AttributeKind,
}

/// The value of one attribute for one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// No value.
    Missing,
    /// A number.
    Number(f64),
    /// A string.
    Text(String),
    /// A set of strings.
    Tags(Vec<String>),
}

impl AttributeDef {
    /// Whether this attribute holds the item's title ([`is_title_name`]).
    pub fn is_title(&self) -> bool {
        is_title_name(&self.name)
    }

    /// Whether this attribute holds categories ([`is_category_name`]).
    pub fn is_category(&self) -> bool {
        is_category_name(&self.name)
    }

    /// The human label of this attribute ([`label`]).
    pub fn label(&self) -> String {
        label(&self.name)
    }
}

/// Human label of an attribute name (`genre` → `Genres`, `release_year` → `Year`).
pub fn label(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    match n.as_str() {
        "genre" | "genres" | "class" => return "Genres".into(),
        "category" | "categories" => return "Categories".into(),
        _ => {}
    }
    if n.contains("year") {
        return "Year".into();
    }
    let spaced = name.replace('_', " ");
    let mut chars = spaced.trim().chars();
    match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A number as an item text shows it: integral values without decimals.
pub fn format_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// Whether an attribute name says it holds the title (`movie_title`, `name`).
pub fn is_title_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("title") || n.contains("name")
}

/// Whether an attribute name says it holds categories (`genre`, `class`,
/// `category`, `tags`, `type`, `style`, `topic`).
pub fn is_category_name(name: &str) -> bool {
    let n = name.to_lowercase();
    ["genre", "class", "categor", "tag", "type", "style", "topic"]
        .iter()
        .any(|k| n.contains(k))
}

/// The text an item is embedded from, in the form the catalog builders give
/// items (`recagent build-catalog` on a dataset, items added at run time):
/// the title, the description, then every other attribute as
/// `Label: value` (tags joined by commas), year-like attributes last —
/// e.g. `My espresso machine. Chrome, two cups. Genres: Kitchen. Year: 2024`.
/// Title attributes are skipped (the title is already first).
pub fn describe_item<'a, V>(attributes: &[AttributeDef], title: &str, description: Option<&str>, values: V) -> String
where
    V: IntoIterator<Item = ValueRef<'a>>,
    V::IntoIter: Clone,
{
    let mut out = String::new();
    TextForms::new(attributes).describe_into(&mut out, title, description, values);
    out
}

/// The text an item built from records is embedded from (`recagent
/// build-catalog --items`, `Recommender.create({ items })`): its title, its
/// description, then `Label: value` for every attribute that has one
/// (numbers included), joined with `". "` (only a space after a part that
/// already ends a sentence with `.`, `!` or `?`).
pub fn record_text<'a>(
    attributes: &[AttributeDef],
    title: &str,
    description: Option<&str>,
    values: impl IntoIterator<Item = ValueRef<'a>>,
) -> String {
    let mut out = String::new();
    TextForms::new(attributes).record_into(&mut out, title, description, values);
    out
}

/// The item text forms of [`describe_item`] and [`record_text`] for one
/// catalog's attributes, with each attribute's label worked out once, written
/// into a caller's buffer (a catalog checks every item's text against them
/// when it loads).
#[derive(Debug, Clone)]
pub(crate) struct TextForms {
    /// Per attribute: its label, whether it is a title, whether year-like.
    attributes: Vec<(String, bool, bool)>,
}

impl TextForms {
    pub(crate) fn new(attributes: &[AttributeDef]) -> Self {
        let attributes =
            attributes.iter().map(|d| (d.label(), d.is_title(), d.name.to_ascii_lowercase().contains("year"))).collect();
        Self { attributes }
    }

    /// Writes the [`describe_item`] form into `out` (cleared first).
    pub(crate) fn describe_into<'a, V>(&self, out: &mut String, title: &str, description: Option<&str>, values: V)
    where
        V: IntoIterator<Item = ValueRef<'a>>,
        V::IntoIter: Clone,
    {
        out.clear();
        let values = values.into_iter();
        let part = |out: &mut String, text: &str| {
            if !text.is_empty() {
                if !out.is_empty() {
                    out.push_str(". ");
                }
                out.push_str(text);
            }
        };
        part(out, title.trim());
        if let Some(d) = description {
            part(out, d.trim());
        }
        for years in [false, true] {
            for ((label, is_title, is_year), value) in self.attributes.iter().zip(values.clone()) {
                if *is_title || *is_year != years || value.is_missing() {
                    continue;
                }
                if !out.is_empty() {
                    out.push_str(". ");
                }
                write_line(out, label, value);
            }
        }
    }

    /// Writes the [`record_text`] form into `out` (cleared first).
    pub(crate) fn record_into<'a>(
        &self,
        out: &mut String,
        title: &str,
        description: Option<&str>,
        values: impl IntoIterator<Item = ValueRef<'a>>,
    ) {
        out.clear();
        out.push_str(title.trim());
        let sep = |out: &mut String| {
            if !out.is_empty() {
                out.push_str(if out.ends_with(['.', '!', '?']) { " " } else { ". " });
            }
        };
        if let Some(d) = description.map(str::trim).filter(|d| !d.is_empty()) {
            sep(out);
            out.push_str(d);
        }
        for ((label, _, _), value) in self.attributes.iter().zip(values) {
            if value.is_missing() {
                continue;
            }
            sep(out);
            write_line(out, label, value);
        }
    }
}

/// `Label: value` (a number as [`format_float`] shows it, tags joined by
/// commas).
fn write_line(out: &mut String, label: &str, value: ValueRef<'_>) {
    use std::fmt::Write;
    out.push_str(label);
    out.push_str(": ");
    match value {
        ValueRef::Missing => {}
        ValueRef::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => {
            let _ = write!(out, "{}", x as i64);
        }
        ValueRef::Number(x) => {
            let _ = write!(out, "{x}");
        }
        ValueRef::Text(t) => out.push_str(t),
        ValueRef::Tags(t) => {
            for (i, tag) in t.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(tag);
            }
        }
    }
}

/// Splits a text value into lower-case words (letters, digits, `-`, `'`).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}
