//! RecBole atomic files: `NAME.inter` (interactions) and `NAME.item` (item
//! features), tab-separated with a typed header (`name:type`).
//!
//! Columns are found by header name, in any order; unknown columns are
//! ignored in `.inter` and kept (typed) in `.item`. Types: `token`,
//! `token_seq` (space-separated tokens), `float`, `float_seq`. Ids are
//! strings. Line endings may be `\n` or `\r\n`.
//!
//! In `.inter`, `user_id` and `item_id` are required; `rating` is optional
//! (1.0 when absent) and so is `timestamp` (0.0 when absent: the split then
//! keeps file order). Any parse failure is [`Error::InvalidInput`] naming the
//! file and line; an unreadable file is [`Error::Io`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use recagent_core::error::{Error, Result};
use recagent_core::catalog::attributes::{format_float, is_title_name, label};

/// One interaction of the `.inter` file (indices into [`Dataset::users`] and [`Dataset::items`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// Index into [`Dataset::users`].
    pub user: u32,
    /// Index into [`Dataset::items`] (and row of [`Dataset::item_table`]).
    pub item: u32,
    /// The `rating` column, 1.0 when the file has none.
    pub rating: f32,
    /// The `timestamp` column, 0.0 when the file has none.
    pub timestamp: f64,
}

/// A dataset in RecBole atomic format, as read from disk.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Stem of the `.inter` file (e.g. `ml-1m`).
    pub name: String,
    /// Original user ids, in order of first appearance in `.inter`.
    pub users: Vec<String>,
    /// Original item ids: first every item of `.item` (file order), then the
    /// items of `.inter` missing from `.item` (order of first appearance).
    pub items: Vec<String>,
    /// Every interaction, in file order.
    pub interactions: Vec<Interaction>,
    /// Item features, one row per entry of [`Dataset::items`].
    pub item_table: ItemTable,
}

/// Type of an atomic-file column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// One string.
    Token,
    /// Space-separated strings.
    TokenSeq,
    /// A number.
    Float,
    /// Space-separated numbers.
    FloatSeq,
}

impl ColumnType {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "token" => Some(Self::Token),
            "token_seq" => Some(Self::TokenSeq),
            "float" => Some(Self::Float),
            "float_seq" => Some(Self::FloatSeq),
            _ => None,
        }
    }
}

/// One cell of the item table.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Empty cell, or an item absent from `.item`.
    Missing,
    /// A `token` cell.
    Token(String),
    /// A `token_seq` cell, split on spaces.
    TokenSeq(Vec<String>),
    /// A `float` cell.
    Float(f64),
    /// A `float_seq` cell.
    FloatSeq(Vec<f64>),
}

/// One feature column of the item table (`item_id` itself is not a column).
#[derive(Debug, Clone)]
pub struct Column {
    /// Header name before the colon (e.g. `movie_title`).
    pub name: String,
    /// Header type after the colon.
    pub kind: ColumnType,
    /// One value per item (indexed like [`Dataset::items`]).
    pub values: Vec<Value>,
}

/// Item features from `.item`, typed, one row per item of the dataset.
#[derive(Debug, Clone, Default)]
pub struct ItemTable {
    ids: Vec<String>,
    columns: Vec<Column>,
}

impl ItemTable {
    /// Number of rows (items).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when there are no items.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The feature columns, in file order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// `(name, type)` of every feature column, in file order.
    pub fn schema(&self) -> Vec<(&str, ColumnType)> {
        self.columns
            .iter()
            .map(|c| (c.name.as_str(), c.kind))
            .collect()
    }

    /// The column called `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The value of `column` (index into [`ItemTable::columns`]) for `item`.
    pub fn value(&self, item: u32, column: usize) -> &Value {
        &self.columns[column].values[item as usize]
    }

    /// Every `(column name, value)` of `item`, missing values included.
    pub fn row(&self, item: u32) -> Vec<(&str, &Value)> {
        self.columns
            .iter()
            .map(|c| (c.name.as_str(), &c.values[item as usize]))
            .collect()
    }

    /// Original id of `item`.
    pub fn id(&self, item: u32) -> &str {
        &self.ids[item as usize]
    }

