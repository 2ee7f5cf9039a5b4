//! Catalog bundles, the user profile and ranking on small synthetic catalogs
//! whose answers are known by construction.

#![cfg(not(target_arch = "wasm32"))]

use recagent_cli::offline::train::{train_sequence_model, TrainConfig, TrainEvent};
use recagent_core::catalog::{AttributeDef, AttributeKind, AttributeValue, Catalog, CatalogParts, Embeddings, Item};
use recagent_core::profile::{Event, EventKind, Statement, UserProfile};
use recagent_core::ranking::{rank, Filters, Predicate, RankRequest, ScoreWeights};

const DIM: usize = 8;

/// 40 items in two clean clusters: even ids are "horror" (direction e0 plus
/// one of six shared sub-directions, `(i / 2) % 6`), odd ids "comedy"
/// (e1 + sub-direction). Popularity falls
/// with the index, year = 1980 + index.
fn two_cluster_catalog(sequence: bool) -> Catalog {
    let n = 40;
    let mut text = Vec::new();
    let mut items = Vec::new();
    for i in 0..n {
        let mut v = vec![0.0f32; DIM];
        v[i % 2] = 1.0;
        v[2 + (i / 2) % 6] += 0.35;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        text.extend(v.iter().map(|x| x / norm));
        let genre = if i % 2 == 0 { "Horror" } else { "Comedy" };
        items.push(Item {
            id: format!("m{i}"),
            title: format!("Movie {i}"),
            text: format!("Movie {i} {genre} film"),
            image: None,
            values: vec![
                AttributeValue::Tags(vec![genre.to_string()]),
                AttributeValue::Number(1980.0 + i as f64),
            ],
        });
    }
    let sequence = sequence.then(|| {
        // Everybody watches m0 → m2 → m4 … → m38 → m0 (a cycle over the even ids).
        let seqs: Vec<Vec<TrainEvent>> = (0..60)
            .map(|s| {
                (0..10)
                    .map(|t| TrainEvent {
                        item: (((s + t) % 20) * 2) as u32,
                        kind: 4,
                    })
                    .collect()
            })
            .collect();
        let config = TrainConfig {
            dim: 16,
            window: 2,
            epochs: 60,
            batch: 128,
            learning_rate: 0.02,
            threads: 2,
            ..Default::default()
        };
        train_sequence_model(n, &seqs, &config, |_| {}).unwrap()
    });
    Catalog::new(CatalogParts {
        name: "two-clusters".into(),
        attributes: vec![
            AttributeDef {
                name: "genre".into(),
                kind: AttributeKind::Tags,
            },
            AttributeDef {
                name: "year".into(),
                kind: AttributeKind::Number,
            },
        ],
        items,
        text: Some(Embeddings::F32 { dim: DIM, values: text }),
        popularity: (0..n).map(|i| (n - i) as f32 * 10.0).collect(),
        sequence,
        ..Default::default()
    })
    .unwrap()
}

fn like(p: &mut UserProfile, id: &str, t: f64) {
    p.observe(Event {
        item: id.into(),
        kind: EventKind::Like,
        time_ms: t,
    })
    .unwrap();
}

fn ids(catalog: &Catalog, profile: &UserProfile, request: &RankRequest) -> Vec<String> {
    rank(catalog, profile, request, &ScoreWeights::default())
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

fn req(k: usize) -> RankRequest {
    RankRequest {
        k,
        ..Default::default()
    }
}

#[test]
fn bundle_round_trips_f32_and_int8() {
    let catalog = two_cluster_catalog(true);
    let bytes = catalog.to_bundle().unwrap();
    let back = Catalog::from_bundle(&bytes).unwrap();
    assert_eq!(back.to_items(), catalog.to_items());
    assert_eq!(back.attributes(), catalog.attributes());
    assert_eq!(back.text_embeddings(), catalog.text_embeddings());
    assert_eq!(back.sequence_model(), catalog.sequence_model());
    assert_eq!(back.popularity(), catalog.popularity());
    let mut q = catalog.clone();
    q.quantize().unwrap();
    let back = Catalog::from_bundle(&q.to_bundle().unwrap()).unwrap();
    assert!(matches!(back.text_embeddings(), Some(Embeddings::I8(_))));
    let (a, b) = (catalog.text_embeddings().unwrap().row(3).unwrap(), back.text_embeddings().unwrap().row(3).unwrap());
    assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 0.01));
}

#[test]
fn corrupt_truncated_and_foreign_bundles_are_typed_errors() {
    let bytes = two_cluster_catalog(false).to_bundle().unwrap();
    let code = |b: &[u8]| Catalog::from_bundle(b).unwrap_err().code();
    // Every single flipped byte (sampled) is caught.
    for at in (0..bytes.len()).step_by(bytes.len() / 97) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x20;
        assert_eq!(code(&bad), "invalid_catalog", "flip at {at}");
    }
    for len in [0, 5, 19, bytes.len() / 2, bytes.len() - 1] {
        assert_eq!(code(&bytes[..len]), "invalid_catalog", "truncated to {len}");
    }
    let mut newer = bytes.clone();
    newer[8] = 9;
    let err = Catalog::from_bundle(&newer).unwrap_err();
    assert!(err.to_string().contains("version 9"), "{err}");
    assert_eq!(code(b"PK\x03\x04 this is a zip file, not a bundle"), "invalid_catalog");
}

