//! Summing scores up per autonomy level: the figures, the readable table
//! and the JSON report.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};

use super::score::RequestScore;

/// The machine a run was measured on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// Load average over 1, 5 and 15 minutes (`/proc/loadavg`), when known.
    pub load: Option<[f64; 3]>,
    /// Cores available to this process.
    pub cores: usize,
}

impl Machine {
    /// The machine now.
    pub fn now() -> Machine {
        let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|text| {
            let v: Vec<f64> = text.split_whitespace().take(3).filter_map(|x| x.parse().ok()).collect();
            (v.len() == 3).then(|| [v[0], v[1], v[2]])
        });
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Machine { load, cores }
    }

    /// `load 0.52 0.40 0.31, 2 cores`.
    pub fn describe(&self) -> String {
        match self.load {
            Some([a, b, c]) => format!("load average {a:.2} {b:.2} {c:.2}, {} cores", self.cores),
            None => format!("load average unknown, {} cores", self.cores),
        }
    }
}

/// The figures of one autonomy level over the requests run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelReport {
    /// The autonomy level.
    pub autonomy: u8,
    /// `device` (autonomy 0), `native` (tool calls) or `json` (JSON planning).
    pub mode: String,
    /// Requests scored.
    pub requests: usize,
    /// Constraint satisfaction of the top 5, the mean over requests.
    pub satisfaction: f64,
    /// The same mean per kind of request.
    pub satisfaction_by_kind: BTreeMap<String, f64>,
    /// Requests whose top 5 were as good as the catalog allows.
    pub fully_satisfied: usize,
    /// Requests with a malformed answer (or a failed `ask`).
    pub malformed: usize,
    /// Catalog titles named in answers that were not among their items.
    pub grounding_errors: usize,
    /// Requests with at least one grounding error.
    pub grounding_requests: usize,
    /// Requests with at least one duplicate item.
    pub duplicates: usize,
    /// Answers that asked a clarifying question.
    pub questions: usize,
    /// Fallback codes and how many answers had each.
    pub fallbacks: BTreeMap<String, usize>,
    /// Median seconds per ask.
    pub seconds_median: f64,
    /// 90th percentile of seconds per ask (nearest rank).
    pub seconds_p90: f64,
    /// Seconds of all asks.
    pub seconds_total: f64,
    /// HTTP requests the agent sent (its ledger).
    pub llm_requests: usize,
    /// Every request's score.
    pub results: Vec<RequestScore>,
}

/// The median of `values` (0 when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The `p`-th percentile of `values` by nearest rank (0 when empty).
pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
    v[rank.min(v.len()) - 1]
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

impl LevelReport {
    /// The figures of `results`, run at `autonomy` in `mode`, with
    /// `llm_requests` requests sent.
    pub fn new(autonomy: u8, mode: &str, results: Vec<RequestScore>, llm_requests: usize) -> LevelReport {
        let scored: Vec<f64> = results.iter().filter_map(|r| r.satisfaction).collect();
        let mut by_kind: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in &results {
            for kind in &r.kinds {
                by_kind.entry(kind.clone()).or_default().extend(r.satisfaction);
            }
        }
        let mut fallbacks: BTreeMap<String, usize> = BTreeMap::new();
        for code in results.iter().filter_map(|r| r.fallback.clone()) {
            *fallbacks.entry(code).or_default() += 1;
        }
        let seconds: Vec<f64> = results.iter().map(|r| r.seconds).collect();
        LevelReport {
            autonomy,
            mode: mode.to_string(),
            requests: results.len(),
            satisfaction: mean(&scored),
            satisfaction_by_kind: by_kind.into_iter().map(|(k, v)| (k, mean(&v))).collect(),
            fully_satisfied: scored.iter().filter(|s| **s >= 1.0).count(),
            malformed: results.iter().filter(|r| r.malformed.is_some()).count(),
            grounding_errors: results.iter().map(|r| r.grounding.len()).sum(),
            grounding_requests: results.iter().filter(|r| !r.grounding.is_empty()).count(),
            duplicates: results.iter().filter(|r| !r.duplicates.is_empty()).count(),
            questions: results.iter().filter(|r| r.question.is_some()).count(),
            fallbacks,
            seconds_median: median(&seconds),
            seconds_p90: percentile(&seconds, 90.0),
            seconds_total: seconds.iter().sum(),
            llm_requests,
            results,
        }
    }

    /// The failing requests, compactly: which top item broke which
    /// constraint, the malformed reason, the grounding errors, the duplicates.
    pub fn failures(&self) -> Vec<Value> {
        self.results
            .iter()
            .filter(|r| r.failed())
            .map(|r| {
                let broken: Vec<Value> = r
                    .top
                    .iter()
                    .filter(|v| !v.violations.is_empty())
                    .map(|v| json!({"id": v.id, "title": v.title, "violations": v.violations}))
                    .collect();
                json!({
                    "id": r.id, "text": r.text, "satisfaction": r.satisfaction, "satisfiable": r.satisfiable,
                    "returned": r.top.len(), "broken": broken, "malformed": r.malformed,
                    "grounding": r.grounding, "duplicates": r.duplicates, "fallback": r.fallback,
                    "answer": r.answer,
                })
            })
            .collect()
    }
}

/// One row per level, the columns aligned, and the machine below.
pub fn table(levels: &[LevelReport], machine: &Machine) -> String {
    let header = [
        "autonomy", "mode", "requests", "satisfaction@5", "full", "malformed", "grounding", "duplicates",
        "median s", "p90 s", "llm req", "fallbacks",
    ];
    let rows: Vec<Vec<String>> = levels
        .iter()
        .map(|l| {
            let fallbacks = if l.fallbacks.is_empty() {
                "-".to_string()
            } else {
                l.fallbacks.iter().map(|(code, n)| format!("{code}:{n}")).collect::<Vec<_>>().join(" ")
            };
            vec![
                l.autonomy.to_string(),
                l.mode.clone(),
                l.requests.to_string(),
                format!("{:.3}", l.satisfaction),
                format!("{}/{}", l.fully_satisfied, l.requests),
                l.malformed.to_string(),
                format!("{} in {}", l.grounding_errors, l.grounding_requests),
                l.duplicates.to_string(),
                format!("{:.2}", l.seconds_median),
                format!("{:.2}", l.seconds_p90),
                l.llm_requests.to_string(),
                fallbacks,
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("| {} |\n", padded.join(" | "))
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row));
    }
    out.push_str(&format!("machine: {}\n", machine.describe()));
    out
}

/// The JSON report: the set, the endpoint, the machine, and per level its
/// figures, its failures and every request's score.
pub fn report_json(set: &str, endpoint: Option<&str>, llm_model: &str, levels: &[LevelReport], machine: &Machine) -> Value {
    let levels: Vec<Value> = levels
        .iter()
        .map(|l| {
            let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
            v["failures"] = Value::Array(l.failures());
            v
        })
        .collect();
    json!({
        "set": set,
        "endpoint": endpoint,
        "llmModel": endpoint.map(|_| llm_model),
        "machine": machine,
        "levels": levels,
    })
}
