//! Any bytes (a photo the user picked, or any file named like one) through
//! `encoder::read_header` and `encoder::check_header`: what decides, before
//! any decoder runs, whether a photo may reach the browser's
//! `createImageBitmap` (the wasm build has no decoder of its own). Never
//! panics; an accepted header has both sides at least 1, and within the
//! default limits when checked against them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::encoder::{check_header, read_header, DecodeLimits};

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = read_header(data) {
        assert!(header.width >= 1 && header.height >= 1, "{header:?}");
    }
    let limits = DecodeLimits::default();
    if let Ok(header) = check_header(data, limits) {
        assert!(header.width <= limits.max_side && header.height <= limits.max_side, "{header:?}");
        assert!(u64::from(header.width) * u64::from(header.height) * 4 <= limits.max_alloc, "{header:?}");
    }
});
