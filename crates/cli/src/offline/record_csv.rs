//! CSV record files ([`super::record_files`]): rows are cut from the lines
//! of the file by their quoting (a quoted field may hold line breaks),
//! split into fields by the `csv` crate, trimmed, and mapped to records by
//! the header's column names:
//!
//! - items: `id`, `title`, `text`, `image` (any case) are those fields;
//!   every other column is an attribute, whose cell becomes a JSON number
//!   when it reads as a finite number, a string otherwise, and null (a
//!   missing value) when empty;
//! - interactions: `user`, `item`, and optionally `timestamp` and `rating`
//!   (numbers; an empty cell is a missing value); no other column.

use std::collections::BTreeMap;
use std::io::Read;

use recagent_core::catalog::records::{InteractionInput, ItemInput};
use recagent_core::error::{Error, Result};

use super::record_files::Lines;

/// What a header's columns are.
#[derive(Debug)]
pub(crate) struct Header {
    columns: usize,
    kind: Columns,
}

#[derive(Debug)]
enum Columns {
    Items {
        id: usize,
        title: usize,
        text: Option<usize>,
        image: Option<usize>,
        /// `(column, attribute name)` of every other column.
        attributes: Vec<(usize, String)>,
    },
    Interactions {
        user: usize,
        item: usize,
        timestamp: Option<usize>,
        rating: Option<usize>,
    },
}

/// The names of a header, checked: none empty, none twice.
fn names(header: &[String]) -> std::result::Result<(), String> {
    for (i, name) in header.iter().enumerate() {
        if name.is_empty() {
            return Err(format!("column {} of the header has no name", i + 1));
        }
        if header[..i].iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(format!("column {name:?} appears twice in the header"));
        }
    }
    Ok(())
}

fn find(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|n| n.eq_ignore_ascii_case(name))
}

impl Header {
    /// An items header: `id` and `title` required, `text` and `image`
    /// optional, every other column an attribute.
    pub(crate) fn items(header: &[String]) -> std::result::Result<Self, String> {
        names(header)?;
        let need = |name: &str| {
            find(header, name).ok_or_else(|| {
                format!(
                    "the header has no {name:?} column (items need \"id\" and \"title\"; \
                     \"text\", \"image\" and any other column, an attribute, are optional)"
                )
            })
        };
        let (id, title) = (need("id")?, need("title")?);
        let (text, image) = (find(header, "text"), find(header, "image"));
        let attributes = header
            .iter()
            .enumerate()
            .filter(|(i, _)| ![Some(id), Some(title), text, image].contains(&Some(*i)))
            .map(|(i, name)| (i, name.clone()))
            .collect();
        Ok(Self { columns: header.len(), kind: Columns::Items { id, title, text, image, attributes } })
    }

    /// An interactions header: `user`, `item`, optional `timestamp` and `rating`.
    pub(crate) fn interactions(header: &[String]) -> std::result::Result<Self, String> {
        names(header)?;
        const KNOWN: [&str; 4] = ["user", "item", "timestamp", "rating"];
        if let Some(other) = header.iter().find(|n| !KNOWN.iter().any(|k| n.eq_ignore_ascii_case(k))) {
            return Err(format!(
                "unknown column {other:?} (interactions have \"user\", \"item\", \"timestamp\" and \"rating\")"
            ));
        }
        let need = |name: &str| {
            find(header, name).ok_or_else(|| format!("the header has no {name:?} column (interactions need \"user\" and \"item\")"))
        };
        Ok(Self {
            columns: header.len(),
            kind: Columns::Interactions {
                user: need("user")?,
                item: need("item")?,
                timestamp: find(header, "timestamp"),
                rating: find(header, "rating"),
            },
        })
    }

    /// Number of columns.
    pub(crate) fn len(&self) -> usize {
        self.columns
    }

