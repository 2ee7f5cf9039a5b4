//! An app's items and interactions read from files, for `recagent
//! build-catalog --items FILE [--interactions FILE]`: the records of
//! [`recagent_core::catalog::records`], each with the line it starts on.
//!
//! The format is told by the extension: `.jsonl` / `.ndjson` are JSON
//! Lines (one object per line, blank lines ignored), `.csv` is CSV with a
//! header row (RFC 4180 quoting; a quoted field may hold line breaks; cells
//! are trimmed; blank lines are ignored):
//!
//! - items: the columns `id`, `title`, `text`, `image` (any case) are those
//!   fields; every other column is an attribute, whose cell becomes a JSON
//!   number when it reads as a finite number, a string otherwise, and null
//!   (a missing value) when empty;
//! - interactions: `user`, `item`, and optionally `timestamp` and `rating`
//!   (numbers; an empty cell is a missing value); no other column.
//!
//! Files
//! are read line by line within a byte budget ([`Limits`]): a file over its
//! size, a record over its size or one record too many is refused at the
//! line where it happens, before it is kept. Every error about a record
//! names the file and the 1-based line: `items.csv:17: "title" is empty`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use recagent_core::catalog::records::{InteractionInput, ItemInput, RecordError, MAX_ITEMS};
use recagent_core::error::{Error, Result};
use serde::de::DeserializeOwned;

use super::record_csv::{CsvRecords, Header};

/// Largest file read (4 GiB).
pub const MAX_FILE_BYTES: u64 = 4 << 30;
/// Longest record (one JSON line, one CSV row with its quoted line breaks): 4 MiB.
pub const MAX_RECORD_BYTES: usize = 4 << 20;
/// Most interactions one file may hold.
pub const MAX_INTERACTIONS: usize = 50_000_000;

/// A record file's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.jsonl` or `.ndjson`: one JSON object per line.
    JsonLines,
    /// `.csv`: a header row, then one record per row.
    Csv,
}

impl Format {
    /// The extensions [`Format::of`] accepts, as the error message lists them.
    pub const ACCEPTED: &'static str = ".jsonl or .ndjson (JSON Lines) and .csv (CSV with a header row)";

    /// The format of `path` by its extension (any case); another extension,
    /// or none, is [`Error::InvalidInput`] naming the file and listing
    /// [`Format::ACCEPTED`].
    pub fn of(path: &Path) -> Result<Self> {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("jsonl" | "ndjson") => Ok(Format::JsonLines),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(Error::InvalidInput(format!(
                "{}: unknown file type .{other}; the accepted ones are {}",
                path.display(),
                Format::ACCEPTED
            ))),
            None => Err(Error::InvalidInput(format!(
                "{}: no file extension; the accepted ones are {}",
                path.display(),
                Format::ACCEPTED
            ))),
        }
    }
}

/// The budget a record file is read within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes in the file.
    pub file_bytes: u64,
    /// Most bytes in one record (line breaks included).
    pub record_bytes: usize,
    /// Most records.
    pub records: usize,
}

impl Limits {
    /// For items: [`MAX_FILE_BYTES`], [`MAX_RECORD_BYTES`], [`MAX_ITEMS`].
    pub const ITEMS: Limits = Limits {
        file_bytes: MAX_FILE_BYTES,
        record_bytes: MAX_RECORD_BYTES,
        records: MAX_ITEMS,
    };
    /// For interactions: [`MAX_FILE_BYTES`], [`MAX_RECORD_BYTES`], [`MAX_INTERACTIONS`].
    pub const INTERACTIONS: Limits = Limits {
        file_bytes: MAX_FILE_BYTES,
        record_bytes: MAX_RECORD_BYTES,
        records: MAX_INTERACTIONS,
    };
}

/// The records of one file, in file order, with the line each starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordFile<T> {
    /// The file, as given.
    pub path: PathBuf,
    /// The records.
    pub records: Vec<T>,
    /// The 1-based line each record starts on (same length as `records`).
    pub lines: Vec<u64>,
}

