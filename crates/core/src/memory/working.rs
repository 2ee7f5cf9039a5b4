//! Working memory: the current conversation and the task state, one
//! record (`work/state`) changed by conditional read-modify-writes.

use super::{ids, invalid, json, put, validate, Memory, Role, Turn, WorkingMemory, WORK_KEY};
use crate::error::Result;
use crate::platform::Expect;

impl Memory {
    /// The current conversation and task state (a corrupt record reads as
    /// empty and is set aside).
    pub async fn working(&self) -> Result<WorkingMemory> {
        Ok(self.working_record().await?.1)
    }

    async fn working_record(&self) -> Result<(Option<Vec<u8>>, WorkingMemory)> {
        Ok(match self.get_valid(WORK_KEY, |_, w| validate::working(w)).await? {
            Some((raw, w)) => (Some(raw), w),
            None => (None, WorkingMemory::default()),
        })
    }

    /// Read-modify-write of working memory: `change` is applied to what is
    /// stored and written only if nothing changed it meanwhile (else again).
    async fn update_working(&self, change: impl Fn(&mut WorkingMemory)) -> Result<WorkingMemory> {
        let _queued = self.write_lock.lock().await;
        for _ in 0..ids::MAX_ATTEMPTS {
            let (raw, mut w) = self.working_record().await?;
            change(&mut w);
            invalid(validate::working(&w))?;
            let expect = vec![Expect::new(WORK_KEY, raw)];
            if self.commit_if(expect, vec![put(WORK_KEY.into(), json(&w)?)]).await? {
                return Ok(w);
            }
        }
        Err(ids::kept_changing())
    }

    /// Appends a turn (at most [`MAX_TEXT_BYTES`]); only the last
    /// [`MemoryConfig::working_turns`] are kept.
    pub async fn push_turn(&self, role: Role, text: &str) -> Result<WorkingMemory> {
        invalid(validate::text("a turn", text))?;
        let now = self.now();
        let keep = self.config.working_turns;
        self.update_working(|w| {
            w.turns.push(Turn {
                role,
                text: text.to_string(),
                time_ms: now,
            });
            let excess = w.turns.len().saturating_sub(keep);
            w.turns.drain(..excess);
        })
        .await
    }

    /// Sets (or with `None` clears) the task state (at most 1 MiB as JSON).
    pub async fn set_task(&self, task: Option<serde_json::Value>) -> Result<()> {
        self.update_working(|w| w.task = task.clone()).await.map(|_| ())
    }

    /// Ends the conversation: working memory becomes empty.
    pub async fn clear_working(&self) -> Result<()> {
        self.store.delete(WORK_KEY).await
    }
}
