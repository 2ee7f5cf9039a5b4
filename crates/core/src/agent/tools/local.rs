//! The built-in tools over the on-device recommender and memory
//! ([`LocalTools`]), and over a candidate engine's answers when one is
//! attached ([`LocalTools::with_engine`]).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Map, Value};

use super::{AnswerItem, ToolHost, ToolOutput, INTENT_ARG};
use crate::agent::candidates::EngineCatalog;
use crate::agent::policy::DataClass;
use crate::error::{Error, Result};
use crate::intent::Intent;
use crate::memory::Memory;
use crate::platform::LocalBoxFuture;
use crate::profile::{Statement, UserProfile};
use crate::ranking::{self, Filters, RankRequest, Recommendation};
use crate::recommender::intent::{IntentRankOptions, IntentRanking};
use crate::recommender::{RecommendOptions, Recommender};

/// The built-in tools over the on-device recommender and (optionally) memory.
pub struct LocalTools {
    recommender: Rc<RefCell<Recommender>>,
    memory: Option<Rc<Memory>>,
    /// The candidate engine `recommend` and `search_catalog` rank over, if any.
    engine: Option<Rc<EngineCatalog>>,
}

fn arg_str<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

fn arg_filters(args: &Value) -> Result<Filters> {
    match args.get("filters") {
        None | Some(Value::Null) => Ok(Filters::default()),
        Some(f) => serde_json::from_value(f.clone()).map_err(|e| Error::InvalidInput(format!("filters: {e}"))),
    }
}

fn cites_history(r: &Recommendation) -> bool {
    !r.explanation.because.is_empty()
}

impl LocalTools {
    /// Tools over `recommender` and `memory` (without memory, `recall_memory`
    /// and `remember` fail with [`Error::InvalidInput`]).
    pub fn new(recommender: Rc<RefCell<Recommender>>, memory: Option<Rc<Memory>>) -> Self {
        Self { recommender, memory, engine: None }
    }

    /// The same tools, with `recommend` and `search_catalog` ranking the
    /// candidates `engine` returns ([`EngineCatalog::working`]) instead of
    /// the whole on-device catalog; when the engine cannot be used, the
    /// on-device catalog answers and the tool's summary says why.
    pub fn with_engine(mut self, engine: Rc<EngineCatalog>) -> Self {
        self.engine = Some(engine);
        self
    }

    /// `recommend` or `search_catalog` over the engine's candidates.
    async fn over_engine(&self, engine: &EngineCatalog, name: &str, args: &Value) -> Result<ToolOutput> {
        let intent = Self::intent_arg(args)?;
        let query = arg_str(args, "query")
            .map(str::to_string)
            .or_else(|| intent.as_ref().map(|i| i.text.clone()))
            .filter(|q| !q.trim().is_empty())
            // All constraints and no free text: search near what they say.
            .or_else(|| intent.as_ref().map(|i| i.summary.replace('·', " ")))
            .filter(|q| !q.trim().is_empty());
        let mut filters = arg_filters(args)?;
        if let Some(intent) = &intent {
            // What the intent keeps however far it is relaxed can be asked
            // of the engine; the rest is applied on the device.
            filters.predicates.extend(intent.filters(crate::intent::Relax::AnyOf).predicates);
        }
        let options = RecommendOptions { query, filters, ..Default::default() };
        let (view, trace) = engine.working(&self.recommender, &options).await?;
        let mut out = match view {
            Some(view) => LocalTools::new(Rc::new(RefCell::new(view)), self.memory.clone()).rank_tool(name, args)?,
            None => {
                let mut args = args.clone();
                // A small bundle has no text embeddings to match a query against.
                if self.recommender.borrow().catalog().text_embeddings().is_none() {
                    if let Some(a) = args.as_object_mut() {
                        a.remove("query");
                        if let Some(i) = a.get_mut(INTENT_ARG).and_then(Value::as_object_mut) {
                            i.insert("text".into(), Value::String(String::new()));
                        }
                    }
                }
                self.rank_tool(name, &args)?
            }
        };
        out.summary = format!("{} ({})", out.summary, trace.line());
        Ok(out)
    }

