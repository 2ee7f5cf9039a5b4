//! Profile snapshot bytes (`RPROFILE`, what `restoreProfile` and the stored
//! profile give back) into `UserProfile::restore`. The first input byte
//! picks whether the rest is a snapshot body wrapped in a valid header and
//! CRC-32 (odd: the fuzzer reaches the JSON behind the checksum) or the
//! whole snapshot as it is (even). A restored profile snapshots and
//! restores again to the same snapshot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::UserProfile;

/// The format version `UserProfile::snapshot` writes (bytes 8..12).
fn current_version() -> [u8; 4] {
    let snapshot = UserProfile::new().snapshot().expect("an empty profile snapshots");
    let mut version = [0u8; 4];
    version.copy_from_slice(&snapshot[8..12]);
    version
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let bytes = if mode & 1 == 1 {
        let mut b = Vec::with_capacity(16 + rest.len());
        b.extend_from_slice(b"RPROFILE");
        b.extend_from_slice(&current_version());
        b.extend_from_slice(&crc32fast::hash(rest).to_le_bytes());
        b.extend_from_slice(rest);
        b
    } else {
        rest.to_vec()
    };
    if let Ok(profile) = UserProfile::restore(&bytes) {
        let snapshot = profile.snapshot().expect("a restored profile snapshots");
        let again = UserProfile::restore(&snapshot).expect("a snapshot restores");
        assert_eq!(again.snapshot().expect("snapshots again"), snapshot);
    }
});
