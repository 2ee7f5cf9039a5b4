//! Tools: their definitions (schema, side effects, the data class of their
//! results), the host that runs them, and the local tools over the
//! on-device recommender and memory.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::policy::DataClass;
use crate::agent::llm::ToolSpec;
use crate::error::{Error, Result};
use crate::intent::Intent;
use crate::memory::Memory;
use crate::platform::LocalBoxFuture;
use crate::profile::{Statement, UserProfile};
use crate::ranking::{self, Filters, RankRequest, Recommendation};
use crate::recommender::intent::{IntentRankOptions, IntentRanking};
use crate::recommender::{RecommendOptions, Recommender};
use super::candidates::EngineCatalog;

/// Where a tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolSource {
    /// Built into recagent (runs on the device).
    Local,
    /// Registered by the app.
    App,
}

/// A tool the planner may offer: its spec for the model, whether it has
/// side effects (then it needs autonomy 3 and approval), and the data class
/// of what it returns.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    /// Name, description and argument schema.
    pub spec: ToolSpec,
    /// Whether calling it changes anything (memory, purchases, …).
    pub side_effects: bool,
    /// The data class of its results (at least; a result may say more).
    pub result_class: DataClass,
    /// Who implements it.
    pub source: ToolSource,
}

/// An app tool as the app registers it (JSON, camelCase).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppToolRegistration {
    /// Name (`[a-zA-Z0-9_-]{1,64}`, not a built-in tool's name).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of its arguments (an object schema).
    pub parameters: Value,
    /// Whether it has side effects (default false).
    #[serde(default)]
    pub side_effects: bool,
    /// The class of its results and of its errors (default `public_item`;
    /// `request_text` is refused: a tool's output is data).
    #[serde(default = "public_item")]
    pub result_class: DataClass,
}

fn public_item() -> DataClass {
    DataClass::PublicItem
}

impl ToolDef {
    /// Checks an app registration: a valid name, not a built-in one, an
    /// object schema.
    pub fn app(reg: AppToolRegistration) -> Result<Self> {
        let name_ok = !reg.name.is_empty()
            && reg.name.len() <= 64
            && reg.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(Error::InvalidInput(format!("tool name {:?} must be 1-64 of [a-zA-Z0-9_-]", reg.name)));
        }
        if builtin_tools().iter().any(|t| t.spec.name == reg.name) {
            return Err(Error::InvalidInput(format!("tool name {:?} is a built-in tool", reg.name)));
        }
        if reg.result_class == DataClass::RequestText {
            return Err(Error::InvalidInput(format!(
                "tool {:?}: a tool's results are data, never request text: resultClass must be public_items, preference_summary or full_memory",
                reg.name
            )));
        }
        if reg.parameters.get("type").and_then(Value::as_str) != Some("object") {
            return Err(Error::InvalidInput(format!("tool {:?}: parameters must be an object schema", reg.name)));
        }
        Ok(Self {
            spec: ToolSpec { name: reg.name, description: reg.description, parameters: reg.parameters },
            side_effects: reg.side_effects,
            result_class: reg.result_class,
            source: ToolSource::App,
        })
    }
}

fn local(name: &str, description: &str, parameters: Value, side_effects: bool, result_class: DataClass) -> ToolDef {
    ToolDef {
        spec: ToolSpec { name: name.into(), description: description.into(), parameters },
        side_effects,
        result_class,
        source: ToolSource::Local,
    }
}