    /// The tools over the on-device catalog.
    async fn call_local(&self, name: &str, args: Value) -> Result<ToolOutput> {
        match name {
            "recommend" => self.recommend(&args),
            "search_catalog" => self.search(&args),
            "get_item" => self.get_item(&args),
            "explain" => self.explain(&args),
            "recall_memory" => {
                let memory = self.memory()?;
                let k = args.get("k").and_then(Value::as_u64).unwrap_or(5).clamp(1, 20) as usize;
                let found = memory.recall(arg_str(&args, "query").unwrap_or_default(), k).await?;
                let facts: Vec<Value> = found.iter().map(|r| json!({"id": r.fact.id, "text": r.fact.text})).collect();
                Ok(ToolOutput {
                    summary: format!("recall_memory: {} facts", facts.len()),
                    value: json!({ "facts": facts }),
                    class: DataClass::Memory,
                    details: Vec::new(),
                    items: Vec::new(),
                })
            }
            "remember" => {
                let memory = self.memory()?;
                let fact = memory.remember(arg_str(&args, "fact").unwrap_or_default()).await?;
                Ok(ToolOutput {
                    summary: format!("remember: stored {}", fact.id),
                    value: json!({"stored": fact.id, "text": fact.text}),
                    class: DataClass::Memory,
                    details: Vec::new(),
                    items: Vec::new(),
                })
            }
            other => Err(Error::InvalidInput(format!("no local tool named {other:?}"))),
        }
    }

    fn rank_tool(&self, name: &str, args: &Value) -> Result<ToolOutput> {
        if name == "recommend" {
            self.recommend(args)
        } else {
            self.search(args)
        }
    }

    fn items_output(&self, name: &str, list: &[Recommendation]) -> ToolOutput {
        let rec = self.recommender.borrow();
        let catalog = rec.catalog();
        let mut public = Vec::new();
        let mut private = Vec::new();
        let mut personal = Vec::new();
        let mut items = Vec::new();
        for r in list {
            let Some(item) = catalog.item(r.index) else { continue };
            if catalog.is_added(r.index) {
                // The user's own item: personal data, sent only at full_memory.
                personal.push(json!({"id": item.id(), "title": item.title(), "reason": r.explanation.summary, "userAdded": true}));
            } else {
                let mut entry = json!({"id": item.id(), "title": item.title()});
                if !cites_history(r) {
                    entry["reason"] = Value::String(r.explanation.summary.clone());
                } else {
                    private.push(json!({"id": item.id(), "reason": r.explanation.summary}));
                }
                public.push(entry);
            }
            items.push(AnswerItem {
                id: item.id().to_string(),
                title: item.title().to_string(),
                score: Some(r.score),
                reason: Some(r.explanation.summary.clone()),
            });
        }
        ToolOutput {
            summary: format!("{name}: {} items", items.len()),
            value: json!({ "items": public }),
            class: DataClass::PublicItem,
            details: [("reasons", private), ("yourItems", personal)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (DataClass::Memory, json!({ k: v })))
                .collect(),
            items,
        }
    }

    /// `recommend`/`search_catalog` under the request's intent: its hard
    /// constraints and the model's filters together.
    fn intent_output(&self, name: &str, args: &Value, intent: &Intent, personal: bool) -> Result<ToolOutput> {
        let options = IntentRankOptions {
            k: args.get("k").and_then(Value::as_u64).unwrap_or(10).clamp(1, 50) as usize,
            query: arg_str(args, "query").map(str::to_string),
            extra: arg_filters(args)?,
            diversity: args.get("diversity").and_then(Value::as_f64).map(|d| d as f32),
            personal,
        };
        let ranking: IntentRanking = self.recommender.borrow().rank_intent(intent, &options)?;
        let list: Vec<Recommendation> = ranking
            .items
            .iter()
            .map(|i| {
                let mut r = i.rec.clone();
                r.explanation.summary = i.reason.clone();
                r
            })
            .collect();
        let mut out = self.items_output(name, &list);
        if let Some(note) = &ranking.note {
            out.value["note"] = Value::String(note.clone());
            out.summary = format!("{} ({note})", out.summary);
        }
        Ok(out)
    }

