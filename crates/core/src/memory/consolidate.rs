//! Rule-based consolidation: many episodes → a few semantic facts.
//!
//! Two rules, applied together in one atomic batch:
//!
//! 1. **Tag polarity.** Episodes with a polarity ([`Episode::polarity`]:
//!    like, purchase, rating ≥ 4 positive; dislike, rating ≤ 2 negative) are
//!    grouped by the tags of their items (case-insensitive). A tag with at
//!    least [`super::MemoryConfig::min_evidence`] positive episodes and at
//!    least twice as many positive as negative ones gives the fact
//!    "likes TAG" ([`FactKind::Preference`]); the mirror case "dislikes TAG"
//!    ([`FactKind::Aversion`]). Confidence grows with the evidence `n`:
//!    `n / (n + 2)` (3 → 0.6, 8 → 0.8, never 1: only the user is certain);
//!    importance 0.5; `updated_ms` is the time of the latest evidence. The
//!    fact's provenance lists the evidence episode ids and the rule
//!    (`like:tag` / `dislike:tag`); a later run updates that same fact
//!    (evidence = union of the ids it had and the current ones, so
//!    compaction never lowers confidence), and never rewrites the text of a
//!    fact the user corrected.
//! 2. **Repeated statements.** Facts the user stated several times (same
//!    words, ignoring case, spacing and end punctuation) become one: the
//!    oldest keeps the union of the provenance, the highest importance and
//!    the latest time; the others are deleted.
//!
//! Running it twice changes nothing the second time.
//!
//! The batch is conditional: it applies only if every fact it rewrites or
//! deletes still holds what was read (and the new facts' ids are free), so a
//! correction or a `forget` made meanwhile (another tab) is never undone;
//! on a conflict consolidation reads everything again and starts over.

use std::collections::BTreeMap;

use serde::Serialize;

use super::ids::{self, absent_keys};
use super::{fact_key, json, put, Fact, FactKind, Memory, Provenance, Source};
use crate::error::Result;
use crate::platform::{Expect, WriteOp};

/// What [`Memory::consolidate`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsolidationReport {
    /// Ids of the facts it created.
    pub created: Vec<String>,
    /// Ids of existing facts it reinforced or merged into.
    pub updated: Vec<String>,
    /// Ids of duplicate facts it deleted (merged into another).
    pub removed: Vec<String>,
}

fn normalized(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(['.', '!', '?', ';', ','])
        .to_string()
}

fn union(into: &mut Vec<u64>, more: impl IntoIterator<Item = u64>) {
    into.extend(more);
    into.sort_unstable();
    into.dedup();
}

/// Positive and negative evidence for one tag.
#[derive(Default)]
struct Evidence {
    tag: String,
    positive: Vec<(u64, f64)>,
    negative: Vec<(u64, f64)>,
}

impl Memory {
    /// Applies the consolidation rules (module docs above) to the whole
    /// episodic and semantic memory, in one batch.
    pub async fn consolidate(&self) -> Result<ConsolidationReport> {
        let _queued = self.write_lock.lock().await;
        for _ in 0..ids::MAX_ATTEMPTS {
            if let Some(report) = self.consolidate_once().await? {
                return Ok(report);
            }
        }
        Err(ids::kept_changing())
    }

