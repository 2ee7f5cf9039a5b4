//! [`Session`]: the one start-up path, for the browser and the CLI alike.
//!
//! A session is a [`Recommender`] and the user's long-term [`Memory`], wired
//! the same way whoever hosts them:
//! 1. memory opens over the host's [`KvStore`] (IndexedDB in the browser, a
//!    file in the CLI); when that fails the host chooses, by
//!    [`StoreFallback`], between failing and an in-memory store;
//! 2. memory embeds with the recommender's own text encoder: one model in
//!    memory, shared by `Rc`, and no link from memory back to the
//!    recommender;
//! 3. the stored profile snapshot is restored, with the candidate engine's
//!    records of its history items saved beside it, then the items the
//!    user added in earlier visits, in the order they were added (their
//!    photos decoded by the host's [`ImageDecoder`] when the image model
//!    changed and they must be embedded again);
//! 4. after the memory store was replaced wholesale ([`Session::import`],
//!    [`Session::forget_everything`]) the live catalog's added items are
//!    made to match the store again.
//!
//! What could not be restored does not stop the start: it is reported in
//! [`StartReport::warnings`], which the host shows (a console warning, a
//! line on stderr).

use std::cell::RefCell;
use std::rc::Rc;

use crate::error::{Error, Result};
use crate::memory::{Embedder, Memory};
use crate::platform::{Clock, ImageDecoder, KvStore, MemoryKvStore};
use crate::profile::UserProfile;
use crate::recommender::{Photo, Recommender};

/// What [`Session::start`] does when memory cannot be opened over the
/// host's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFallback {
    /// Fail the start with the store's error (the CLI: a broken memory
    /// folder is the user's to see).
    Fail,
    /// Start over an empty in-memory store and say why in
    /// [`StartReport::store_fallback`] (the browser: private windows and
    /// blocked IndexedDB still get a working recommender).
    InMemory,
}

/// What start-up restored, and what it could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartReport {
    /// Why the host's store was replaced by an in-memory one (only with
    /// [`StoreFallback::InMemory`]).
    pub store_fallback: Option<String>,
    /// Whether a stored profile snapshot was restored.
    pub restored_profile: bool,
    /// How many added items were put back into the live catalog.
    pub restored_items: usize,
    /// How many engine records of history items were given back (a
    /// catalog held by a candidate engine).
    pub restored_engine_records: usize,
    /// One sentence per thing that could not be restored.
    pub warnings: Vec<String>,
}

/// A recommender and its user's memory, started through one path (see the
/// module docs). Cheap to share: hosts keep it in an `Rc`.
pub struct Session {
    recommender: Rc<RefCell<Recommender>>,
    memory: Rc<Memory>,
    has_text: bool,
    decoder: Rc<dyn ImageDecoder>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("has_text", &self.has_text).finish_non_exhaustive()
    }
}

impl Session {
    /// Starts a session: opens memory over `store` (see [`StoreFallback`]),
    /// shares the recommender's text encoder with it, restores the stored
    /// profile and the user's added items. Fails only when memory cannot be
    /// opened and `fallback` is [`StoreFallback::Fail`]. Stored photos that
    /// must be embedded again (the image model changed) are decoded by
    /// `decoder`, which the session keeps for the host ([`Session::decoder`]).
    pub async fn start(
        recommender: Recommender,
        store: Rc<dyn KvStore>,
        clock: Rc<dyn Clock>,
        decoder: Rc<dyn ImageDecoder>,
        fallback: StoreFallback,
    ) -> Result<(Session, StartReport)> {
        let mut report = StartReport::default();
        let memory = match Memory::open(store, clock.clone()).await {
            Ok(memory) => memory,
            Err(e) if fallback == StoreFallback::InMemory => {
                report.store_fallback = Some(e.to_string());
                Memory::open(Rc::new(MemoryKvStore::new()), clock).await?
            }
            Err(e) => return Err(e),
        };
        let encoder = recommender.shared_text_encoder();
        let has_text = encoder.is_some();
        let memory = match encoder {
            Some(encoder) => memory.with_embedder(encoder as Rc<dyn Embedder>),
            None => memory,
        };
        let session = Session {
            recommender: Rc::new(RefCell::new(recommender)),
            memory: Rc::new(memory),
            has_text,
            decoder,
        };
        session.restore_profile(&mut report).await;
        session.restore_engine_records(&mut report).await;
        session.restore_items(&mut report).await;
        Ok((session, report))
    }

    /// The host's image decoder, for photos on their way in ([`Photo::decode`]).
    pub fn decoder(&self) -> &Rc<dyn ImageDecoder> {
        &self.decoder
    }

    /// The recommender (shared with the agent's tools and the host's API).
    pub fn recommender(&self) -> &Rc<RefCell<Recommender>> {
        &self.recommender
    }

    /// The long-term memory (shared with the agent's tools).
    pub fn memory(&self) -> &Rc<Memory> {
        &self.memory
    }

    /// Whether the recommender has a text encoder, so that memory can embed
    /// facts and recall by meaning.
    pub fn has_text(&self) -> bool {
        self.has_text
    }