/// The built-in tools with their schemas.
pub fn builtin_tools() -> Vec<ToolDef> {
    let filters = json!({"type": "object", "description": "Filters: {\"where\": [{\"attribute\": NAME, \"has\"|\"not\"|\"equals\"|\"oneOf\"|\"min\"|\"max\": …}], \"excludeIds\": [ids]}"});
    vec![
        local(
            "search_catalog",
            "Searches the catalog by meaning for a text query (not personalized).",
            json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500}, "filters": filters, "k": {"type": "integer", "minimum": 1, "maximum": 50}}, "required": ["query"], "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
        local(
            "recommend",
            "Ranks items for this user on the device (profile + optional query).",
            json!({"type": "object", "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 50}, "query": {"type": "string", "maxLength": 500}, "filters": filters, "diversity": {"type": "number", "minimum": 0, "maximum": 1}}, "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
        local(
            "get_item",
            "The public details of one catalog item.",
            json!({"type": "object", "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 200}}, "required": ["id"], "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
        local(
            "recall_memory",
            "Recalls what the user told the app before (facts, preferences).",
            json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500}, "k": {"type": "integer", "minimum": 1, "maximum": 20}}, "required": ["query"], "additionalProperties": false}),
            false,
            DataClass::Memory,
        ),
        local(
            "remember",
            "Stores a fact the user stated, in the user's long-term memory.",
            json!({"type": "object", "properties": {"fact": {"type": "string", "minLength": 1, "maxLength": 500}}, "required": ["fact"], "additionalProperties": false}),
            true,
            DataClass::Memory,
        ),
        local(
            "ask_user",
            "Asks the user a clarifying question (ends this turn).",
            json!({"type": "object", "properties": {"question": {"type": "string", "minLength": 1, "maxLength": 500}}, "required": ["question"], "additionalProperties": false}),
            false,
            DataClass::RequestText,
        ),
        local(
            "explain",
            "Explains why an item suits this user.",
            json!({"type": "object", "properties": {"item": {"type": "string", "minLength": 1, "maxLength": 200}}, "required": ["item"], "additionalProperties": false}),
            false,
            DataClass::PublicItem,
        ),
    ]
}

/// One item of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerItem {
    /// Catalog id.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Ranking score, when the device ranked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Why it is here (shown on the device only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// The result, as sent to the model (if its class allows).
    pub value: Value,
    /// The data class of `value`.
    pub class: DataClass,
    /// Further pieces of a higher class (e.g. reasons citing the user's
    /// history), each sent only where its class allows.
    pub details: Vec<(DataClass, Value)>,
    /// The catalog items it returned, in order.
    pub items: Vec<AnswerItem>,
    /// One line for the trace.
    pub summary: String,
}

/// Runs tools by name. The planner only ever asks for tools it offered,
/// with validated arguments.
pub trait ToolHost {
    /// Runs tool `name` with `args`.
    fn call(&self, name: &str, args: Value) -> LocalBoxFuture<'_, Result<ToolOutput>>;
    /// A short summary of the user's stated preferences (data class
    /// `Preferences`), if the host knows one.
    fn preference_summary(&self) -> Option<String> {
        None
    }
    /// Whether item `id` is the user's own (added at run time): personal
    /// data, class `Memory`, never a public item.
    fn is_personal_item(&self, _id: &str) -> bool {
        false
    }
    /// The device's reading of a request ([`crate::intent`]), if the host
    /// can read one.
    fn understand(&self, _request: &str) -> Option<Intent> {
        None
    }
    /// The JSON schema and instructions for an LLM's intent proposal.
    fn intent_schema(&self) -> Option<(Value, String)> {
        None
    }
    /// Merges an LLM's intent proposal into the device's intent: the
    /// merged intent and what was refused.
    fn merge_intent(&self, _device: &Intent, _request: &str, _proposal: &Value) -> Option<(Intent, Vec<String>)> {
        None
    }
    /// Catalog titles `text` names that are not among `items`.
    fn ungrounded(&self, _text: &str, _items: &[AnswerItem]) -> Vec<String> {
        Vec::new()
    }
}

/// The argument key under which the planner passes the request's intent
/// to `recommend` and `search_catalog` (never offered to the model: the
/// tools' schemas do not allow it, so a model cannot set or widen it).
pub const INTENT_ARG: &str = "__intent";

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
        super::answer_check::ungrounded_titles(text, items, &titles)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(v: Value) -> Result<ToolDef> {
        ToolDef::app(serde_json::from_value(v).map_err(|e| Error::InvalidInput(e.to_string()))?)
    }

    #[test]
    fn app_tools_are_checked_at_registration() {
        let params = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let t = reg(json!({"name": "purchase", "description": "Buys.", "parameters": params, "sideEffects": true})).unwrap();
        assert!(t.side_effects && t.source == ToolSource::App && t.result_class == DataClass::PublicItem);
        let t = reg(json!({"name": "notes", "description": "", "parameters": params, "resultClass": "full_memory"})).unwrap();
        assert!(!t.side_effects && t.result_class == DataClass::Memory);
        for bad in [
            json!({"name": "recommend", "description": "", "parameters": params}),
            json!({"name": "has space", "description": "", "parameters": params}),
            json!({"name": "x", "description": "", "parameters": {"type": "string"}}),
            json!({"name": "x", "description": "", "parameters": params, "sideEffect": true}),
            json!({"name": "x", "description": "", "parameters": params, "resultClass": "request_text"}),
        ] {
            assert_eq!(reg(bad).unwrap_err().code(), "invalid_input");
        }
    }

    #[test]
    fn builtin_schemas_are_closed_objects_and_only_remember_has_side_effects() {
        let tools = builtin_tools();
        assert_eq!(tools.len(), 7);
        for t in &tools {
            assert_eq!(t.spec.parameters["type"], "object");
            assert_eq!(t.spec.parameters["additionalProperties"], false);
            assert_eq!(t.side_effects, t.spec.name == "remember", "{}", t.spec.name);
        }
    }
}
