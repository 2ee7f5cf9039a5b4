//! Where a [`Catalog`](super::Catalog) keeps its items: compactly, because a
//! phone holds a few hundred thousand of them. One string arena holds every
//! item's id, title, text and image reference; attribute values are kept by
//! column (numbers as `f64`, text values and tags as symbols of one
//! interner, so `Drama` is stored once however many items carry it); the id
//! index is a hash table of row numbers that reads ids from the arena. An
//! item's embedded text is not stored at all when it is exactly one of the
//! forms the catalog builders write from its title and values
//! ([`describe_item`](super::attributes::describe_item) for datasets and
//! added items, [`record_text`](super::attributes::record_text) for records
//! without a description): it is formed again when read.
//!
//! Nothing is lost: [`ItemStore::item`] gives back every field as given,
//! a column whose values do not fit its declared kind keeps them as given
//! ([`Column::Mixed`]). Readers get borrowed views ([`ItemRef`]).

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder as RandomState, HashTable};

mod columns;

use super::attributes::TextForms;
use super::item_ref::{ItemRef, ValueRef};
use super::{AttributeDef, AttributeValue, Item};
use crate::error::{Error, Result};
use columns::Column;
pub(super) use columns::{Interner, TagList};

/// A length or offset that does not fit the store's `u32` fields.
fn too_large(what: &str) -> Error {
    Error::ResourceLimit(format!("the catalog's {what} exceed 4 GiB"))
}

fn to_u32(x: usize, what: &str) -> Result<u32> {
    u32::try_from(x).map_err(|_| too_large(what))
}

/// Marks a text value that is missing, or an item without image.
const NONE: u32 = u32::MAX;
/// An item text that is its `describe_item` form.
const DESCRIBED: u32 = u32::MAX;
/// An item text that is its `record_text` form.
const RECORD_FORM: u32 = u32::MAX - 1;

/// How an item's text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextForm<'a> {
    /// As given.
    Stored(&'a str),
    /// Formed by `describe_item` from title and values.
    Described,
    /// Formed by `record_text` from title and values.
    RecordForm,
}

/// Where item `i`'s strings are in the arena: from `start`, its id, title,
/// text ([`DESCRIBED`] or [`RECORD_FORM`]: not stored, formed from title and
/// values) and image ([`NONE`]: no image), in that order.
#[derive(Debug, Clone, Copy)]
struct Slots {
    start: u32,
    id: u32,
    title: u32,
    text: u32,
    image: u32,
}

/// The items of a catalog (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct ItemStore {
    attributes: Vec<AttributeDef>,
    forms: TextForms,
    /// Where an item's text forms are written to be compared.
    scratch: String,
    strings: String,
    slots: Vec<Slots>,
    columns: Vec<Column>,
    interner: Interner,
    /// Row numbers, hashed by the id they name.
    index: HashTable<u32>,
    hasher: RandomState,
}

/// The id of row `row` (empty when out of range).
fn id_at<'a>(strings: &'a str, slots: &[Slots], row: u32) -> &'a str {
    let Some(s) = slots.get(row as usize) else { return "" };
    let start = s.start as usize;
    start.checked_add(s.id as usize).and_then(|end| strings.get(start..end)).unwrap_or("")
}

impl ItemStore {
    /// An empty store for items with these attributes.
    pub(crate) fn new(attributes: Vec<AttributeDef>) -> Self {
        let columns = attributes.iter().map(|a| Column::new(a.kind)).collect();
        Self {
            forms: TextForms::new(&attributes),
            scratch: String::new(),
            attributes,
            strings: String::new(),
            slots: Vec::new(),
            columns,
            interner: Interner::default(),
            index: HashTable::new(),
            hasher: RandomState::default(),
        }
    }

    /// The declared attributes, in value order.
    pub(crate) fn attributes(&self) -> &[AttributeDef] {
        &self.attributes
    }

    /// Number of items.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// The row of the item with this id.
    pub(crate) fn index_of(&self, id: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        self.index.find(hash, |&row| id_at(&self.strings, &self.slots, row) == id).copied()
    }