    /// A natural description of `item` for a text encoder.
    ///
    /// Title-like columns (name containing `title` or `name`) come first,
    /// joined by spaces; then every other non-empty column as `Label: value`
    /// (e.g. `Genres: Animation, Comedy`, `Year: 1995`), sequences joined by
    /// commas, integral floats without decimals; columns named like a year
    /// come last. When no title-like column has a value, a non-numeric id
    /// (ML-1M uses titles as ids) leads. An item with no values at all is
    /// described by its id.
    pub fn item_text(&self, item: u32) -> String {
        let i = item as usize;
        let mut title = Vec::new();
        let mut rest = Vec::new();
        let mut last = Vec::new();
        for c in &self.columns {
            let text = match &c.values[i] {
                Value::Missing => continue,
                Value::Token(t) => t.trim().to_string(),
                Value::TokenSeq(ts) => ts.join(if is_title_name(&c.name) { " " } else { ", " }),
                Value::Float(x) => format_float(*x),
                Value::FloatSeq(xs) => xs
                    .iter()
                    .map(|x| format_float(*x))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            if text.is_empty() {
                continue;
            }
            if is_title_name(&c.name) {
                title.push(text);
            } else if c.name.to_ascii_lowercase().contains("year") {
                last.push(format!("{}: {text}", label(&c.name)));
            } else {
                rest.push(format!("{}: {text}", label(&c.name)));
            }
        }
        let id = &self.ids[i];
        if title.is_empty() && id.parse::<f64>().is_err() {
            title.push(id.clone());
        }
        let mut parts = Vec::new();
        if !title.is_empty() {
            parts.push(title.join(" "));
        }
        parts.extend(rest);
        parts.extend(last);
        if parts.is_empty() {
            id.clone()
        } else {
            parts.join(". ")
        }
    }
}

/// Finds `NAME.inter` (exactly one required) and `NAME.item` (optional) in
/// `dir` and reads them.
pub fn load_dir(dir: &Path) -> Result<Dataset> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?;
    let mut inter: Vec<PathBuf> = Vec::new();
    let mut item: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
            .path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("inter") => inter.push(path),
            Some("item") => item.push(path),
            _ => {}
        }
    }
    inter.sort();
    item.sort();
    let inter = match inter.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(Error::InvalidInput(format!(
                "{}: no .inter file (RecBole atomic interactions) in this directory",
                dir.display()
            )))
        }
        many => {
            return Err(Error::InvalidInput(format!(
                "{}: {} .inter files, expected exactly one",
                dir.display(),
                many.len()
            )))
        }
    };
    let stem = |p: &Path| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_string()
    };
    let name = stem(&inter);
    // Prefer NAME.item; otherwise a single .item file.
    let item = match item.iter().find(|p| stem(p) == name) {
        Some(p) => Some(p.clone()),
        None if item.len() == 1 => Some(item[0].clone()),
        None if item.is_empty() => None,
        None => {
            return Err(Error::InvalidInput(format!(
                "{}: several .item files and none called {name}.item",
                dir.display()
            )))
        }
    };
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| Error::Io(format!("{}: {e}", p.display())))
    };
    let item_text = match &item {
        Some(p) => Some((read(p)?, p.clone())),
        None => None,
    };
    let inter_text = read(&inter)?;
    parse(
        &name,
        &inter_text,
        &inter.display().to_string(),
        item_text
            .as_ref()
            .map(|(t, p)| (t.as_str(), p.display().to_string())),
    )
}

/// A parsed header: `(name, type)` per column.
fn header(line: &str, file: &str) -> Result<Vec<(String, ColumnType)>> {
    line.split('\t')
        .enumerate()
        .map(|(i, field)| {
            let field = field.trim();
            let (name, kind) = field.rsplit_once(':').ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{file}:1: header column {} {field:?} is not `name:type`",
                    i + 1
                ))
            })?;
            let kind = ColumnType::parse(kind).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{file}:1: header column {field:?} has unknown type {kind:?} (token, token_seq, float, float_seq)"
                ))
            })?;
            Ok((name.to_string(), kind))
        })
        .collect()
}

/// Non-empty data lines after the header, with their 1-based line numbers.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .skip(1)
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .filter(|(_, l)| !l.trim().is_empty())
}

fn first_line(text: &str) -> &str {
    let l = text.split('\n').next().unwrap_or("");
    l.strip_suffix('\r')
        .unwrap_or(l)
        .trim_start_matches('\u{feff}')
}

/// Interns strings to dense indices.
#[derive(Default)]
struct Interner {
    map: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn get_or_add(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.map.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.map.insert(s.to_string(), i);
        self.names.push(s.to_string());
        i
    }
}

