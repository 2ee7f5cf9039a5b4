//! Offline evaluation (native only): RecBole atomic datasets, a 5-core
//! leave-one-out split, full-ranking HR@k / NDCG@k / coverage, and baselines.
//!
//! | module | what it holds |
//! |---|---|
//! | [`atomic`] | [`Dataset`], [`ItemTable`]: RecBole `.inter` / `.item` files |
//! | [`split`] | [`Split`], [`Event`]: k-core filtering and leave-one-out by time |
//! | [`metrics`] | rank (strictly-higher rule), HR, NDCG, top-k |
//! | [`harness`] | the [`Scorer`] trait and the parallel [`evaluate`] loop |
//! | [`baselines`](mod@baselines) | [`Popularity`], [`Ease`], [`ItemKnn`], [`ContentOnly`] |
//! | [`linalg`] | [`spd_inverse`] (blocked, multi-threaded) |
//! | [`simulate`] | the simulated user and the conversational evaluation loop |
//! | [`simulate_llm`] | the LLM-played simulated user |
//! | [`simulate_guard`] | the guard on what a simulated user says (the target's title or id redacted) |
//!
//! ## Adding a model to the report
//! A [`Model`] is a name and a function that fits a [`Scorer`] from the
//! dataset and the split (fit on `split.histories(false)` — train + valid —
//! never on `split.test`):
//! ```no_run
//! # use recagent_cli::eval::{self, Model, Popularity};
//! # fn main() -> recagent_core::Result<()> {
//! # let encoder: recagent_core::TextEncoder = todo!();
//! let mut models = eval::baselines(&encoder);
//! models.push(Model::new("recagent", |_dataset, split, _progress| {
//!     Ok(Box::new(Popularity::fit(split.n_items(), &split.histories(false))))
//! }));
//! let report = eval::run_models("assets/data/ml-1m".as_ref(), 10, &models, |m| eprintln!("{m}"))?;
//! println!("{report}");
//! # Ok(()) }
//! ```

pub mod atomic;
pub mod baselines;
pub mod harness;
pub mod linalg;
pub mod metrics;
pub mod recagent;
pub mod simulate;
pub mod simulate_guard;
pub mod simulate_llm;
pub mod split;

use std::path::Path;
use std::time::Instant;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

pub use atomic::{load_dir, Column, ColumnType, Dataset, Interaction, ItemTable, Value as Cell};
pub use baselines::{ContentOnly, Ease, ItemKnn, Popularity};
pub use harness::{evaluate, evaluate_with_progress, ModelResult, Scorer};
pub use linalg::spd_inverse;
pub use split::{leave_one_out, Event, Split};

use crate::progress::Progress;
use recagent_core::encoder::TextEncoder;
use recagent_core::error::{Error, Result};

/// Users and items with fewer interactions are dropped (iterated to a fixpoint).
pub const CORE: usize = 5;

/// Fits a scorer from the dataset and its split; may report [`Progress`].
pub type BuildScorer<'a> =
    Box<dyn Fn(&Dataset, &Split, &mut dyn FnMut(Progress)) -> Result<Box<dyn Scorer>> + 'a>;

/// A named model of the report: how to fit its [`Scorer`].
pub struct Model<'a> {
    /// Key in the report's `results` object.
    pub name: String,
    build: BuildScorer<'a>,
}

impl<'a> Model<'a> {
    /// A model called `name`, fitted by `build(dataset, split, progress)`.
    pub fn new(
        name: impl Into<String>,
        build: impl Fn(&Dataset, &Split, &mut dyn FnMut(Progress)) -> Result<Box<dyn Scorer>> + 'a,
    ) -> Self {
        Self {
            name: name.into(),
            build: Box::new(build),
        }
    }

    /// `"popularity"`: interaction counts on train + valid.
    pub fn popularity() -> Self {
        Self::new("popularity", |_, split, _| {
            Ok(Box::new(Popularity::fit(
                split.n_items(),
                &split.histories(false),
            )))
        })
    }

    /// `"ease"`: EASE with regularisation `lambda` on train + valid.
    pub fn ease(lambda: f64) -> Self {
        Self::new("ease", move |_, split, _| {
            Ok(Box::new(Ease::try_fit(
                split.n_items(),
                &split.histories(false),
                lambda,
            )?))
        })
    }

    /// `"content"`: mean text embedding of the history ([`ItemTable::item_text`]).
    /// Reports the embedding as steps of the phase `content: item texts`.
    pub fn content(encoder: &'a TextEncoder) -> Self {
        Self::new("content", move |dataset, split, progress| {
            let texts: Vec<String> = split
                .item_orig
                .iter()
                .map(|&i| dataset.item_table.item_text(i))
                .collect();
            progress(Progress::step("content: item texts", 0, texts.len()));
            let scorer = ContentOnly::encode(encoder, &texts, &mut |done, total| {
                progress(Progress::step("content: item texts", done.min(total), total));
            })?;
            Ok(Box::new(scorer))
        })
    }

    /// `"itemknn"`: cosine item-kNN with `neighbours` neighbours (0 = all) on train + valid.
    pub fn item_knn(neighbours: usize) -> Self {
        Self::new("itemknn", move |_, split, _| {
            Ok(Box::new(ItemKnn::fit(
                split.n_items(),
                &split.histories(false),
                neighbours,
            )?))
        })
    }

