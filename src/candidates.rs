//! The `candidates` option of `Recommender.create`: a catalog held by a
//! candidate engine (Chroma over `fetch`), what `recommend` and the agent
//! rank over, governed by the same privacy policy and written to the same
//! ledger as the agent's requests.

use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::fetch::JsClock;
use super::interop::{field, invalid, js_error, reject_unknown_keys, to_js};
use recagent_core::agent::candidates::chroma::ChromaSource;
use recagent_core::agent::candidates::{EngineCatalog, EngineRecommendations};
use recagent_core::agent::llm::Ledger;
use recagent_core::agent::PrivacyPolicy;
use recagent_core::platform::Http;
use recagent_core::ranking::Explanation;

#[wasm_bindgen(typescript_custom_section)]
const TS_CANDIDATES: &'static str = r#"
/** A catalog held by a candidate engine ({@link RecommenderOptions.candidates}). */
export interface CandidateEngineOptions {
  /** `chroma+http://HOST:PORT/COLLECTION` (or `chroma+https://…`, with
   *  `?tenant=…&database=…` when not the defaults), written by
   *  `recagent build-catalog --to`. The server must allow the page's origin (CORS). */
  url: string;
  /** Candidates per request (1..=5000, default 500). */
  limit?: number;
  /** Per-request timeout in ms (default 10000). */
  timeoutMs?: number;
  /** Most bytes of one answer (default 64 MiB). */
  maxResponseBytes?: number;
}

/** Why the engine's candidates were not used. */
export interface EngineFallback {
  /** `policy_denied`, `nothing_to_ask`, or the engine's error code
   *  (`network_error`, `timeout`, `engine_error`, `response_too_large`, …). */
  code: string;
  message: string;
}

/** Where the last `recommend`'s candidates came from ({@link Recommender.lastCandidates}). */
export interface CandidateTrace {
  origin: "engine" | "device";
  endpoint: string;
  /** Candidates ranked on the device. */
  candidates: number;
  /** Whether a search vector was sent (the request's embedding, or the profile vector where the policy allows it). */
  sentVector: boolean;
  sentConditions: number;
  /** Classes of what the policy kept on the device. */
  withheld: string[];
  fallback?: EngineFallback | null;
  engineMs: number;
}
"#;

/// Reads `RecommenderOptions.candidates` into an engine over `http`,
/// logging to `ledger`, governed by `policy`.
pub(crate) fn engine_from_options(options: &JsValue, http: Rc<dyn Http>, ledger: Ledger, policy: PrivacyPolicy) -> Result<Option<Rc<EngineCatalog>>, JsValue> {
    let Some(c) = field(options, "candidates").filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(None);
    };
    const WHAT: &str = "RecommenderOptions.candidates";
    reject_unknown_keys(&c, WHAT, &["url", "limit", "timeoutMs", "maxResponseBytes"])?;
    let url = field(&c, "url").and_then(|u| u.as_string()).ok_or_else(|| invalid(format!("{WHAT}.url (chroma+http://HOST:PORT/COLLECTION) is required")))?;
    let number = |key: &str, lo: f64, hi: f64| -> Result<Option<f64>, JsValue> {
        match field(&c, key).filter(|v| !v.is_undefined()) {
            None => Ok(None),
            Some(v) => match v.as_f64() {
                Some(n) if n.fract() == 0.0 && (lo..=hi).contains(&n) => Ok(Some(n)),
                _ => Err(invalid(format!("{WHAT}.{key} must be an integer in {lo}..={hi}"))),
            },
        }
    };
    let mut source = ChromaSource::new(&url, http, Rc::new(JsClock), ledger).map_err(js_error)?;
    if let Some(t) = number("timeoutMs", 1.0, 600_000.0)? {
        source.timeout_ms = t as u32;
    }
    if let Some(b) = number("maxResponseBytes", 1024.0, 1_073_741_824.0)? {
        source.max_response_bytes = b as usize;
    }
    let mut engine = EngineCatalog::new(Rc::new(source), policy, Rc::new(JsClock));
    if let Some(l) = number("limit", 1.0, 5000.0)? {
        engine.limit = l as usize;
    }
    Ok(Some(Rc::new(engine)))
}

/// One recommendation as JS sees it (as `recommend` returns over the catalog).
#[derive(Serialize)]
struct JsRanked<'a> {
    id: &'a str,
    title: &'a str,
    score: f32,
    explanation: &'a Explanation,
}

/// The engine's answer as the JS `Recommendation[]`.
pub(crate) fn ranked_items(answer: &EngineRecommendations) -> Result<js_sys::Array, JsValue> {
    let out = js_sys::Array::new();
    for r in &answer.items {
        out.push(&to_js(&JsRanked {
            id: &r.recommendation.id,
            title: &r.item.title,
            score: r.recommendation.score,
            explanation: &r.recommendation.explanation,
        })?);
    }
    Ok(out)
}
