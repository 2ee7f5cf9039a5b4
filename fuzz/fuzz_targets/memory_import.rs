//! A memory export document (what `Memory.import` and `recagent`'s import
//! take from a file the user picked) into `Memory::import` over an
//! in-memory `KvStore` that already holds one fact. A document that is
//! refused leaves the memory untouched; one that is accepted exports and
//! imports again.
#![no_main]

use std::rc::Rc;

use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;
use recagent_core::platform::{Clock, KvStore, ManualClock, MemoryKvStore};
use recagent_core::Memory;

fuzz_target!(|data: &[u8]| {
    let Ok(document) = std::str::from_utf8(data) else { return };
    block_on(async {
        let store: Rc<dyn KvStore> = Rc::new(MemoryKvStore::new());
        let clock: Rc<dyn Clock> = Rc::new(ManualClock::at(1_700_000_000_000.0));
        let memory = Memory::open(store, clock).await.expect("an empty store opens");
        memory.remember("I like quiet films").await.expect("remember");
        let before = memory.export().await.expect("export");
        match memory.import(document).await {
            Ok(_) => {
                let exported = memory.export().await.expect("an imported memory exports");
                memory.import(&exported).await.expect("an export imports again");
            }
            Err(_) => {
                let after = memory.export().await.expect("export after a refused import");
                assert_eq!(after, before, "a refused import changed the memory");
            }
        }
    });
});