    /// The item of one row (`fields.len() == self.len()`).
    pub(crate) fn item(&self, mut fields: Vec<String>) -> std::result::Result<ItemInput, String> {
        let Columns::Items { id, title, text, image, attributes } = &self.kind else {
            return Err("not an items header".into());
        };
        let mut take = |i: usize| fields.get_mut(i).map(std::mem::take).unwrap_or_default();
        let optional = |s: String| (!s.is_empty()).then_some(s);
        let attributes: BTreeMap<String, serde_json::Value> =
            attributes.iter().map(|(i, name)| (name.clone(), cell_value(take(*i)))).collect();
        Ok(ItemInput {
            id: take(*id),
            title: take(*title),
            text: text.map(&mut take).and_then(optional),
            image: image.map(&mut take).and_then(optional),
            attributes,
        })
    }

    /// The interaction of one row (`fields.len() == self.len()`).
    pub(crate) fn interaction(&self, mut fields: Vec<String>) -> std::result::Result<InteractionInput, String> {
        let Columns::Interactions { user, item, timestamp, rating } = &self.kind else {
            return Err("not an interactions header".into());
        };
        let mut take = |i: usize| fields.get_mut(i).map(std::mem::take).unwrap_or_default();
        let mut number = |what: &str, column: Option<usize>| -> std::result::Result<Option<f64>, String> {
            let Some(cell) = column.map(&mut take).filter(|c| !c.is_empty()) else {
                return Ok(None);
            };
            cell.parse::<f64>().map(Some).map_err(|_| format!("{what:?} {cell:?} is not a number"))
        };
        let timestamp = number("timestamp", *timestamp)?;
        let rating = number("rating", *rating)?;
        Ok(InteractionInput { user: take(*user), item: take(*item), timestamp, rating })
    }
}

/// A cell as an attribute value: empty → null, an integer or a finite
/// number → a number, anything else → a string.
pub(crate) fn cell_value(cell: String) -> serde_json::Value {
    if cell.is_empty() {
        return serde_json::Value::Null;
    }
    if let Ok(i) = cell.parse::<i64>() {
        return serde_json::Value::from(i);
    }
    match cell.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
        Some(n) => serde_json::Value::Number(n),
        None => serde_json::Value::String(cell),
    }
}

/// Where the quoting is at the end of a line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// At the start of a field.
    FieldStart,
    /// In a field that did not start with a quote (quotes are plain there).
    Plain,
    /// In a quoted field.
    Quoted,
    /// Just after a quote inside a quoted field (`""` or the closing one).
    AfterQuote,
}

impl Quoting {
    /// The state after `bytes` (one line, its `\n` included).
    fn after(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self = match (self, b) {
                (Quoting::Quoted, b'"') => Quoting::AfterQuote,
                (Quoting::Quoted, _) => Quoting::Quoted,
                (Quoting::FieldStart, b'"') | (Quoting::AfterQuote, b'"') => Quoting::Quoted,
                (_, b',' | b'\n') => Quoting::FieldStart,
                _ => Quoting::Plain,
            };
        }
        self
    }
}

/// The rows of a CSV file, each with the line it starts on.
pub(crate) struct CsvRecords<'l, 'p, R> {
    lines: &'l mut Lines<'p, R>,
    max: usize,
    line: Vec<u8>,
    row: Vec<u8>,
}

impl<'l, 'p, R: Read> CsvRecords<'l, 'p, R> {
    /// Rows of at most `max` bytes each from `lines`.
    pub(crate) fn new(lines: &'l mut Lines<'p, R>, max: usize) -> Self {
        Self { lines, max, line: Vec::new(), row: Vec::new() }
    }

    /// The next row's first line and trimmed fields; `None` at the end.
    /// Blank lines between rows are skipped.
    pub(crate) fn next(&mut self) -> Result<Option<(u64, Vec<String>)>> {
        self.row.clear();
        let mut first = None;
        let mut quote = Quoting::FieldStart;
        loop {
            let room = self.max.saturating_sub(self.row.len());
            let Some(n) = self.lines.next(&mut self.line, room).map_err(|e| self.longer(e, first))? else {
                break;
            };
            if first.is_none() && self.line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            first.get_or_insert(n);
            self.row.extend_from_slice(&self.line);
            quote = quote.after(&self.line);
            if quote != Quoting::Quoted {
                break;
            }
        }
        let Some(line) = first else { return Ok(None) };
        if quote == Quoting::Quoted {
            return Err(super::record_files::at(self.lines.path(), line, "a quoted field is never closed"));
        }
        split(&self.row).map(|fields| Some((line, fields))).map_err(|m| super::record_files::at(self.lines.path(), line, &m))
    }