    /// The first `k` of `list` with no title twice (remakes and duplicate
    /// catalog rows read as the same film).
    fn unique(&self, list: Vec<Recommendation>, k: usize) -> Vec<Recommendation> {
        let rec = self.recommender.borrow();
        let mut titles = std::collections::HashSet::new();
        list.into_iter()
            .filter(|r| rec.catalog().item(r.index).is_none_or(|i| titles.insert(crate::recommender::intent::title_key(i.title()))))
            .take(k)
            .collect()
    }

    fn intent_arg(args: &Value) -> Result<Option<Intent>> {
        match args.get(INTENT_ARG) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone()).map(Some).map_err(|e| Error::InvalidInput(format!("intent: {e}"))),
        }
    }

    fn recommend(&self, args: &Value) -> Result<ToolOutput> {
        if let Some(intent) = Self::intent_arg(args)? {
            return self.intent_output("recommend", args, &intent, true);
        }
        let options = RecommendOptions {
            k: Some(args.get("k").and_then(Value::as_u64).unwrap_or(10).clamp(1, 50) as usize + 10),
            query: arg_str(args, "query").map(str::to_string),
            filters: arg_filters(args)?,
            diversity: args.get("diversity").and_then(Value::as_f64).map(|d| d as f32),
            ..Default::default()
        };
        let list = self.recommender.borrow().recommend(&options)?;
        let k = options.k.unwrap_or(10).saturating_sub(10).max(1);
        Ok(self.items_output("recommend", &self.unique(list, k)))
    }

    fn search(&self, args: &Value) -> Result<ToolOutput> {
        if let Some(intent) = Self::intent_arg(args)? {
            return self.intent_output("search_catalog", args, &intent, false);
        }
        let query = arg_str(args, "query").unwrap_or_default();
        let list = {
            let mut rec = self.recommender.borrow_mut();
            let weights = rec.weights_mut().clone();
            // "…, not animated": the negated genre is a filter, not part of the text.
            let (text, exclusions) = rec.query_exclusions(query);
            let text = if text.is_empty() { query.to_string() } else { text };
            let mut filters = arg_filters(args)?;
            filters.predicates.extend(exclusions);
            let request = RankRequest {
                k: args.get("k").and_then(Value::as_u64).unwrap_or(10).clamp(1, 50) as usize + 10,
                query: Some(rec.embed_query(&text)?),
                query_text: Some(text),
                filters,
                diversity: Some(0.0),
                explore: 0.0,
                seed: Some(0),
                photo: None,
            };
            // Not personalized: an empty profile, so nothing of the user's leaks into results.
            ranking::rank(rec.catalog(), &UserProfile::new(), &request, &weights)?
        };
        let k = args.get("k").and_then(Value::as_u64).unwrap_or(10).clamp(1, 50) as usize;
        Ok(self.items_output("search_catalog", &self.unique(list, k)))
    }

    fn get_item(&self, args: &Value) -> Result<ToolOutput> {
        let id = arg_str(args, "id").unwrap_or_default();
        let rec = self.recommender.borrow();
        let catalog = rec.catalog();
        if catalog.index_of(id).is_none() {
            // A record a candidate engine returned: public.
            if let Some(w) = rec.engine_items().get(id) {
                let item = &w.item;
                let mut attributes = Map::new();
                for (def, value) in catalog.attributes().iter().zip(&item.values) {
                    if !value.as_ref().is_missing() {
                        attributes.insert(def.name.clone(), serde_json::to_value(value).unwrap_or(Value::Null));
                    }
                }
                return Ok(ToolOutput {
                    value: json!({"id": item.id, "title": item.title, "text": item.text, "attributes": attributes}),
                    class: DataClass::PublicItem,
                    details: Vec::new(),
                    items: vec![AnswerItem { id: item.id.clone(), title: item.title.clone(), score: None, reason: None }],
                    summary: format!("get_item: {}", item.title),
                });
            }
        }
        let index = catalog.require(id)?;
        let item = catalog.item(index).ok_or_else(|| Error::UnknownItem(id.to_string()))?;
        let mut attributes = Map::new();
        for (def, value) in catalog.attributes().iter().zip(item.values()) {
            if !value.is_missing() {
                attributes.insert(def.name.clone(), serde_json::to_value(value.to_owned()).unwrap_or(Value::Null));
            }
        }
        Ok(ToolOutput {
            value: json!({"id": item.id(), "title": item.title(), "text": item.text(), "attributes": attributes}),
            class: if catalog.is_added(index) { DataClass::Memory } else { DataClass::PublicItem },
            details: Vec::new(),
            items: vec![AnswerItem { id: item.id().to_string(), title: item.title().to_string(), score: None, reason: None }],
            summary: format!("get_item: {}", item.title()),
        })
    }

    fn explain(&self, args: &Value) -> Result<ToolOutput> {
        let id = arg_str(args, "item").unwrap_or_default();
        let mut rec = self.recommender.borrow_mut();
        let weights = rec.weights_mut().clone();
        let catalog = rec.catalog();
        let index = catalog.require(id)?;
        let scored = ranking::score::score(catalog, rec.profile(), None, &weights)?;
        let space = ranking::score::similarity_space(catalog);
        let request = RankRequest { k: 1, ..Default::default() };
        let e = ranking::explain::explain(catalog, space.as_deref(), &scored, index, &request, false);
        let title = catalog.item(index).map(|i| i.title().to_string()).unwrap_or_default();
        let cites = !e.because.is_empty();
        let value = json!({"id": id, "title": title, "explanation": e.summary, "because": e.because.iter().map(|b| b.title.clone()).collect::<Vec<_>>(), "interest": e.interest});
        Ok(ToolOutput {
            value,
            class: if cites || e.interest.is_some() || catalog.is_added(index) { DataClass::Memory } else { DataClass::PublicItem },
            details: Vec::new(),
            items: vec![AnswerItem { id: id.to_string(), title, score: None, reason: Some(e.summary) }],
            summary: format!("explain: {id}"),
        })
    }

    fn memory(&self) -> Result<Rc<Memory>> {
        self.memory.clone().ok_or_else(|| Error::InvalidInput("no long-term memory is attached".into()))
    }
}

