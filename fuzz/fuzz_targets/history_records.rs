//! The engine records of a history saved with the profile (the store's
//! `profile/engine_records`, which a damaged store or another program may
//! have changed) into `Recommender::restore_history_records`, over a
//! catalog of three attributes (tags, number, text). What is accepted
//! is kept, saves again (`history_records` after a click on every kept
//! record) and restores again; what is refused is
//! `invalid_profile` and keeps nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::profile::{Event, EventKind, UserProfile};
use recagent_core::Recommender;

#[path = "../common/catalogs.rs"]
mod catalogs;

fn recommender() -> Recommender {
    Recommender::new(catalogs::three_attributes(), None).expect("a recommender over an empty catalog")
}

fuzz_target!(|data: &[u8]| {
    let mut rec = recommender();
    match rec.restore_history_records(data) {
        Ok(n) => {
            // Records with the same id are kept once.
            let kept: Vec<String> = rec.engine_items().ids().map(str::to_string).collect();
            assert!(kept.len() <= n);
            let mut profile = UserProfile::new();
            for (t, id) in kept.iter().enumerate() {
                profile.observe(Event { item: id.clone(), kind: EventKind::Click, time_ms: t as f64 }).expect("a click on a kept record");
            }
            rec.set_profile(profile);
            let saved = rec.history_records().expect("kept records save");
            assert_eq!(saved.is_some(), !kept.is_empty());
            if let Some(bytes) = saved {
                let mut again = recommender();
                // All of them, unless they had to be cut to the size budget.
                let restored = again.restore_history_records(&bytes).expect("saved records restore");
                assert!((1..=kept.len()).contains(&restored), "{restored} of {}", kept.len());
            }
        }
        Err(e) => {
            assert_eq!(e.code(), "invalid_profile", "{e}");
            assert!(rec.engine_items().is_empty());
        }
    }
});