    /// The item at `index`.
    pub(crate) fn item(&self, index: u32) -> Option<ItemRef<'_>> {
        ((index as usize) < self.slots.len()).then_some(ItemRef { store: self, index })
    }

    /// Reserves room for `additional` more items.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        let Self { index, strings, slots, hasher, .. } = self;
        index.reserve(additional, |&row| hasher.hash_one(id_at(strings, slots, row)));
    }

    /// Appends `item` after checking it as a catalog must: a non-empty, new
    /// id and one value per attribute (else [`Error::InvalidCatalog`]).
    pub(crate) fn push_checked(&mut self, item: Item) -> Result<u32> {
        let bad = |m: String| Err(Error::InvalidCatalog(m));
        if item.id.is_empty() {
            return bad(format!("item {} has an empty id", self.len()));
        }
        if self.index_of(&item.id).is_some() {
            return bad(format!("duplicate item id {:?}", item.id));
        }
        if item.values.len() != self.attributes.len() {
            return bad(format!(
                "item {:?} has {} attribute values, the catalog declares {}",
                item.id,
                item.values.len(),
                self.attributes.len()
            ));
        }
        self.append(item)
    }

    /// Appends `item` after checking that its id is new and not empty and
    /// that it has one value per attribute (else [`Error::InvalidInput`]).
    /// A store over 4 GiB of strings is an [`Error::ResourceLimit`].
    pub(crate) fn push(&mut self, item: Item) -> Result<u32> {
        if item.id.is_empty() || self.index_of(&item.id).is_some() || item.values.len() != self.attributes.len() {
            return Err(Error::InvalidInput(format!("item {:?}: an empty or repeated id, or a value count other than {}", item.id, self.attributes.len())));
        }
        self.append(item)
    }

    /// Appends `item`; the caller has checked that its id is new and not
    /// empty and that it has one value per attribute ([`ItemStore::push`],
    /// [`ItemStore::push_checked`]), so the id index is probed once per item.
    /// A store over 4 GiB of strings is an [`Error::ResourceLimit`].
    fn append(&mut self, item: Item) -> Result<u32> {
        let row = to_u32(self.slots.len(), "items")?;
        let values = || item.values.iter().map(AttributeValue::as_ref);
        // Both forms start with the title.
        let formed = item.text.starts_with(item.title.trim());
        let (text, text_slot) = if formed && {
            self.forms.describe_into(&mut self.scratch, &item.title, None, values());
            self.scratch == item.text
        } {
            (None, DESCRIBED)
        } else if formed && {
            self.forms.record_into(&mut self.scratch, &item.title, None, values());
            self.scratch == item.text
        } {
            (None, RECORD_FORM)
        } else {
            (Some(item.text.as_str()), to_u32(item.text.len(), "strings")?)
        };
        let slots = Slots {
            start: to_u32(self.strings.len(), "strings")?,
            id: to_u32(item.id.len(), "strings")?,
            title: to_u32(item.title.len(), "strings")?,
            text: text_slot,
            image: item.image.as_ref().map_or(Ok(NONE), |t| to_u32(t.len(), "strings"))?,
        };
        if text.is_some() && slots.text >= RECORD_FORM || slots.image == NONE && item.image.is_some() {
            return Err(too_large("strings"));
        }
        let end = [item.id.len(), item.title.len(), text.map_or(0, str::len), item.image.as_ref().map_or(0, String::len)]
            .iter()
            .try_fold(self.strings.len(), |a, &b| a.checked_add(b))
            .ok_or_else(|| too_large("strings"))?;
        to_u32(end, "strings")?;
        // Values first: a failure there leaves the store as it was.
        let mut pushed = 0;
        let mut failed = None;
        for (column, value) in self.columns.iter_mut().zip(item.values) {
            if let Err(e) = column.push(value, &mut self.interner) {
                failed = Some(e);
                break;
            }
            pushed += 1;
        }
        if let Some(e) = failed {
            for column in self.columns.iter_mut().take(pushed) {
                column.truncate(self.slots.len());
            }
            return Err(e);
        }
        self.strings.push_str(&item.id);
        self.strings.push_str(&item.title);
        self.strings.push_str(text.unwrap_or(""));
        self.strings.push_str(item.image.as_deref().unwrap_or(""));
        self.slots.push(slots);
        let Self { index, strings, slots, hasher, .. } = self;
        index.insert_unique(hasher.hash_one(&item.id), row, |&r| hasher.hash_one(id_at(strings, slots, r)));
        Ok(row)
    }

    /// Drops every item from `len` on.
    pub(crate) fn truncate(&mut self, len: usize) {
        let Some(first) = self.slots.get(len).copied() else { return };
        for row in len..self.slots.len() {
            let row = row as u32;
            let hash = self.hasher.hash_one(id_at(&self.strings, &self.slots, row));
            if let Ok(entry) = self.index.find_entry(hash, |&r| r == row) {
                entry.remove();
            }
        }
        self.strings.truncate(first.start as usize);
        self.slots.truncate(len);
        for c in &mut self.columns {
            c.truncate(len);
        }
    }

    /// Removes the item at `row`; the items after it move up by one (their
    /// cost: they are taken out and put back).
    pub(crate) fn remove(&mut self, row: usize) -> Result<()> {
        if row >= self.len() {
            return Err(Error::InvalidInput(format!("item {row} of {}", self.len())));
        }
        let after: Vec<Item> = (row + 1..self.len()).filter_map(|i| self.item(i as u32).map(|it| it.to_item())).collect();
        self.truncate(row);
        for item in after {
            self.push(item)?;
        }
        Ok(())
    }

    /// Gives back spare capacity (after a catalog is built).
    pub(crate) fn shrink_to_fit(&mut self) {
        self.strings.shrink_to_fit();
        self.scratch = String::new();
        self.slots.shrink_to_fit();
        for c in &mut self.columns {
            c.shrink_to_fit();
        }
        self.interner.shrink_to_fit();
        let Self { index, strings, slots, hasher, .. } = self;
        index.shrink_to_fit(|&row| hasher.hash_one(id_at(strings, slots, row)));
    }

    /// Bytes the store holds (arena, slots, columns, interner, index).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.strings.capacity()
            + self.slots.capacity() * std::mem::size_of::<Slots>()
            + self.columns.iter().map(Column::memory_bytes).sum::<usize>()
            + self.interner.memory_bytes()
            + self.index.capacity() * 5
    }

    /// Part `which` (0 id, 1 title, 2 text, 3 image) of item `index`'s
    /// strings; `None` for a text or image that is not stored.
    fn part(&self, index: u32, which: usize) -> Option<&str> {
        let s = self.slots.get(index as usize)?;
        let lens = [s.id, s.title, s.text, s.image];
        let stored = |k: usize, len: u32| match k {
            2 => len < RECORD_FORM,
            3 => len != NONE,
            _ => true,
        };
        let mut start = s.start as usize;
        for (k, &len) in lens.iter().enumerate() {
            let here = stored(k, len);
            let len = if here { len as usize } else { 0 };
            if k == which {
                return if here { self.strings.get(start..start.checked_add(len)?) } else { None };
            }
            start = start.checked_add(len)?;
        }
        None
    }

    pub(super) fn id(&self, index: u32) -> &str {
        self.part(index, 0).unwrap_or("")
    }

    pub(super) fn title(&self, index: u32) -> &str {
        self.part(index, 1).unwrap_or("")
    }

    /// Item `index`'s text formed again from its title and values in `form`.
    pub(super) fn formed_text(&self, index: u32, form: TextForm<'_>) -> String {
        let mut out = String::new();
        let values = (0..self.attributes.len()).filter_map(|a| self.value(index, a));
        match form {
            TextForm::Stored(t) => out.push_str(t),
            TextForm::Described => self.forms.describe_into(&mut out, self.title(index), None, values),
            TextForm::RecordForm => self.forms.record_into(&mut out, self.title(index), None, values),
        }
        out
    }

    /// How item `index`'s text is kept.
    pub(super) fn text_form(&self, index: u32) -> TextForm<'_> {
        match self.slots.get(index as usize).map(|s| s.text) {
            Some(DESCRIBED) => TextForm::Described,
            Some(RECORD_FORM) => TextForm::RecordForm,
            _ => TextForm::Stored(self.part(index, 2).unwrap_or("")),
        }
    }

    pub(super) fn image(&self, index: u32) -> Option<&str> {
        self.part(index, 3)
    }

    pub(super) fn value(&self, index: u32, attribute: usize) -> Option<ValueRef<'_>> {
        self.columns.get(attribute)?.get(index as usize, &self.interner)
    }
}

#[cfg(test)]
mod tests;
