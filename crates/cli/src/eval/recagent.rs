//! recagent itself as an evaluation model: the catalog is built with the
//! same builder as `recagent build-catalog` (text embeddings + sequence
//! model trained on train + valid interactions of all users, never on test
//! items); each user is then scored through the exact on-device path — a
//! fresh [`UserProfile`] fed with that user's own history as rating events,
//! and [`ranking::score::score`](recagent_core::ranking::score::score).

use super::harness::Scorer;
use super::split::{Event, Split};
use super::{Dataset, Model};
use crate::offline::build::{build_catalog, BuildOptions, Encoders, LoggedInteraction};
use crate::offline::dataset::build_input;
use crate::offline::train::TrainConfig;
use crate::progress::Progress;
use recagent_core::catalog::Catalog;
use recagent_core::encoder::TextEncoder;
use recagent_core::profile::{Event as ProfileEvent, EventKind, ProfileConfig, UserProfile};
use recagent_core::ranking::score::{score, ScoreWeights};

/// Scores users of an evaluation split the way the browser does.
pub struct RecagentScorer {
    catalog: Catalog,
    weights: ScoreWeights,
    profile: ProfileConfig,
}

impl RecagentScorer {
    /// A scorer over an already built catalog (its items in split order).
    pub fn new(catalog: Catalog, weights: ScoreWeights, profile: ProfileConfig) -> Self {
        Self {
            catalog,
            weights,
            profile,
        }
    }

    /// The profile a user's history turns into: one rating event per
    /// interaction (an implicit click when the rating is outside 1..=5),
    /// timestamps read as Unix seconds.
    pub fn profile_of(&self, history: &[Event]) -> UserProfile {
        let mut p = UserProfile::with_config(self.profile.clone());
        for e in history {
            let Some(item) = self.catalog.item(e.item) else { continue };
            let kind = if (1.0..=5.0).contains(&e.rating) {
                EventKind::Rating { value: e.rating }
            } else {
                EventKind::Click
            };
            // Only invalid input fails, and every field is valid here.
            let _ = p.observe(ProfileEvent {
                item: item.id().to_string(),
                kind,
                time_ms: e.timestamp * 1000.0,
            });
        }
        p
    }
}

impl Scorer for RecagentScorer {
    fn score(&self, history: &[Event], out: &mut [f32]) {
        let profile = self.profile_of(history);
        match score(&self.catalog, &profile, None, &self.weights) {
            Ok(s) if s.total.len() == out.len() => out.copy_from_slice(&s.total),
            _ => out.iter_mut().for_each(|x| *x = f32::NAN),
        }
    }
}

/// Builds the evaluation catalog of `split`: its items in split order, and
/// the train + valid interactions of every user.
pub fn build_split_catalog(
    dataset: &Dataset,
    split: &Split,
    text: Option<(&TextEncoder, &[u8])>,
    train: &TrainConfig,
    select_hidden: &[usize],
    quantize: bool,
    progress: &mut dyn FnMut(Progress),
) -> recagent_core::Result<Catalog> {
    let mut interactions = Vec::new();
    for user in 0..split.n_users() {
        for e in split.history(user, false) {
            interactions.push(LoggedInteraction {
                user: user as u32,
                item: e.item,
                rating: e.rating,
                timestamp: e.timestamp,
            });
        }
    }
    let input = build_input(dataset, Some(&split.item_orig), interactions);
    let options = BuildOptions {
        train: Some(train.clone()),
        select_hidden: select_hidden.to_vec(),
        quantize,
    };
    build_catalog(input, &Encoders { text, image: None }, &options, progress)
}

impl<'a> Model<'a> {
    /// `"recagent"`: the on-device recommender (see the module docs).
    /// `select_hidden`: MLP widths to choose from by held-out validation
    /// (empty: `train.hidden` as given).
    /// `quantize`: score over the int8 catalog, as `build-catalog --quantize` writes it.
    pub fn recagent(
        encoder: &'a TextEncoder,
        model_bytes: &'a [u8],
        train: TrainConfig,
        select_hidden: Vec<usize>,
        quantize: bool,
    ) -> Self {
        Model::new("recagent", move |dataset, split, progress| {
            let catalog =
                build_split_catalog(dataset, split, Some((encoder, model_bytes)), &train, &select_hidden, quantize, progress)?;
            Ok(Box::new(RecagentScorer::new(
                catalog,
                ScoreWeights::default(),
                ProfileConfig::default(),
            )))
        })
    }
}
