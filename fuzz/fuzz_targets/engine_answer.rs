//! A candidate engine's answer (what Chroma returns to `recommend` over an
//! engine, from a server the app does not control): the first input byte
//! picks a `query` answer (odd) or a `get` answer (even), the rest is the
//! body, read by `chroma::parse_answer`, each record by
//! `engine_record::from_record` against a catalog's attributes, then made
//! into a working catalog with `Catalog::working` (with mode bit 2 each
//! record's vector also offered as its carried row of the sequence model,
//! as a sequence-space answer brings) and ranked. Typed errors
//! only; what is accepted ranks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::agent::candidates::chroma::parse_answer;
use recagent_core::catalog::engine_record::from_record;
use recagent_core::catalog::WorkingItem;
use recagent_core::profile::UserProfile;
use recagent_core::ranking::{rank, RankRequest, ScoreWeights};

#[path = "../common/catalogs.rs"]
mod catalogs;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else { return };
    let Ok(records) = parse_answer(body, mode & 1 == 1, 64) else { return };
    assert!(records.len() <= 64);
    let resident = catalogs::three_attributes();
    let mut items = Vec::new();
    for r in &records {
        match from_record(resident.attributes(), r) {
            Ok((item, popularity)) => items.push(WorkingItem { item, vector: r.vector.clone(), popularity, sequence: (mode & 2 == 2).then(|| r.vector.clone()) }),
            Err(e) => {
                assert_eq!(e.code(), "engine_error");
                return;
            }
        }
    }
    match resident.working(items) {
        Ok(working) => {
            let request = RankRequest { k: 5, ..Default::default() };
            let list = rank(&working, &UserProfile::new(), &request, &ScoreWeights::default()).expect("a working catalog ranks");
            assert!(list.len() <= 5);
        }
        Err(e) => assert!(["engine_error", "invalid_catalog"].contains(&e.code()), "{e}"),
    }
});