#[test]
fn catalog_rejects_duplicate_ids_and_wrong_matrix_sizes() {
    let c = two_cluster_catalog(false);
    let mut items = c.to_items();
    items[1].id = items[0].id.clone();
    let err = Catalog::new(CatalogParts {
        items,
        attributes: c.attributes().to_vec(),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(err.code(), "invalid_catalog");
    let err = Catalog::new(CatalogParts {
        items: c.to_items(),
        attributes: c.attributes().to_vec(),
        text: Some(Embeddings::F32 { dim: DIM, values: vec![0.0; DIM * 3] }),
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("3 rows for 40 items"), "{err}");
}

#[test]
fn cold_start_is_popular_and_diverse() {
    let c = two_cluster_catalog(false);
    let p = UserProfile::new();
    // Pure popularity: the 10 first items.
    let plain = ids(&c, &p, &RankRequest { diversity: Some(0.0), ..req(10) });
    assert_eq!(plain, (0..10).map(|i| format!("m{i}")).collect::<Vec<_>>());
    // The default adds diversity: both genres, mostly popular items.
    let default = ids(&c, &p, &req(6));
    let even = default.iter().filter(|id| id[1..].parse::<usize>().unwrap() % 2 == 0).count();
    assert!((2..=4).contains(&even), "{default:?}");
    assert!(default.iter().all(|id| id[1..].parse::<usize>().unwrap() < 20), "{default:?}");
    let r = rank(&c, &p, &req(1), &ScoreWeights::default()).unwrap();
    assert_eq!(r[0].explanation.summary, "Popular with many viewers");
}

#[test]
fn a_query_drives_cold_results_and_blends_with_history() {
    let c = two_cluster_catalog(false);
    let p = UserProfile::new();
    let mut horror_query = vec![0.0f32; DIM];
    horror_query[0] = 1.0;
    let r = rank(
        &c,
        &p,
        &RankRequest {
            query: Some(horror_query.clone()),
            query_text: Some("horror please".into()),
            ..req(5)
        },
        &ScoreWeights::default(),
    )
    .unwrap();
    assert!(r.iter().all(|x| x.index % 2 == 0), "query → horror only");
    assert_eq!(r[0].explanation.query_terms, ["horror"]);
    // A comedy lover asking for horror still gets horror first, but the
    // blend ranks horror items closest to their taste (shared sub-direction) higher.
    let mut p = UserProfile::new();
    like(&mut p, "m1", 1.0); // comedy, sub-direction 0
    let r = rank(&c, &p, &RankRequest { query: Some(horror_query), ..req(3) }, &ScoreWeights::default()).unwrap();
    assert!(r.iter().all(|x| x.index % 2 == 0), "{r:?}");
    assert_eq!((r[0].index / 2) % 6, 0, "the sub-direction of m1 wins among horror items: {r:?}");
}

#[test]
fn several_interests_each_get_results_and_explanations_cite_them() {
    let c = two_cluster_catalog(false);
    let mut p = UserProfile::new();
    for (t, id) in ["m0", "m2", "m1", "m3"].iter().enumerate() {
        like(&mut p, id, t as f64);
    }
    let r = rank(&c, &p, &req(6), &ScoreWeights::default()).unwrap();
    let even = r.iter().filter(|x| x.index % 2 == 0).count();
    assert!((2..=4).contains(&even), "both interests are served, not their midpoint: {r:?}");
    for x in &r {
        assert!(!x.explanation.because.is_empty());
        let genre = if x.index % 2 == 0 { "Horror" } else { "Comedy" };
        assert_eq!(x.explanation.interest.as_deref(), Some(genre));
    }
    let seen = ["m0", "m1", "m2", "m3"];
    assert!(r.iter().all(|x| !seen.contains(&x.id.as_str())), "seen items are filtered");
}

#[test]
fn a_dislike_pushes_similar_items_down() {
    let c = two_cluster_catalog(false);
    let mut p = UserProfile::new();
    like(&mut p, "m0", 1.0);
    like(&mut p, "m1", 2.0);
    let score_of = |p: &UserProfile, id: &str| {
        let r = rank(&c, p, &RankRequest { k: 40, ..Default::default() }, &ScoreWeights::default()).unwrap();
        r.iter().position(|x| x.id == id).unwrap()
    };
    // m13 shares m1's sub-direction (13 / 2 % 6 == 0): a close neighbour of m1.
    let before = score_of(&p, "m13");
    p.observe(Event {
        item: "m1".into(),
        kind: EventKind::Dislike,
        time_ms: 3.0,
    })
    .unwrap();
    let after = score_of(&p, "m13");
    assert!(after > before + 3, "rank of m13 before {before}, after the dislike {after}");
}

#[test]
fn exclusions_filters_and_errors() {
    let c = two_cluster_catalog(false);
    let mut p = UserProfile::new();
    p.state(Statement::Exclude {
        attribute: "genre".into(),
        value: "horror".into(),
        source: "no horror".into(),
    });
    let r = ids(&c, &p, &RankRequest { k: 40, ..Default::default() });
    assert_eq!(r.len(), 20);
    assert!(r.iter().all(|id| id[1..].parse::<usize>().unwrap() % 2 == 1));
    let p = UserProfile::new();
    let filtered = |predicates: Vec<Predicate>| {
        rank(
            &c,
            &p,
            &RankRequest {
                k: 40,
                filters: Filters {
                    predicates,
                    exclude_ids: vec!["m11".into()],
                    include_seen: false,
                },
                ..Default::default()
            },
            &ScoreWeights::default(),
        )
    };
    let years = filtered(vec![Predicate {
        attribute: "year".into(),
        min: Some(1990.0),
        max: Some(1995.0),
        ..Default::default()
    }])
    .unwrap();
    let mut got: Vec<u32> = years.iter().map(|x| x.index).collect();
    got.sort_unstable();
    assert_eq!(got, [10, 12, 13, 14, 15], "inclusive range, m11 excluded by id");
    let comedy = filtered(vec![Predicate {
        attribute: "genre".into(),
        one_of: Some(vec!["COMEDY".into(), "drama".into()]),
        ..Default::default()
    }])
    .unwrap();
    assert_eq!(comedy.len(), 19);
    let unknown = filtered(vec![Predicate {
        attribute: "colour".into(),
        has: Some("red".into()),
        ..Default::default()
    }])
    .unwrap_err();
    assert_eq!(unknown.code(), "invalid_input");
    assert!(unknown.to_string().contains("genre"), "names the real attributes: {unknown}");
    let two_ops = filtered(vec![Predicate {
        attribute: "genre".into(),
        has: Some("a".into()),
        not: Some("b".into()),
        ..Default::default()
    }]);
    assert!(two_ops.is_err());
    let bad = rank(&c, &p, &RankRequest { explore: 1.5, ..req(3) }, &ScoreWeights::default());
    assert_eq!(bad.unwrap_err().code(), "invalid_input");
}

#[test]
fn exploration_is_reproducible_with_a_seed() {
    let c = two_cluster_catalog(false);
    let p = UserProfile::new();
    let explore = |seed| {
        rank(
            &c,
            &p,
            &RankRequest {
                explore: 0.5,
                seed: Some(seed),
                diversity: Some(0.0),
                ..req(8)
            },
            &ScoreWeights::default(),
        )
        .unwrap()
    };
    let (a, b) = (explore(1), explore(1));
    assert_eq!(a, b);
    assert!(a.iter().any(|x| x.explanation.explored));
    assert!(!a[0].explanation.explored, "the first slot is never explored");
    let lists: Vec<Vec<String>> = (2..8).map(|s| explore(s).into_iter().map(|x| x.id).collect()).collect();
    assert!(lists.iter().any(|l| *l != lists[0]), "different seeds give different lists");
    // Unseeded exploration draws its seed from the OS.
    let r = rank(&c, &p, &RankRequest { explore: 0.5, ..req(8) }, &ScoreWeights::default()).unwrap();
    assert_eq!(r.len(), 8);
}

#[test]
fn the_sequence_model_predicts_the_next_item_and_explains_it() {
    let c = two_cluster_catalog(true);
    let mut p = UserProfile::new();
    like(&mut p, "m10", 1.0);
    like(&mut p, "m12", 2.0);
    let r = rank(&c, &p, &RankRequest { diversity: Some(0.0), ..req(3) }, &ScoreWeights::default()).unwrap();
    assert_eq!(r[0].id, "m14", "{r:?}");
    assert_eq!(r[0].explanation.because[0].id, "m12");
    assert!(r[0].explanation.summary.starts_with("Because you liked Movie 12"), "{}", r[0].explanation.summary);
}

#[test]
fn version_1_bundles_without_the_mlp_still_load() {
    let mut c = two_cluster_catalog(true);
    assert!(c.sequence_model().unwrap().hidden > 0, "the default trains the residual MLP");
    // A version-1 bundle: no MLP sections, version field 1, checksum redone.
    let plain = {
        let mut parts_model = c.sequence_model().unwrap().clone();
        parts_model.hidden = 0;
        parts_model.w1.clear();
        parts_model.b1.clear();
        parts_model.w2.clear();
        parts_model
    };
    c = Catalog::new(CatalogParts {
        name: c.name().into(),
        attributes: c.attributes().to_vec(),
        items: c.to_items(),
        text: c.text_embeddings().cloned(),
        popularity: c.popularity().to_vec(),
        sequence: Some(plain.clone()),
        ..Default::default()
    })
    .unwrap();
    let mut bytes = c.to_bundle().unwrap();
    bytes[8] = 1;
    let n = bytes.len();
    let crc = crc32fast::hash(&bytes[..n - 4]).to_le_bytes();
    bytes[n - 4..].copy_from_slice(&crc);
    let back = Catalog::from_bundle(&bytes).unwrap();
    assert_eq!(back.sequence_model(), Some(&plain));
}