impl<T> RecordFile<T> {
    /// `path:line: message` for an error about record `index` (`path:
    /// message` when the index is not a record's), as
    /// [`Error::InvalidInput`].
    pub fn error_at(&self, index: usize, message: &str) -> Error {
        match self.lines.get(index) {
            Some(line) => at(&self.path, *line, message),
            None => Error::InvalidInput(format!("{}: {message}", self.path.display())),
        }
    }

    /// [`RecordFile::error_at`] for a [`RecordError`] of this file's records.
    pub fn record_error(&self, e: &RecordError) -> Error {
        self.error_at(e.index, &e.message)
    }
}

/// `path:line: message` as [`Error::InvalidInput`].
pub(crate) fn at(path: &Path, line: u64, message: &str) -> Error {
    Error::InvalidInput(format!("{}:{line}: {message}", path.display()))
}

/// Reads the items of `path` (JSON Lines objects `{"id", "title",
/// "text"?, "attributes"?, "image"?}`, or CSV). Errors: an unknown
/// extension, an unreadable file ([`Error::Io`]), a file or record over
/// `limits` ([`Error::ResourceLimit`]), a malformed record
/// ([`Error::InvalidInput`] naming the file and line). The records are not
/// checked further here: see [`recagent_core::catalog::records::items_from_records`].
pub fn read_items(path: &Path, limits: &Limits) -> Result<RecordFile<ItemInput>> {
    read_records(path, limits, Header::items, |h, fields| h.item(fields))
}

/// Reads the interactions of `path` (JSON Lines objects `{"user", "item",
/// "timestamp"?, "rating"?}`, or CSV with those columns), with the errors
/// of [`read_items`].
pub fn read_interactions(path: &Path, limits: &Limits) -> Result<RecordFile<InteractionInput>> {
    read_records(path, limits, Header::interactions, |h, fields| h.interaction(fields))
}

fn read_records<T: DeserializeOwned>(
    path: &Path,
    limits: &Limits,
    header: fn(&[String]) -> std::result::Result<Header, String>,
    row: fn(&Header, Vec<String>) -> std::result::Result<T, String>,
) -> Result<RecordFile<T>> {
    let format = Format::of(path)?;
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > limits.file_bytes {
        return Err(Error::ResourceLimit(format!(
            "{}: {size} bytes, more than the {} a record file may have",
            path.display(),
            limits.file_bytes
        )));
    }
    let mut lines = Lines::new(path, file, limits);
    let mut out = RecordFile { path: path.to_path_buf(), records: Vec::new(), lines: Vec::new() };
    let push = |out: &mut RecordFile<T>, record: T, line: u64| -> Result<()> {
        if out.records.len() >= limits.records {
            return Err(Error::ResourceLimit(format!(
                "{}:{line}: more than {} records, the most a file may hold",
                path.display(),
                limits.records
            )));
        }
        out.records.push(record);
        out.lines.push(line);
        Ok(())
    };
    match format {
        Format::JsonLines => {
            let mut buf = Vec::new();
            while let Some(line) = lines.next(&mut buf, limits.record_bytes)? {
                let text = trim_ascii(&buf);
                if text.is_empty() {
                    continue;
                }
                let record = serde_json::from_slice::<T>(text).map_err(|e| at(path, line, &json_error(&e)))?;
                push(&mut out, record, line)?;
            }
        }
        Format::Csv => {
            let mut rows = CsvRecords::new(&mut lines, limits.record_bytes);
            let Some((line, names)) = rows.next()? else {
                return Ok(out);
            };
            let header = header(&names).map_err(|m| at(path, line, &m))?;
            while let Some((line, fields)) = rows.next()? {
                if fields.len() != header.len() {
                    return Err(at(
                        path,
                        line,
                        &format!("{} fields, the header has {}", fields.len(), header.len()),
                    ));
                }
                let record = row(&header, fields).map_err(|m| at(path, line, &m))?;
                push(&mut out, record, line)?;
            }
        }
    }
    Ok(out)
}

/// A JSON error in words, without serde_json's `at line 1` (the caller
/// names the line).
fn json_error(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("invalid JSON: {message} (column {})", e.column())
        }
        _ => message.to_string(),
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    bytes.get(start..end).unwrap_or_default()
}

