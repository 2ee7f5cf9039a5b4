//! Recommending over a catalog held by a candidate engine: the device asks
//! the engine for public candidates (only what the privacy policy allows,
//! through [`build_candidate_query`]), then ranks them privately with the
//! profile, the sequence model, statements, filters, MMR and exploration,
//! exactly as it ranks the on-device catalog
//! ([`Recommender::working_view`]).
//!
//! When the engine cannot answer (down, slow, refused by the policy, or
//! answering garbage), the on-device catalog answers instead and the result
//! says why ([`EngineFallback`]). [`chroma`] is the Chroma adapter.

pub mod chroma;
mod chroma_wire;

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;

use super::outbound::{build_candidate_query, CandidateParts};
use super::policy::{DataClass, PrivacyPolicy};
use crate::catalog::engine_record::from_record;
use crate::catalog::{Item, WorkingItem};
use crate::error::{Error, Result};
use crate::platform::{CandidateSource, Clock};
use crate::profile::Statement;
use crate::ranking::{Predicate, Recommendation};
use crate::recommender::{RecommendOptions, Recommender};

/// The default number of candidates asked of the engine.
pub const DEFAULT_CANDIDATES: usize = 500;

/// A candidate engine with the policy that governs what reaches it.
pub struct EngineCatalog {
    source: Rc<dyn CandidateSource>,
    policy: RefCell<PrivacyPolicy>,
    clock: Rc<dyn Clock>,
    /// How many candidates to ask for (1..=5000; default [`DEFAULT_CANDIDATES`]).
    pub limit: usize,
}

/// Why the engine's candidates were not used.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineFallback {
    /// `policy_denied` (nothing may be sent to the engine), `nothing_to_ask`
    /// (no query and no public list), or the engine's error code
    /// (`network_error`, `timeout`, `engine_error`, `response_too_large`, …).
    pub code: String,
    /// What happened, for a person.
    pub message: String,
}

/// Where the candidates came from and what was sent for them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateTrace {
    /// `engine` or `device`.
    pub origin: &'static str,
    /// The engine's endpoint.
    pub endpoint: String,
    /// How many candidates were ranked (engine records, or catalog items).
    pub candidates: usize,
    /// Whether a search vector was sent (the request's embedding, or the
    /// profile vector where the policy allows it).
    pub sent_vector: bool,
    /// How many conditions were sent.
    pub sent_conditions: usize,
    /// Classes of what the policy kept on the device.
    pub withheld: Vec<DataClass>,
    /// Why the on-device catalog answered, when it did.
    pub fallback: Option<EngineFallback>,
    /// Milliseconds the engine took (0 when not asked).
    pub engine_ms: f64,
}

/// One ranked item with its public fields (engine records are not in the
/// device's catalog, so the item travels with its ranking).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankedItem {
    /// Its ranking, score and explanation.
    #[serde(flatten)]
    pub recommendation: Recommendation,
    /// The item.
    pub item: Item,
}

/// What [`EngineCatalog::recommend`] returns.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineRecommendations {
    /// The ranked items, best first.
    pub items: Vec<RankedItem>,
    /// Where they came from.
    pub trace: CandidateTrace,
}

impl EngineCatalog {
    /// An engine governed by `policy`; `clock` times the engine's answers.
    pub fn new(source: Rc<dyn CandidateSource>, policy: PrivacyPolicy, clock: Rc<dyn Clock>) -> Self {
        Self {
            source,
            policy: RefCell::new(policy),
            clock,
            limit: DEFAULT_CANDIDATES,
        }
    }

    /// Replaces the policy.
    pub fn set_policy(&self, policy: PrivacyPolicy) {
        *self.policy.borrow_mut() = policy;
    }

    /// The engine's endpoint.
    pub fn endpoint(&self) -> &str {
        self.source.endpoint()
    }

    /// What the device would ask the engine for `options`, each part with
    /// its class (before the policy is read).
    pub fn parts(&self, recommender: &Recommender, options: &RecommendOptions) -> Result<CandidateParts> {
        self.request(recommender, options).map(|(parts, _)| parts)
    }