    /// Takes the profile snapshot now and returns the future that stores
    /// it; the next [`Session::start`] over the same store restores it.
    pub fn save_profile(&self) -> Result<impl std::future::Future<Output = Result<()>> + 'static> {
        let (snapshot, records) = {
            let recommender = self.borrow()?;
            (recommender.profile().snapshot()?, recommender.history_records()?)
        };
        let memory = self.memory.clone();
        Ok(async move { memory.save_profile_with_records(&snapshot, records).await })
    }

    /// Imports a memory export document (see [`Memory::import`]) and makes
    /// the live catalog's added items match the store again. Returns the
    /// counts `Memory::import` returns.
    pub async fn import(&self, document: &str) -> Result<((usize, usize), Vec<String>)> {
        let counts = self.memory.import(document).await?;
        Ok((counts, self.resync_items().await))
    }

    /// Deletes everything in the memory store (see
    /// [`Memory::forget_everything`]) and drops the added items from the
    /// live catalog. Returns the number of records deleted.
    pub async fn forget_everything(&self) -> Result<(usize, Vec<String>)> {
        let deleted = self.memory.forget_everything().await?;
        Ok((deleted, self.resync_items().await))
    }

    /// Makes the live catalog's added items match the store (after the store
    /// was replaced wholesale). Returns what could not be restored.
    pub async fn resync_items(&self) -> Vec<String> {
        let mut report = StartReport::default();
        match self.recommender.try_borrow_mut() {
            Ok(mut recommender) => {
                recommender.clear_added_items();
            }
            Err(_) => {
                report.warnings.push("the recommender was busy; added items were not resynced".into());
                return report.warnings;
            }
        }
        self.restore_items(&mut report).await;
        report.warnings
    }

    fn borrow(&self) -> Result<std::cell::Ref<'_, Recommender>> {
        self.recommender
            .try_borrow()
            .map_err(|_| Error::InvalidInput("the recommender is busy (re-entrant call)".into()))
    }

    async fn restore_profile(&self, report: &mut StartReport) {
        let snapshot = match self.memory.profile().await {
            Ok(Some(snapshot)) => snapshot,
            Ok(None) => return,
            Err(e) => {
                report.warnings.push(format!("the stored profile could not be read: {e}"));
                return;
            }
        };
        match UserProfile::restore(&snapshot) {
            Ok(profile) => match self.recommender.try_borrow_mut() {
                Ok(mut recommender) => {
                    recommender.set_profile(profile);
                    report.restored_profile = true;
                }
                Err(_) => report.warnings.push("the recommender was busy; the profile was not restored".into()),
            },
            Err(e) => {
                report.warnings.push(format!("the stored profile was not restored: {e}"));
                // Kept for export under corrupt/, out of the way of the next start.
                self.memory.set_aside_profile(&snapshot, e.to_string()).await;
            }
        }
    }

    /// Gives the recommender back the engine records of its history items
    /// (saved with the profile): what a reload would otherwise lose of the
    /// items the device's catalog does not hold.
    async fn restore_engine_records(&self, report: &mut StartReport) {
        let records = match self.memory.engine_records().await {
            Ok(Some(records)) => records,
            Ok(None) => return,
            Err(e) => {
                report.warnings.push(format!("the engine records of the history could not be read: {e}"));
                return;
            }
        };
        let restored = match self.recommender.try_borrow_mut() {
            Ok(mut recommender) => recommender.restore_history_records(&records),
            Err(_) => {
                report.warnings.push("the recommender was busy; the engine records of the history were not restored".into());
                return;
            }
        };
        match restored {
            Ok(n) => report.restored_engine_records = n,
            Err(e) => {
                report.warnings.push(format!("the engine records of the history were not restored: {e}"));
                self.memory.set_aside_engine_records(&records, e.to_string()).await;
            }
        }
    }

    /// Puts the store's added items back into the live catalog, in the order
    /// they were added; items already there are left alone.
    async fn restore_items(&self, report: &mut StartReport) {
        let mut stored = match self.memory.items().await {
            Ok(items) => items,
            Err(e) => {
                report.warnings.push(format!("the added items could not be read: {e}"));
                return;
            }
        };
        stored.sort_by(|a, b| a.added_ms.total_cmp(&b.added_ms).then_with(|| a.id.cmp(&b.id)));
        for item in stored {
            let needs_photo = self
                .recommender
                .try_borrow()
                .map(|r| r.restore_needs_photo(&item))
                .unwrap_or(false);
            let bytes = if needs_photo {
                self.memory.item_photo(&item.id).await.ok().flatten()
            } else {
                None
            };
            let limits = self.recommender.try_borrow().ok().and_then(|r| r.photo_limits().ok());
            let photo = match (bytes, limits) {
                (Some(bytes), Some(limits)) => match Photo::decode(&*self.decoder, bytes, limits).await {
                    Ok(photo) => Some(photo),
                    Err(e) => {
                        report.warnings.push(format!("added item {:?} was not restored: its photo: {e}", item.id));
                        continue;
                    }
                },
                _ => None,
            };
            let Ok(mut recommender) = self.recommender.try_borrow_mut() else {
                report.warnings.push("the recommender was busy; added items were not restored".into());
                return;
            };
            let catalog = recommender.catalog();
            if catalog.index_of(&item.id).is_some_and(|i| catalog.is_added(i)) {
                continue;
            }
            match recommender.restore_item(&item, photo.as_ref()) {
                Ok(()) => report.restored_items += 1,
                Err(e) => report.warnings.push(format!("added item {:?} was not restored: {e}", item.id)),
            }
        }
    }
}
