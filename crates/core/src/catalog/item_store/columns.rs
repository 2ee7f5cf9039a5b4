//! The parts of the item store that hold values: the interner (each
//! distinct tag or text value once, named by a `u32` symbol) and the
//! attribute columns.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder as RandomState, HashTable};

use super::{to_u32, too_large, NONE};
use crate::catalog::item_ref::{TagsRef, ValueRef};
use crate::catalog::{AttributeKind, AttributeValue};
use crate::error::Result;

/// The string of `symbol` in `text` (empty for an unknown symbol).
fn span_text<'a>(text: &'a str, spans: &[(u32, u32)], symbol: u32) -> &'a str {
    let Some(&(start, len)) = spans.get(symbol as usize) else { return "" };
    let start = start as usize;
    start.checked_add(len as usize).and_then(|end| text.get(start..end)).unwrap_or("")
}

/// Strings stored once each, named by a `u32` symbol.
#[derive(Debug, Clone, Default)]
pub(in crate::catalog) struct Interner {
    text: String,
    /// (start, length) of every symbol in `text`.
    spans: Vec<(u32, u32)>,
    table: HashTable<u32>,
    hasher: RandomState,
}

impl Interner {
    /// The string of `symbol` (empty for a symbol this interner never made).
    pub(in crate::catalog) fn get(&self, symbol: u32) -> &str {
        span_text(&self.text, &self.spans, symbol)
    }

    pub(super) fn intern(&mut self, s: &str) -> Result<u32> {
        let hash = self.hasher.hash_one(s);
        let Self { text, spans, table, hasher } = self;
        let get = |sym: u32| span_text(text, spans, sym);
        if let Some(&sym) = table.find(hash, |&sym| get(sym) == s) {
            return Ok(sym);
        }
        let sym = to_u32(spans.len(), "tag and text values")?;
        if sym == NONE {
            return Err(too_large("tag and text values"));
        }
        // Every check before the first change: a refused value leaves the interner as it was.
        let start = to_u32(text.len(), "tag and text values")?;
        let len = to_u32(s.len(), "tag and text values")?;
        start.checked_add(len).ok_or_else(|| too_large("tag and text values"))?;
        spans.push((start, len));
        text.push_str(s);
        let (text, spans) = (&*text, &*spans);
        table.insert_unique(hash, sym, |&k| hasher.hash_one(span_text(text, spans, k)));
        Ok(sym)
    }

    pub(super) fn memory_bytes(&self) -> usize {
        self.text.capacity() + self.spans.capacity() * 8 + self.table.capacity() * 5
    }

    pub(super) fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.spans.shrink_to_fit();
    }
}

/// A list of tags: a slice of an owned value, or symbols of an interner.
#[derive(Debug, Clone, Copy)]
pub(in crate::catalog) enum TagList<'a> {
    Owned(&'a [String]),
    Interned { symbols: &'a [u32], interner: &'a Interner },
}

/// The values of one attribute, one per item.
#[derive(Debug, Clone)]
pub(super) enum Column {
    /// A number attribute: `NaN` is a missing value.
    Numbers(Vec<f64>),
    /// A text attribute: interned symbols, [`NONE`] for missing.
    Texts(Vec<u32>),
    /// A tags attribute: item `i`'s tags are `symbols[ends[i-1]..ends[i]]`.
    Tags { ends: Vec<u32>, symbols: Vec<u32>, missing: Vec<bool> },
    /// Values that do not fit the attribute's kind, kept as given.
    Mixed(Vec<AttributeValue>),
}

impl Column {
    pub(super) fn new(kind: AttributeKind) -> Self {
        match kind {
            AttributeKind::Number => Column::Numbers(Vec::new()),
            AttributeKind::Text => Column::Texts(Vec::new()),
            AttributeKind::Tags => Column::Tags { ends: Vec::new(), symbols: Vec::new(), missing: Vec::new() },
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Column::Numbers(v) => v.len(),
            Column::Texts(v) => v.len(),
            Column::Tags { ends, .. } => ends.len(),
            Column::Mixed(v) => v.len(),
        }
    }