    /// A line-length error inside a row of several lines is about the row.
    fn longer(&self, e: Error, first: Option<u64>) -> Error {
        match (e, first) {
            (Error::ResourceLimit(m), Some(line)) if m.contains("a record longer than") => Error::ResourceLimit(format!(
                "{}:{line}: a record longer than {} bytes (a quoted field that is never closed?)",
                self.lines.path().display(),
                self.max
            )),
            (e, _) => e,
        }
    }
}

/// The trimmed fields of one CSV row.
fn split(row: &[u8]) -> std::result::Result<Vec<String>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .buffer_capacity(row.len().clamp(64, 1 << 16))
        .from_reader(row);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(str::to_string).collect()),
        Ok(false) => Ok(Vec::new()),
        Err(e) => Err(match e.kind() {
            csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_string(),
            _ => format!("unreadable CSV row: {e}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quoting_spans_lines_only_inside_quoted_fields() {
        assert!(Quoting::FieldStart.after(b"a,\"b\nc") == Quoting::Quoted);
        assert!(Quoting::FieldStart.after(b"a,\"b \"\"x\"\"\",c\n") == Quoting::FieldStart);
        assert!(Quoting::FieldStart.after(b"a,b\"c\n") == Quoting::FieldStart, "a quote inside a plain field is plain");
        assert_eq!(split(b"1,\"a, \"\"b\"\"\" ,\"x\ny\"\r\n").unwrap(), strings(&["1", "a, \"b\"", "x\ny"]));
        // As in RFC 4180 (and the csv crate), a quote after a space is plain text.
        assert_eq!(split(b"1, \"a\"\n").unwrap(), strings(&["1", "\"a\""]));
    }

    #[test]
    fn cells_become_numbers_strings_or_null() {
        assert_eq!(cell_value("1995".into()), serde_json::json!(1995));
        assert_eq!(cell_value("2.5".into()), serde_json::json!(2.5));
        assert_eq!(cell_value("".into()), serde_json::Value::Null);
        assert_eq!(cell_value("NaN".into()), serde_json::json!("NaN"));
        assert_eq!(cell_value("inf".into()), serde_json::json!("inf"));
        assert_eq!(cell_value("red".into()), serde_json::json!("red"));
    }

    #[test]
    fn headers_need_their_columns_once() {
        let h = Header::items(&strings(&["ID", "Title", "genre", "year", "image"])).unwrap();
        let item = h.item(strings(&["7", "Heat", "crime", "1995", ""])).unwrap();
        assert_eq!((item.id.as_str(), item.title.as_str(), item.image), ("7", "Heat", None));
        assert_eq!(item.attributes["year"], serde_json::json!(1995));
        assert_eq!(item.attributes["genre"], serde_json::json!("crime"));
        assert!(Header::items(&strings(&["id", "name"])).unwrap_err().contains("\"title\""));
        assert!(Header::items(&strings(&["id", "title", "id"])).unwrap_err().contains("twice"));
        assert!(Header::items(&strings(&["id", "title", ""])).unwrap_err().contains("column 3"));
        assert!(Header::interactions(&strings(&["user", "item", "when"])).unwrap_err().contains("\"when\""));
        let h = Header::interactions(&strings(&["item", "user", "rating"])).unwrap();
        let i = h.interaction(strings(&["i1", "u1", ""])).unwrap();
        assert_eq!((i.user.as_str(), i.item.as_str(), i.rating, i.timestamp), ("u1", "i1", None, None));
        assert!(h.interaction(strings(&["i1", "u1", "five"])).unwrap_err().contains("\"rating\" \"five\""));
    }
}
