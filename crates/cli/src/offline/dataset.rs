//! Catalogs from RecBole atomic datasets (native only): the item table
//! becomes typed attributes, `item_text` becomes the embedded text.

use super::build::{BuildInput, LoggedInteraction};
use recagent_core::catalog::attributes::is_title_name;
use recagent_core::catalog::{AttributeDef, AttributeKind, AttributeValue, Item};
use crate::eval::atomic::{ColumnType, Dataset, Value};

/// The builder input for `dataset`: the items `items` (indices into
/// [`Dataset::items`]; all of them when `None`) in that order, and the
/// given interactions (their `item` fields must already index `items`).
pub fn build_input(dataset: &Dataset, items: Option<&[u32]>, interactions: Vec<LoggedInteraction>) -> BuildInput {
    let table = &dataset.item_table;
    let all: Vec<u32>;
    let items = match items {
        Some(i) => i,
        None => {
            all = (0..dataset.items.len() as u32).collect();
            &all
        }
    };
    let attributes: Vec<AttributeDef> = table
        .columns()
        .iter()
        .map(|c| AttributeDef {
            name: c.name.clone(),
            kind: match c.kind {
                ColumnType::Token => AttributeKind::Text,
                ColumnType::TokenSeq => AttributeKind::Tags,
                ColumnType::Float | ColumnType::FloatSeq => AttributeKind::Number,
            },
        })
        .collect();
    let title_column = table.columns().iter().position(|c| is_title_name(&c.name));
    let items = items
        .iter()
        .map(|&i| {
            let values: Vec<AttributeValue> = (0..table.columns().len())
                .map(|c| match table.value(i, c) {
                    Value::Missing => AttributeValue::Missing,
                    Value::Token(t) => AttributeValue::Text(t.clone()),
                    Value::TokenSeq(t) => AttributeValue::Tags(t.clone()),
                    Value::Float(x) => AttributeValue::Number(*x),
                    Value::FloatSeq(x) => x.first().map_or(AttributeValue::Missing, |v| AttributeValue::Number(*v)),
                })
                .collect();
            let id = dataset.items.get(i as usize).cloned().unwrap_or_default();
            let title = match title_column.map(|c| table.value(i, c)) {
                Some(Value::Token(t)) => t.clone(),
                Some(Value::TokenSeq(t)) => t.join(" "),
                _ => id.clone(),
            };
            Item {
                title,
                text: table.item_text(i),
                image: None,
                values,
                id,
            }
        })
        .collect();
    BuildInput {
        name: dataset.name.clone(),
        attributes,
        items,
        interactions,
    }
}

/// Every interaction of `dataset`, for a catalog of all its items.
pub fn all_interactions(dataset: &Dataset) -> Vec<LoggedInteraction> {
    dataset
        .interactions
        .iter()
        .map(|i| LoggedInteraction {
            user: i.user,
            item: i.item,
            rating: i.rating,
            timestamp: i.timestamp,
        })
        .collect()
}