    pub(super) fn get<'a>(&'a self, i: usize, interner: &'a Interner) -> Option<ValueRef<'a>> {
        Some(match self {
            Column::Numbers(v) => match *v.get(i)? {
                x if x.is_nan() => ValueRef::Missing,
                x => ValueRef::Number(x),
            },
            Column::Texts(v) => match *v.get(i)? {
                NONE => ValueRef::Missing,
                s => ValueRef::Text(interner.get(s)),
            },
            Column::Tags { ends, symbols, missing } => {
                if *missing.get(i)? {
                    return Some(ValueRef::Missing);
                }
                let start = if i == 0 { 0 } else { *ends.get(i - 1)? as usize };
                let symbols = symbols.get(start..*ends.get(i)? as usize)?;
                ValueRef::Tags(TagsRef { list: TagList::Interned { symbols, interner } })
            }
            Column::Mixed(v) => v.get(i)?.as_ref(),
        })
    }

    /// Appends `value`; a value the column's kind cannot hold turns the
    /// column into [`Column::Mixed`] first.
    pub(super) fn push(&mut self, value: AttributeValue, interner: &mut Interner) -> Result<()> {
        match (&mut *self, value) {
            (Column::Numbers(v), AttributeValue::Number(x)) if !x.is_nan() => v.push(x),
            (Column::Numbers(v), AttributeValue::Missing) => v.push(f64::NAN),
            (Column::Texts(v), AttributeValue::Text(t)) => v.push(interner.intern(&t)?),
            (Column::Texts(v), AttributeValue::Missing) => v.push(NONE),
            (Column::Tags { ends, symbols, missing }, AttributeValue::Tags(tags)) => {
                for t in &tags {
                    symbols.push(interner.intern(t)?);
                }
                ends.push(to_u32(symbols.len(), "tags")?);
                missing.push(false);
            }
            (Column::Tags { ends, symbols, missing }, AttributeValue::Missing) => {
                ends.push(to_u32(symbols.len(), "tags")?);
                missing.push(true);
            }
            (Column::Mixed(v), value) => v.push(value),
            (column, value) => {
                let mut kept: Vec<AttributeValue> = Vec::with_capacity(column.len() + 1);
                for i in 0..column.len() {
                    kept.push(column.get(i, interner).map_or(AttributeValue::Missing, |v| v.to_owned()));
                }
                kept.push(value);
                *column = Column::Mixed(kept);
            }
        }
        Ok(())
    }

    pub(super) fn truncate(&mut self, len: usize) {
        match self {
            Column::Numbers(v) => v.truncate(len),
            Column::Texts(v) => v.truncate(len),
            Column::Tags { ends, symbols, missing } => {
                let keep = len.checked_sub(1).and_then(|l| ends.get(l)).map_or(0, |&e| e as usize);
                symbols.truncate(keep);
                ends.truncate(len);
                missing.truncate(len);
            }
            Column::Mixed(v) => v.truncate(len),
        }
    }

    pub(super) fn shrink_to_fit(&mut self) {
        match self {
            Column::Numbers(v) => v.shrink_to_fit(),
            Column::Texts(v) => v.shrink_to_fit(),
            Column::Tags { ends, symbols, missing } => {
                ends.shrink_to_fit();
                symbols.shrink_to_fit();
                missing.shrink_to_fit();
            }
            Column::Mixed(v) => v.shrink_to_fit(),
        }
    }

    pub(super) fn memory_bytes(&self) -> usize {
        match self {
            Column::Numbers(v) => v.capacity() * 8,
            Column::Texts(v) => v.capacity() * 4,
            Column::Tags { ends, symbols, missing } => (ends.capacity() + symbols.capacity()) * 4 + missing.capacity(),
            Column::Mixed(v) => {
                v.capacity() * std::mem::size_of::<AttributeValue>()
                    + v.iter()
                        .map(|x| match x {
                            AttributeValue::Text(s) => s.capacity(),
                            AttributeValue::Tags(t) => {
                                t.capacity() * std::mem::size_of::<String>() + t.iter().map(String::capacity).sum::<usize>()
                            }
                            _ => 0,
                        })
                        .sum::<usize>()
            }
        }
    }
}