    /// A baseline by name: `popularity`, `ease` (λ = 200), `itemknn` (100
    /// neighbours) or `content` (needs `encoder`).
    pub fn baseline(name: &str, encoder: Option<&'a TextEncoder>) -> Result<Self> {
        match name {
            "popularity" => Ok(Self::popularity()),
            "ease" => Ok(Self::ease(Ease::DEFAULT_LAMBDA)),
            "itemknn" => Ok(Self::item_knn(ItemKnn::DEFAULT_NEIGHBOURS)),
            "content" => encoder.map(Self::content).ok_or_else(|| {
                Error::InvalidInput(
                    "the content model needs a text encoder (--model, --vocab)".into(),
                )
            }),
            other => Err(Error::InvalidInput(format!(
                "unknown model {other:?} (popularity, content, ease, itemknn)"
            ))),
        }
    }
}

/// The three baselines: popularity, content, EASE (λ = 200).
pub fn baselines(encoder: &TextEncoder) -> Vec<Model<'_>> {
    vec![
        Model::popularity(),
        Model::content(encoder),
        Model::ease(Ease::DEFAULT_LAMBDA),
    ]
}

/// Evaluates the three [`baselines()`] on the dataset in `dir` (see [`run_models`]).
pub fn run(
    dir: &Path,
    encoder: &TextEncoder,
    k: usize,
    progress: impl FnMut(Progress),
) -> Result<Report> {
    run_models(dir, k, &baselines(encoder), progress)
}

/// Loads the dataset in `dir`, splits it ([`CORE`]-core, leave-one-out) and
/// evaluates every model on the test items (train + valid as history) at
/// cut-off `k`, in order. The [`Report`] prints as
/// `{"dataset", "users", "items", "results": {NAME: {"HR@k", "NDCG@k", "coverage"}}}`;
/// stage names, timings and per-model figures go to `progress` as
/// [`Progress::Note`]s, and the models report their fitting as steps.
pub fn run_models(
    dir: &Path,
    k: usize,
    models: &[Model<'_>],
    mut progress: impl FnMut(Progress),
) -> Result<Report> {
    if k == 0 {
        return Err(Error::InvalidInput("k must be at least 1".into()));
    }
    let t = Instant::now();
    let dataset = load_dir(dir)?;
    progress(Progress::note(format!(
        "loaded {}: {} interactions, {} users, {} items ({:.2} s)",
        dataset.name,
        dataset.interactions.len(),
        dataset.users.len(),
        dataset.items.len(),
        t.elapsed().as_secs_f64()
    )));
    let t = Instant::now();
    let split = leave_one_out(&dataset, CORE)?;
    progress(Progress::note(format!(
        "{CORE}-core leave-one-out split: {} users, {} items, {} train events ({:.2} s)",
        split.n_users(),
        split.n_items(),
        split.train.iter().map(Vec::len).sum::<usize>(),
        t.elapsed().as_secs_f64()
    )));
    let mut results = Vec::new();
    for model in models {
        let t = Instant::now();
        let scorer = (model.build)(&dataset, &split, &mut progress)?;
        let fit = t.elapsed().as_secs_f64();
        let phase = format!("{}: evaluating users", model.name);
        let r = evaluate_with_progress(&split, k, scorer.as_ref(), false, &mut |done, total| {
            progress(Progress::step(phase.clone(), done, total));
        });
        progress(Progress::note(format!(
            "{}: HR@{k} {:.4} NDCG@{k} {:.4} coverage {:.4} (fit {fit:.2} s, evaluate {:.2} s)",
            model.name, r.hr, r.ndcg, r.coverage, r.seconds
        )));
        results.push((model.name.clone(), r));
    }
    Ok(Report {
        dataset: dataset.name.clone(),
        users: split.n_users(),
        items: split.n_items(),
        k,
        results,
    })
}

/// The outcome of [`run_models`].
///
/// Serializes (serde, and `Display` as one line of JSON) to
/// `{"dataset": NAME, "users": N, "items": M, "results": {MODEL: {"HR@k": x, "NDCG@k": y, "coverage": z}}}`,
/// keys in this order and models in the order they were run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Dataset name (stem of the `.inter` file).
    pub dataset: String,
    /// Users after k-core filtering.
    pub users: usize,
    /// Items after k-core filtering.
    pub items: usize,
    /// The cut-off of the metrics.
    pub k: usize,
    /// `(model name, result)` in run order.
    pub results: Vec<(String, ModelResult)>,
}

impl Report {
    /// The result of the model called `name`.
    pub fn get(&self, name: &str) -> Option<&ModelResult> {
        self.results.iter().find(|(n, _)| n == name).map(|(_, r)| r)
    }

    /// The report as a `serde_json::Value` (whose object keys are sorted).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a report serializes")
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        struct Metrics<'a>(usize, &'a ModelResult);
        impl Serialize for Metrics<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry(&format!("HR@{}", self.0), &self.1.hr)?;
                m.serialize_entry(&format!("NDCG@{}", self.0), &self.1.ndcg)?;
                m.serialize_entry("coverage", &self.1.coverage)?;
                m.end()
            }
        }
        struct Results<'a>(&'a Report);
        impl Serialize for Results<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.results.len()))?;
                for (name, r) in &self.0.results {
                    m.serialize_entry(name, &Metrics(self.0.k, r))?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("dataset", &self.dataset)?;
        m.serialize_entry("users", &self.users)?;
        m.serialize_entry("items", &self.items)?;
        m.serialize_entry("results", &Results(self))?;
        m.end()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&line)
    }
}
