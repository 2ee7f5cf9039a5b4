//! Borrowed views of the items a [`Catalog`](super::Catalog) holds: an
//! [`ItemRef`] reads one item's fields out of the catalog's compact item
//! store ([`super::item_store`]) without copying, a [`ValueRef`] one of its
//! attribute values, a [`TagsRef`] a set of tags. `to_item` / `to_owned`
//! give the owned [`Item`] / [`AttributeValue`] back, equal to what was put in.

use std::borrow::Cow;

use super::item_store::{ItemStore, TagList, TextForm};
use super::{AttributeValue, Item};

/// One catalog item, borrowed from the catalog (see [`Item`] for the meaning
/// of each field). Cheap to copy.
#[derive(Clone, Copy)]
pub struct ItemRef<'a> {
    pub(super) store: &'a ItemStore,
    pub(super) index: u32,
}

impl<'a> ItemRef<'a> {
    /// The item's index in the catalog.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The app's id for the item.
    pub fn id(&self) -> &'a str {
        self.store.id(self.index)
    }

    /// Short display title.
    pub fn title(&self) -> &'a str {
        self.store.title(self.index)
    }

    /// The text the text encoder embedded. Borrowed when the catalog keeps
    /// it as given; formed again, exactly as it was, when it was in one of
    /// the builders' forms ([`describe_item`](super::attributes::describe_item),
    /// [`record_text`](super::attributes::record_text)) and the
    /// catalog saved the bytes.
    pub fn text(&self) -> Cow<'a, str> {
        match self.store.text_form(self.index) {
            TextForm::Stored(t) => Cow::Borrowed(t),
            form => Cow::Owned(self.store.formed_text(self.index, form)),
        }
    }

    /// Optional image reference (URL or path).
    pub fn image(&self) -> Option<&'a str> {
        self.store.image(self.index)
    }

    /// The value of the attribute at `attribute` (an index into
    /// [`Catalog::attributes`](super::Catalog::attributes)).
    pub fn value(&self, attribute: usize) -> Option<ValueRef<'a>> {
        self.store.value(self.index, attribute)
    }

    /// Every attribute value, in [`Catalog::attributes`](super::Catalog::attributes) order.
    pub fn values(&self) -> impl Iterator<Item = ValueRef<'a>> + 'a {
        let (store, index) = (self.store, self.index);
        (0..store.attributes().len()).filter_map(move |a| store.value(index, a))
    }

    /// The item as an owned [`Item`], equal to the one the catalog was given.
    pub fn to_item(&self) -> Item {
        Item {
            id: self.id().to_string(),
            title: self.title().to_string(),
            text: self.text().into_owned(),
            image: self.image().map(str::to_string),
            values: self.values().map(|v| v.to_owned()).collect(),
        }
    }
}

impl std::fmt::Debug for ItemRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemRef").field("index", &self.index).field("id", &self.id()).finish()
    }
}

/// One attribute value, borrowed from the catalog (see [`AttributeValue`]).
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    /// No value.
    Missing,
    /// A number.
    Number(f64),
    /// A string.
    Text(&'a str),
    /// A set of strings.
    Tags(TagsRef<'a>),
}

impl ValueRef<'_> {
    /// The owned value.
    pub fn to_owned(&self) -> AttributeValue {
        match self {
            ValueRef::Missing => AttributeValue::Missing,
            ValueRef::Number(x) => AttributeValue::Number(*x),
            ValueRef::Text(t) => AttributeValue::Text(t.to_string()),
            ValueRef::Tags(t) => AttributeValue::Tags(t.to_vec()),
        }
    }

    /// Whether this is [`ValueRef::Missing`].
    pub fn is_missing(&self) -> bool {
        matches!(self, ValueRef::Missing)
    }
}

/// Serialized as [`AttributeValue`] is: `null`, a number, a string or an
/// array of strings.
impl serde::Serialize for ValueRef<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ValueRef::Missing => serializer.serialize_unit(),
            ValueRef::Number(x) => serializer.serialize_f64(*x),
            ValueRef::Text(t) => serializer.serialize_str(t),
            ValueRef::Tags(t) => serializer.collect_seq(t.iter()),
        }
    }
}

impl PartialEq<AttributeValue> for ValueRef<'_> {
    fn eq(&self, other: &AttributeValue) -> bool {
        match (self, other) {
            (ValueRef::Missing, AttributeValue::Missing) => true,
            (ValueRef::Number(a), AttributeValue::Number(b)) => a == b,
            (ValueRef::Text(a), AttributeValue::Text(b)) => a == b,
            (ValueRef::Tags(a), AttributeValue::Tags(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y),
            _ => false,
        }
    }
}

impl AttributeValue {
    /// A borrowed view of this value.
    pub fn as_ref(&self) -> ValueRef<'_> {
        match self {
            AttributeValue::Missing => ValueRef::Missing,
            AttributeValue::Number(x) => ValueRef::Number(*x),
            AttributeValue::Text(t) => ValueRef::Text(t),
            AttributeValue::Tags(t) => ValueRef::Tags(TagsRef { list: TagList::Owned(t) }),
        }
    }
}

/// A set of tags, borrowed from the catalog, in the order they were given.
#[derive(Debug, Clone, Copy)]
pub struct TagsRef<'a> {
    pub(super) list: TagList<'a>,
}

impl<'a> TagsRef<'a> {
    /// Number of tags.
    pub fn len(&self) -> usize {
        match self.list {
            TagList::Owned(t) => t.len(),
            TagList::Interned { symbols, .. } => symbols.len(),
        }
    }

    /// Whether there is no tag.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tag at `i`.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self.list {
            TagList::Owned(t) => t.get(i).map(String::as_str),
            TagList::Interned { symbols, interner } => symbols.get(i).map(|&s| interner.get(s)),
        }
    }

    /// The tags in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }

    /// The tags as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }

    /// The tags joined by `separator`.
    pub fn join(&self, separator: &str) -> String {
        self.iter().collect::<Vec<_>>().join(separator)
    }
}