    /// [`EngineCatalog::parts`] and the embedded query text with its
    /// vector, which the working view reuses instead of embedding it again.
    fn request(&self, recommender: &Recommender, options: &RecommendOptions) -> Result<(CandidateParts, Option<(String, Vec<f32>)>)> {
        let attributes = recommender.catalog().attributes();
        let mut request_predicates: Vec<Predicate> = options.filters.predicates.clone();
        let mut request_vector = None;
        if let Some(q) = options.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let (text, exclusions) = recommender.query_exclusions(q);
            request_predicates.extend(exclusions);
            let text = if text.is_empty() { q.to_string() } else { text };
            let vector = recommender.embed_text(&text)?;
            request_vector = Some((text, vector));
        }
        let mut request_conditions = Vec::new();
        for p in &request_predicates {
            // Checked as the device will check it (a bad filter is the
            // caller's error, not a reason to fall back).
            if !attributes.iter().any(|a| a.name == p.attribute) {
                return Err(Error::InvalidInput(format!("filter on unknown attribute {:?}", p.attribute)));
            }
            request_conditions.extend(p.engine_conditions(attributes).unwrap_or_default());
        }
        let mut preference_conditions = Vec::new();
        for st in recommender.profile().statements() {
            if let Statement::Exclude { attribute, value, .. } = st {
                let p = Predicate { attribute: attribute.clone(), not: Some(value.clone()), ..Predicate::default() };
                preference_conditions.extend(p.engine_conditions(attributes).unwrap_or_default());
            }
        }
        let embedded = request_vector.clone();
        let parts = CandidateParts {
            request_vector: request_vector.map(|(_, v)| v),
            request_conditions,
            preference_conditions,
            profile_vector: recommender.profile_vector(),
            profile_sequence_vector: recommender.profile_sequence_vector(),
            public_ids: recommender.popular_ids(self.limit),
            limit: self.limit,
        };
        Ok((parts, embedded))
    }

    /// Ranks the engine's candidates for `options` (see the module docs).
    /// Errors are the caller's (a bad option, a missing text model); the
    /// engine's failures are fallbacks named in the trace.
    pub async fn recommend(&self, recommender: &RefCell<Recommender>, options: &RecommendOptions) -> Result<EngineRecommendations> {
        let (view, trace) = self.working(recommender, options).await?;
        match view {
            Some(view) => {
                let list = view.recommend(options)?;
                Ok(EngineRecommendations { items: with_items(&view, list), trace })
            }
            None => on_device(recommender, options, trace),
        }
    }

    /// Asks the engine for the candidates of `options` and returns the
    /// working view over them ([`Recommender::working_view`]), or `None`
    /// with the reason in the trace when the on-device catalog must answer.
    pub async fn working(&self, recommender: &RefCell<Recommender>, options: &RecommendOptions) -> Result<(Option<Recommender>, CandidateTrace)> {
        if !(1..=crate::platform::candidates::MAX_CANDIDATES).contains(&self.limit) {
            return Err(Error::InvalidInput(format!("candidates: {} is outside 1..=5000", self.limit)));
        }
        let (parts, embedded) = self.request(&recommender.borrow(), options)?;
        let level = self.policy.borrow().share_for(self.source.endpoint());
        let built = build_candidate_query(level, parts);
        let mut trace = CandidateTrace {
            origin: "device",
            endpoint: self.source.endpoint().to_string(),
            candidates: 0,
            sent_vector: false,
            sent_conditions: 0,
            withheld: built.withheld.clone(),
            fallback: None,
            engine_ms: 0.0,
        };
        let Some(query) = built.query else {
            let (code, message) = if level == crate::agent::ShareLevel::Nothing {
                ("policy_denied", format!("the privacy policy allows nothing to be sent to {}", trace.endpoint))
            } else {
                ("nothing_to_ask", "no request text, and nothing else the policy allows to search with".to_string())
            };
            trace.fallback = Some(EngineFallback { code: code.into(), message });
            return Ok((None, trace));
        };
        trace.sent_vector = query.vector().is_some();
        trace.sent_conditions = query.conditions().len();
        let started = self.clock.now_ms();
        let answer = self.source.candidates(&query).await;
        trace.engine_ms = (self.clock.now_ms() - started).max(0.0);
        let records = match answer {
            Ok(r) => r,
            Err(e) => {
                trace.fallback = Some(EngineFallback { code: e.code().into(), message: e.to_string() });
                return Ok((None, trace));
            }
        };
        let attributes = recommender.borrow().catalog().attributes().to_vec();
        let items = records
            .iter()
            .map(|r| from_record(&attributes, r).map(|(item, popularity)| WorkingItem { item, vector: r.vector.clone(), popularity, sequence: r.sequence.clone() }))
            .collect::<Result<Vec<_>>>();
        match items.and_then(|items| recommender.borrow_mut().working_view(items, embedded)) {
            Ok(view) => {
                trace.origin = "engine";
                trace.candidates = records.len();
                Ok((Some(view), trace))
            }
            Err(e) if e.code() == "engine_error" || e.code() == "invalid_catalog" => {
                trace.fallback = Some(EngineFallback { code: "engine_error".into(), message: e.to_string() });
                Ok((None, trace))
            }
            Err(e) => Err(e),
        }
    }
}

impl CandidateTrace {
    /// One line for a person: where the candidates came from, or why the
    /// device answered.
    pub fn line(&self) -> String {
        match &self.fallback {
            None => format!("{} candidates from {} in {:.0} ms", self.candidates, self.endpoint, self.engine_ms),
            Some(f) => format!("on-device catalog ({}: {})", f.code, f.message),
        }
    }
}

/// The on-device catalog's answer, after the engine's could not be used.
/// A catalog without text embeddings (a small bundle) cannot take the
/// query's embedding: it then ranks without it (history, popularity, filters).
fn on_device(recommender: &RefCell<Recommender>, options: &RecommendOptions, mut trace: CandidateTrace) -> Result<EngineRecommendations> {
    let rec = recommender.borrow();
    let mut options = options.clone();
    if rec.catalog().text_embeddings().is_none() && options.query.is_some() {
        options.query = None;
        if let Some(f) = trace.fallback.as_mut() {
            f.message.push_str("; the on-device catalog has no text embeddings, so it ranked without the query");
        }
    }
    trace.candidates = rec.catalog().len();
    let list = rec.recommend(&options)?;
    Ok(EngineRecommendations { items: with_items(&rec, list), trace })
}

fn with_items(rec: &Recommender, list: Vec<Recommendation>) -> Vec<RankedItem> {
    list.into_iter()
        .filter_map(|r| {
            let item = rec.catalog().item(r.index)?.to_item();
            Some(RankedItem { recommendation: r, item })
        })
        .collect()
}
