//! The builder input from an app's own record files (`recagent
//! build-catalog --items FILE [--interactions FILE]`): the records read by
//! [`super::record_files`], turned into items and resolved interactions by
//! the same rules as in the browser ([`recagent_core::catalog::records`]),
//! every record error named by file and line.

use std::path::{Path, PathBuf};

use recagent_core::catalog::records::{items_from_records, resolve_interactions, ItemInput, RecordError};
use recagent_core::error::{Error, Result};

use super::build::{BuildInput, LoggedInteraction};
use super::record_files::{read_interactions, read_items, Limits, RecordFile};

/// What [`records_input`] read, and the figures of the summary.
#[derive(Debug, Clone)]
pub struct RecordsInput {
    /// The builder input: named after the items file's stem, attributes in
    /// name order, items in file order, the interactions whose item is known.
    pub input: BuildInput,
    /// Interaction records read (used or not).
    pub interactions_read: usize,
    /// Distinct users among the interactions used.
    pub users: usize,
    /// Interactions skipped because their item is not among the items.
    pub unknown_items: usize,
    /// Items with an `image` reference.
    pub with_images: usize,
    /// The folder image paths are relative to (the items file's).
    pub image_base: PathBuf,
}

/// Reads `items` and, when given, `interactions` (JSON Lines or CSV, see
/// [`super::record_files`]) within [`Limits::ITEMS`] and
/// [`Limits::INTERACTIONS`]. Errors: those of
/// [`read_items`]; a record that [`items_from_records`] or
/// [`resolve_interactions`] refuses, as [`recagent_core::Error::InvalidInput`]
/// `FILE:LINE: what is wrong`; no item at all (`FILE: there are no items`).
/// An interaction naming an unknown item is skipped and counted, not an error.
pub fn records_input(items: &Path, interactions: Option<&Path>) -> Result<RecordsInput> {
    let file = read_items(items, &Limits::ITEMS)?;
    let catalog = items_from_records(&file.records).map_err(|e| item_error(&file, &e))?;
    drop(file);
    let (logged, read, users, unknown_items) = match interactions {
        Some(path) => {
            let file = read_interactions(path, &Limits::INTERACTIONS)?;
            let resolved = resolve_interactions(&catalog.items, &file.records).map_err(|e| file.record_error(&e))?;
            let logged: Vec<LoggedInteraction> = resolved
                .interactions
                .iter()
                .map(|i| LoggedInteraction { user: i.user, item: i.item, rating: i.rating, timestamp: i.timestamp })
                .collect();
            (logged, file.records.len(), resolved.users, resolved.unknown_items)
        }
        None => (Vec::new(), 0, 0, 0),
    };
    let name = items
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "items".into());
    let with_images = catalog.items.iter().filter(|i| i.image.is_some()).count();
    Ok(RecordsInput {
        input: BuildInput { name, attributes: catalog.attributes, items: catalog.items, interactions: logged },
        interactions_read: read,
        users,
        unknown_items,
        with_images,
        image_base: items.parent().map(Path::to_path_buf).unwrap_or_default(),
    })
}

/// The error of item record `e.index`, by line; a duplicate id also names
/// the line of its first use (the core names its index).
fn item_error(file: &RecordFile<ItemInput>, e: &RecordError) -> Error {
    let id = file.records.get(e.index).map(|r| r.id.as_str());
    let first = id.and_then(|id| file.records.get(..e.index)?.iter().position(|r| r.id == id));
    if let (Some(id), Some(first)) = (id, first) {
        if e.message.ends_with(&format!("already used by record {first}")) {
            if let Some(line) = file.lines.get(first) {
                return file.error_at(e.index, &format!("id {id:?} was already used on line {line}"));
            }
        }
    }
    file.record_error(e)
}
