//! Reads a bundle's meta JSON with its items going straight into the
//! catalog's item store, one at a time, instead of into a list of owned
//! records first: a 100k-item catalog then never holds both at once (in a
//! browser, wasm memory does not shrink after a peak).

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{SequenceMeta, Section};
use crate::catalog::item_store::ItemStore;
use crate::catalog::{AttributeDef, Item, ModelFingerprint};

/// The meta of a bundle being read.
pub(super) struct MetaIn {
    pub(super) name: String,
    pub(super) items: ItemStore,
    pub(super) text_model: Option<ModelFingerprint>,
    pub(super) sequence: Option<SequenceMeta>,
    pub(super) sections: Vec<Section>,
}

impl<'de> Deserialize<'de> for MetaIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MetaVisitor)
    }
}

struct MetaVisitor;

/// Sets `slot` once; a second value for the same key is an error.
fn once<T, E: de::Error>(slot: &mut Option<T>, value: T, key: &'static str) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::duplicate_field(key));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Visitor<'de> for MetaVisitor {
    type Value = MetaIn;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a catalog bundle's meta object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MetaIn, A::Error> {
        let mut name = None;
        let mut attributes: Option<Vec<AttributeDef>> = None;
        let mut items: Option<ItemStore> = None;
        // Items written before the attributes (not what the writer does).
        let mut early: Option<Vec<Item>> = None;
        let mut text_model = None;
        let mut sequence = None;
        let mut sections = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => once(&mut name, map.next_value::<String>()?, "name")?,
                "attributes" => once(&mut attributes, map.next_value()?, "attributes")?,
                "items" => {
                    if items.is_some() || early.is_some() {
                        return Err(de::Error::duplicate_field("items"));
                    }
                    match &attributes {
                        Some(a) => items = Some(map.next_value_seed(ItemsSeed(ItemStore::new(a.clone())))?),
                        None => early = Some(map.next_value()?),
                    }
                }
                "text_model" => once(&mut text_model, map.next_value::<Option<ModelFingerprint>>()?, "text_model")?,
                "sequence" => once(&mut sequence, map.next_value::<Option<SequenceMeta>>()?, "sequence")?,
                "sections" => once(&mut sections, map.next_value::<Vec<Section>>()?, "sections")?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let attributes = attributes.ok_or_else(|| de::Error::missing_field("attributes"))?;
        let items = match (items, early) {
            (Some(store), _) => store,
            (None, Some(list)) => {
                let mut store = ItemStore::new(attributes);
                for item in list {
                    store.push_checked(item).map_err(de::Error::custom)?;
                }
                store
            }
            (None, None) => return Err(de::Error::missing_field("items")),
        };
        Ok(MetaIn {
            name: name.ok_or_else(|| de::Error::missing_field("name"))?,
            items,
            text_model: text_model.flatten(),
            sequence: sequence.flatten(),
            sections: sections.ok_or_else(|| de::Error::missing_field("sections"))?,
        })
    }
}

/// Reads the `items` array into the store it holds.
struct ItemsSeed(ItemStore);

impl<'de> DeserializeSeed<'de> for ItemsSeed {
    type Value = ItemStore;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ItemStore, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed {
    type Value = ItemStore;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<ItemStore, A::Error> {
        while let Some(item) = seq.next_element::<Item>()? {
            self.0.push_checked(item).map_err(de::Error::custom)?;
        }
        Ok(self.0)
    }
}