/// Parses the contents of `.inter` and (optionally) `.item`; `inter_file` and
/// the item file name are used in error messages.
pub fn parse(
    name: &str,
    inter: &str,
    inter_file: &str,
    item: Option<(&str, String)>,
) -> Result<Dataset> {
    let mut items = Interner::default();
    let mut columns: Vec<Column> = Vec::new();
    if let Some((text, file)) = &item {
        let cols = header(first_line(text), file)?;
        let id_col = cols
            .iter()
            .position(|(n, _)| n == "item_id")
            .ok_or_else(|| {
                Error::InvalidInput(format!("{file}:1: header has no item_id column"))
            })?;
        let feature_cols: Vec<usize> = (0..cols.len()).filter(|&c| c != id_col).collect();
        columns = feature_cols
            .iter()
            .map(|&c| Column {
                name: cols[c].0.clone(),
                kind: cols[c].1,
                values: Vec::new(),
            })
            .collect();
        let mut fields: Vec<&str> = Vec::with_capacity(cols.len());
        for (line_no, line) in data_lines(text) {
            fields.clear();
            fields.extend(line.split('\t'));
            if fields.len() <= id_col {
                return Err(Error::InvalidInput(format!(
                    "{file}:{line_no}: {} fields, expected {}",
                    fields.len(),
                    cols.len()
                )));
            }
            let id = fields[id_col];
            let before = items.names.len();
            let index = items.get_or_add(id);
            if (index as usize) < before {
                return Err(Error::InvalidInput(format!(
                    "{file}:{line_no}: item id {id:?} appears twice"
                )));
            }
            for (out, &c) in columns.iter_mut().zip(&feature_cols) {
                let raw = fields.get(c).copied().unwrap_or("");
                let value = cell(raw, out.kind).ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "{file}:{line_no}: column {} is not a number: {raw:?}",
                        out.name
                    ))
                })?;
                out.values.push(value);
            }
        }
    }

    let cols = header(first_line(inter), inter_file)?;
    let find = |n: &str| cols.iter().position(|(c, _)| c == n);
    let user_col = find("user_id").ok_or_else(|| {
        Error::InvalidInput(format!("{inter_file}:1: header has no user_id column"))
    })?;
    let item_col = find("item_id").ok_or_else(|| {
        Error::InvalidInput(format!("{inter_file}:1: header has no item_id column"))
    })?;
    let rating_col = find("rating");
    let time_col = find("timestamp");
    let needed = [Some(user_col), Some(item_col), rating_col, time_col]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
    let mut users = Interner::default();
    let mut interactions = Vec::with_capacity(inter.len() / 24);
    let number = |raw: &str, what: &str, line_no: usize| -> Result<f64> {
        raw.trim().parse::<f64>().map_err(|_| {
            Error::InvalidInput(format!(
                "{inter_file}:{line_no}: {what} is not a number: {raw:?}"
            ))
        })
    };
    let mut fields: Vec<&str> = Vec::with_capacity(cols.len());
    for (line_no, line) in data_lines(inter) {
        fields.clear();
        fields.extend(line.split('\t'));
        if fields.len() <= needed {
            return Err(Error::InvalidInput(format!(
                "{inter_file}:{line_no}: {} fields, expected {}",
                fields.len(),
                cols.len()
            )));
        }
        let user = users.get_or_add(fields[user_col]);
        let item = items.get_or_add(fields[item_col]);
        let rating = match rating_col {
            Some(c) => number(fields[c], "rating", line_no)? as f32,
            None => 1.0,
        };
        let timestamp = match time_col {
            Some(c) => number(fields[c], "timestamp", line_no)?,
            None => 0.0,
        };
        interactions.push(Interaction {
            user,
            item,
            rating,
            timestamp,
        });
    }
    // Items of .inter absent from .item: empty rows.
    for c in &mut columns {
        c.values.resize(items.names.len(), Value::Missing);
    }
    Ok(Dataset {
        name: name.to_string(),
        users: users.names,
        items: items.names.clone(),
        interactions,
        item_table: ItemTable {
            ids: items.names,
            columns,
        },
    })
}

/// A typed cell; `None` when a float does not parse.
fn cell(raw: &str, kind: ColumnType) -> Option<Value> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Some(Value::Missing);
    }
    Some(match kind {
        ColumnType::Token => Value::Token(raw.to_string()),
        ColumnType::TokenSeq => Value::TokenSeq(raw.split_whitespace().map(String::from).collect()),
        ColumnType::Float => Value::Float(raw.parse().ok()?),
        ColumnType::FloatSeq => Value::FloatSeq(
            raw.split_whitespace()
                .map(|t| t.parse().ok())
                .collect::<Option<Vec<f64>>>()?,
        ),
    })
}
