//! Attribute definitions and values, and the naming rules that read an
//! attribute's role from its name (which one is the title, which ones hold
//! categories, how a person reads the name). The rules live here, once, and
//! [`AttributeDef`] answers them for itself.

use serde::{Deserialize, Serialize};

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