impl ToolHost for LocalTools {
    fn call(&self, name: &str, args: Value) -> LocalBoxFuture<'_, Result<ToolOutput>> {
        let name = name.to_string();
        Box::pin(async move {
            match (name.as_str(), &self.engine) {
                ("recommend" | "search_catalog", Some(engine)) => self.over_engine(engine, &name, &args).await,
                _ => self.call_local(&name, args).await,
            }
        })
    }

    fn preference_summary(&self) -> Option<String> {
        let rec = self.recommender.borrow();
        let said: Vec<String> = rec
            .profile()
            .statements()
            .iter()
            .map(|s| match s {
                Statement::Exclude { source, .. } => source.clone(),
                Statement::Avoid { text, .. } => format!("avoid {text}"),
                Statement::Prefer { text, .. } => format!("prefers {text}"),
            })
            .collect();
        (!said.is_empty()).then(|| format!("The user said: {}", said.join("; ")))
    }

    fn is_personal_item(&self, id: &str) -> bool {
        let rec = self.recommender.borrow();
        rec.catalog().index_of(id).is_some_and(|i| rec.catalog().is_added(i))
    }

    fn understand(&self, request: &str) -> Option<Intent> {
        Some(self.recommender.borrow().understand(request))
    }

    fn intent_schema(&self) -> Option<(Value, String)> {
        Some(self.recommender.borrow().intent_schema())
    }

    fn merge_intent(&self, device: &Intent, request: &str, proposal: &Value) -> Option<(Intent, Vec<String>)> {
        Some(self.recommender.borrow().merge_intent(device, request, proposal))
    }

    fn ungrounded(&self, text: &str, items: &[AnswerItem]) -> Vec<String> {
        let rec = self.recommender.borrow();
        let titles: Vec<&str> = rec.catalog().items().map(|i| i.title()).collect();
        crate::agent::answer_check::ungrounded_titles(text, items, &titles)
    }
}
