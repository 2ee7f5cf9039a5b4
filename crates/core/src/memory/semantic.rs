//! Semantic memory: facts the user stated (`remember`), corrected or
//! forgot; a new fact gets its ids atomically with the counter (`ids.rs`), a
//! correction is a conditional read-modify-write.

use super::{
    check_unit, episode_key, fact_key, ids, invalid, json, put, stored_fact, validate, Episode,
    EpisodeKind, Fact, FactKind, Memory, Provenance, RememberOptions, Source, FACT_PREFIX, MAX_ID,
};
use crate::error::{Error, Result};
use crate::platform::{Expect, WriteOp};

impl Memory {
    /// Stores what the user said as a fact ([`Memory::remember_with`] with
    /// default options).
    pub async fn remember(&self, text: &str) -> Result<Fact> {
        self.remember_with(text, RememberOptions::default()).await
    }

    /// Stores what the user said: a [`EpisodeKind::Message`] episode and a
    /// [`Fact`] (confidence 1 unless given, source [`Source::User`]) whose provenance is
    /// that episode, in one batch. The text is embedded when an embedder is set.
    pub async fn remember_with(&self, text: &str, options: RememberOptions) -> Result<Fact> {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::InvalidInput(
                "nothing to remember: empty text".into(),
            ));
        }
        invalid(validate::text("the text to remember", text))?;
        let importance = options.importance.unwrap_or(0.5);
        check_unit("importance", importance)?;
        let confidence = options.confidence.unwrap_or(1.0);
        check_unit("confidence", confidence)?;
        let embedding = self.embed(text)?;
        let now = self.now();
        let kind = options.kind.unwrap_or_else(|| FactKind::guess(text));
        let make = |id: u64| -> Result<(Episode, Fact)> {
            let fact_id = id.checked_add(1).ok_or_else(|| Error::ResourceLimit("memory ids are used up".into()))?;
            let mut episode = Episode::new(EpisodeKind::Message).text(text);
            episode.id = id;
            episode.time_ms = now;
            let fact = Fact {
                id: format!("f{fact_id}"),
                text: text.to_string(),
                kind,
                confidence,
                importance,
                created_ms: now,
                updated_ms: now,
                provenance: Provenance {
                    source: Source::User,
                    episodes: vec![id],
                    rule: None,
                },
                embedding: embedding.clone(),
            };
            Ok((episode, fact))
        };
        let _queued = self.write_lock.lock().await;
        let id = self
            .insert_new(2, |id| {
                let (episode, fact) = make(id)?;
                Ok(vec![
                    put(episode_key(id), json(&episode)?),
                    put(fact_key(&fact.id), json(&fact)?),
                ])
            })
            .await?;
        Ok(make(id)?.1)
    }

    /// Every fact, in id order (corrupt ones are set aside).
    pub async fn facts(&self) -> Result<Vec<Fact>> {
        Ok(self.fact_records().await?.into_iter().map(|(_, _, f)| f).collect())
    }

    /// Every valid fact with its key and stored bytes, in id order.
    pub(super) async fn fact_records(&self) -> Result<Vec<(String, Vec<u8>, Fact)>> {
        let mut facts = self.read_valid(FACT_PREFIX, stored_fact).await?;
        facts.sort_by(|a, b| (a.2.id.len(), &a.2.id).cmp(&(b.2.id.len(), &b.2.id)));
        Ok(facts)
    }

    /// The fact `id`, if stored (a corrupt one is set aside and reads as absent).
    pub async fn fact(&self, id: &str) -> Result<Option<Fact>> {
        Ok(self.fact_record(id).await?.map(|(_, f)| f))
    }

    async fn fact_record(&self, id: &str) -> Result<Option<(Vec<u8>, Fact)>> {
        if validate::fact_id(id).is_err() {
            return Ok(None);
        }
        self.get_valid(&fact_key(id), stored_fact).await
    }

    /// The user corrects fact `id`: new text (re-embedded, kind guessed
    /// again), confidence 1, source [`Source::User`], recency restarts.
    /// An unknown id is [`Error::InvalidInput`]. Written only if the fact
    /// is unchanged since it was read (else read again), so a concurrent
    /// `forget` is never undone.
    pub async fn correct(&self, id: &str, new_text: &str) -> Result<Fact> {
        let new_text = new_text.trim();
        if new_text.is_empty() {
            return Err(Error::InvalidInput("a correction needs text".into()));
        }
        invalid(validate::text("a correction", new_text))?;
        let embedding = self.embed(new_text)?;
        let _queued = self.write_lock.lock().await;
        for _ in 0..ids::MAX_ATTEMPTS {
            let (raw, mut fact) = self
                .fact_record(id)
                .await?
                .ok_or_else(|| Error::InvalidInput(format!("no memory fact with id {id:?}")))?;
            fact.embedding = embedding.clone();
            fact.text = new_text.to_string();
            fact.kind = FactKind::guess(new_text);
            fact.confidence = 1.0;
            fact.updated_ms = self.now();
            fact.provenance.source = Source::User;
            let key = fact_key(id);
            let ops = vec![put(key.clone(), json(&fact)?)];
            if self.commit_if(vec![Expect::new(key, Some(raw))], ops).await? {
                return Ok(fact);
            }
        }
        Err(ids::kept_changing())
    }

    /// Deletes fact `id` **and the episodes it came from** (so consolidation
    /// cannot derive it again from the same evidence), or, for an id
    /// `e<n>` that is not a fact's, episode `n`. A fact whose record is
    /// corrupt is deleted alone. Returns the number of records removed; an
    /// unknown id is [`Error::InvalidInput`].
    pub async fn forget(&self, id: &str) -> Result<usize> {
        let _queued = self.write_lock.lock().await;
        let raw = if validate::fact_id(id).is_ok() {
            self.store.get(&fact_key(id)).await?
        } else {
            None
        };
        if let Some(raw) = raw {
            let mut ops = vec![WriteOp::Delete { key: fact_key(id) }];
            let parsed: Option<Fact> = serde_json::from_slice(&raw).ok();
            if let Some(fact) = parsed.filter(|f| stored_fact(&fact_key(id), f).is_ok()) {
                for e in &fact.provenance.episodes {
                    let key = episode_key(*e);
                    if self.store.get(&key).await?.is_some() {
                        ops.push(WriteOp::Delete { key });
                    }
                }
            }
            let removed = ops.len();
            self.commit(ops).await?;
            return Ok(removed);
        }
        if validate::looks_like_episode_id(id) {
            let key = id
                .strip_prefix('e')
                .and_then(|d| d.parse::<u64>().ok())
                .filter(|n| *n <= MAX_ID)
                .map(episode_key);
            if let Some(key) = key {
                if self.store.get(&key).await?.is_some() {
                    self.commit(vec![WriteOp::Delete { key }]).await?;
                    return Ok(1);
                }
            }
            return Err(Error::InvalidInput(format!("no memory episode with id {id:?}")));
        }
        Err(Error::InvalidInput(format!("no memory fact with id {id:?}")))
    }
}