    /// One attempt: `None` when the store changed under it.
    async fn consolidate_once(&self) -> Result<Option<ConsolidationReport>> {
        let episodes = self.episodes().await?;
        let records = self.fact_records().await?;
        let read: BTreeMap<String, Vec<u8>> =
            records.iter().map(|(key, raw, _)| (key.clone(), raw.clone())).collect();
        let mut facts: Vec<Fact> = records.into_iter().map(|(_, _, f)| f).collect();
        let mut expect: Vec<Expect> = Vec::new();
        let unchanged = |id: &str| Expect::new(fact_key(id), read.get(&fact_key(id)).cloned());
        let mut report = ConsolidationReport::default();
        let mut changed: BTreeMap<String, Fact> = BTreeMap::new();
        let mut ops = Vec::new();

        // Rule 2: merge repeated statements.
        let mut first: BTreeMap<String, usize> = BTreeMap::new();
        let mut dead = vec![false; facts.len()];
        for i in 0..facts.len() {
            if facts[i].provenance.source != Source::User {
                continue;
            }
            let norm = normalized(&facts[i].text);
            match first.get(&norm) {
                None => {
                    first.insert(norm, i);
                }
                Some(&keep) => {
                    let dup = facts[i].clone();
                    let target = &mut facts[keep];
                    union(&mut target.provenance.episodes, dup.provenance.episodes);
                    target.importance = target.importance.max(dup.importance);
                    target.updated_ms = target.updated_ms.max(dup.updated_ms);
                    changed.insert(target.id.clone(), target.clone());
                    dead[i] = true;
                    report.removed.push(dup.id.clone());
                    expect.push(unchanged(&dup.id));
                    ops.push(WriteOp::Delete {
                        key: fact_key(&dup.id),
                    });
                }
            }
        }

        // Rule 1: tag polarity.
        let mut by_tag: BTreeMap<String, Evidence> = BTreeMap::new();
        for e in &episodes {
            let p = e.polarity();
            if p == 0 {
                continue;
            }
            for tag in &e.tags {
                let tag = tag.trim();
                if tag.is_empty() {
                    continue;
                }
                let ev = by_tag.entry(tag.to_lowercase()).or_default();
                if ev.tag.is_empty() {
                    ev.tag = tag.to_string();
                }
                let side = if p > 0 {
                    &mut ev.positive
                } else {
                    &mut ev.negative
                };
                side.push((e.id, e.time_ms));
            }
        }
        let min = self.config.min_evidence.max(1);
        // (rule, text, kind, evidence) of the facts to create
        type NewFact = (String, String, FactKind, Vec<(u64, f64)>);
        let mut new_facts: Vec<NewFact> = Vec::new();
        for (lower, ev) in by_tag {
            let (p, n) = (ev.positive.len(), ev.negative.len());
            let (rule, text, kind, evidence) = if p >= min && p >= 2 * n {
                (
                    format!("like:{lower}"),
                    format!("likes {}", ev.tag),
                    FactKind::Preference,
                    ev.positive,
                )
            } else if n >= min && n >= 2 * p {
                (
                    format!("dislike:{lower}"),
                    format!("dislikes {}", ev.tag),
                    FactKind::Aversion,
                    ev.negative,
                )
            } else {
                continue;
            };
            let existing = facts
                .iter_mut()
                .zip(&dead)
                .find(|(f, d)| !**d && f.provenance.rule.as_deref() == Some(rule.as_str()));
            match existing {
                Some((fact, _)) => {
                    let before = fact.clone();
                    union(&mut fact.provenance.episodes, evidence.iter().map(|e| e.0));
                    let latest = evidence.iter().map(|e| e.1).fold(f64::MIN, f64::max);
                    fact.updated_ms = fact.updated_ms.max(latest);
                    if fact.provenance.source == Source::Consolidation {
                        let n = fact.provenance.episodes.len() as f32;
                        fact.confidence = n / (n + 2.0);
                    }
                    if *fact != before {
                        changed.insert(fact.id.clone(), fact.clone());
                    }
                }
                None => new_facts.push((rule, text, kind, evidence)),
            }
        }
        for id in changed.keys() {
            report.updated.push(id.clone());
        }
        for fact in changed.into_values() {
            expect.push(unchanged(&fact.id));
            ops.push(put(fact_key(&fact.id), json(&fact)?));
        }

        let mut reserved = None;
        if !new_facts.is_empty() {
            let r = self.reserve(self.read_counter().await?, new_facts.len() as u64)?;
            let first_id = r.first;
            expect.push(r.expect.clone());
            let mut created = Vec::new();
            for (i, (rule, text, kind, evidence)) in (0u64..).zip(new_facts) {
                let mut evidence_ids: Vec<u64> = evidence.iter().map(|e| e.0).collect();
                union(&mut evidence_ids, []);
                let n = evidence_ids.len() as f32;
                let latest = evidence.iter().map(|e| e.1).fold(f64::MIN, f64::max);
                // reserve() checked that first_id + len - 1 <= MAX_ID.
                let fact = Fact {
                    id: format!("f{}", first_id.saturating_add(i)),
                    embedding: self.embed(&text)?,
                    text,
                    kind,
                    confidence: n / (n + 2.0),
                    importance: 0.5,
                    created_ms: self.now(),
                    updated_ms: latest,
                    provenance: Provenance {
                        source: Source::Consolidation,
                        episodes: evidence_ids,
                        rule: Some(rule),
                    },
                };
                report.created.push(fact.id.clone());
                created.push(put(fact_key(&fact.id), json(&fact)?));
            }
            expect.extend(absent_keys(&created));
            ops.extend(created);
            ops.push(r.advance.clone());
            reserved = Some(r);
        }
        if ops.is_empty() {
            return Ok(Some(report));
        }
        if self.commit_if(expect, ops).await? {
            if let Some(r) = reserved {
                self.reserved_written(r);
            }
            Ok(Some(report))
        } else {
            if let Some(r) = reserved {
                self.reserved_conflicted(r).await?;
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Episode;
    use super::*;

    #[test]
    fn statements_normalize_case_spacing_and_end_punctuation() {
        assert_eq!(normalized("  I am  Vegetarian. "), "i am vegetarian");
        assert_eq!(normalized("i am vegetarian!"), "i am vegetarian");
    }

    #[test]
    fn polarity_follows_kind_and_rating() {
        use super::super::EpisodeKind as K;
        assert_eq!(Episode::new(K::Like).polarity(), 1);
        assert_eq!(Episode::new(K::Skip).polarity(), 0);
        assert_eq!(Episode::new(K::Rating).value(2.0).polarity(), -1);
        assert_eq!(Episode::new(K::Rating).value(3.0).polarity(), 0);
    }
}