/// The lines of a file, each read within a byte limit, the whole within
/// the file budget; the UTF-8 byte-order mark of the first line is dropped.
pub(crate) struct Lines<'a, R> {
    path: &'a Path,
    reader: BufReader<R>,
    /// Line number of the last line read (1-based).
    line: u64,
    /// Bytes read so far.
    read: u64,
    file_bytes: u64,
}

impl<'a, R: Read> Lines<'a, R> {
    fn new(path: &'a Path, inner: R, limits: &Limits) -> Self {
        Self { path, reader: BufReader::new(inner), line: 0, read: 0, file_bytes: limits.file_bytes }
    }

    /// The file's path, for errors.
    pub(crate) fn path(&self) -> &Path {
        self.path
    }

    /// Reads the next line (its `\n` included) into `buf`, replacing what
    /// it held, and returns its 1-based number; `None` at the end of the
    /// file. A line longer than `max` bytes is [`Error::ResourceLimit`].
    pub(crate) fn next(&mut self, buf: &mut Vec<u8>, max: usize) -> Result<Option<u64>> {
        buf.clear();
        let cap = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
        let n = (&mut self.reader)
            .take(cap)
            .read_until(b'\n', buf)
            .map_err(|e| Error::Io(format!("{}: {e}", self.path.display())))?;
        if n == 0 {
            return Ok(None);
        }
        self.line = self.line.saturating_add(1);
        self.read = self.read.saturating_add(n as u64);
        if self.read > self.file_bytes {
            return Err(Error::ResourceLimit(format!(
                "{}:{}: the file goes past the {} bytes a record file may have",
                self.path.display(),
                self.line,
                self.file_bytes
            )));
        }
        if n > max {
            return Err(Error::ResourceLimit(format!(
                "{}:{}: a record longer than {max} bytes",
                self.path.display(),
                self.line
            )));
        }
        if self.line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
            buf.drain(..3);
        }
        Ok(Some(self.line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_come_from_the_extension() {
        assert_eq!(Format::of(Path::new("a/items.JSONL")).unwrap(), Format::JsonLines);
        assert_eq!(Format::of(Path::new("x.ndjson")).unwrap(), Format::JsonLines);
        assert_eq!(Format::of(Path::new("x.csv")).unwrap(), Format::Csv);
        for bad in ["x.json", "x.tsv", "x"] {
            let e = Format::of(Path::new(bad)).unwrap_err();
            assert_eq!(e.code(), "invalid_input");
            assert!(e.to_string().contains(".jsonl") && e.to_string().contains(".csv"), "{e}");
        }
    }

    #[test]
    fn json_errors_name_the_column_not_line_one() {
        let e = serde_json::from_str::<ItemInput>("{\"id\": 1,").unwrap_err();
        let m = json_error(&e);
        assert!(m.starts_with("invalid JSON: ") && !m.contains("line 1"), "{m}");
        let e = serde_json::from_str::<ItemInput>("{\"id\": 1}").unwrap_err();
        assert_eq!(json_error(&e), "missing field `title`");
    }

    #[test]
    fn lines_stop_at_the_budgets() {
        let limits = Limits { file_bytes: 10, record_bytes: 6, records: 9 };
        let path = Path::new("f.jsonl");
        let roomy = Limits { file_bytes: 100, ..limits };
        let mut lines = Lines::new(path, "\u{feff}ab\ncdefgh\n".as_bytes(), &roomy);
        let mut buf = Vec::new();
        assert_eq!(lines.next(&mut buf, 6).unwrap(), Some(1));
        assert_eq!(buf, b"ab\n", "the byte-order mark is dropped");
        let e = lines.next(&mut buf, 6).unwrap_err();
        assert_eq!(e.code(), "resource_limit");
        assert!(e.to_string().contains("f.jsonl:2: a record longer than 6 bytes"), "{e}");
        let mut lines = Lines::new(path, "abc\nabc\nabc\n".as_bytes(), &limits);
        assert!(lines.next(&mut buf, 6).unwrap().is_some());
        assert!(lines.next(&mut buf, 6).unwrap().is_some());
        let e = lines.next(&mut buf, 6).unwrap_err();
        assert_eq!(e.code(), "resource_limit");
        assert!(e.to_string().contains("f.jsonl:3: the file goes past the 10 bytes"), "{e}");
    }
}
