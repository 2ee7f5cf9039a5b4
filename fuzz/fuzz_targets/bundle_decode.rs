//! Catalog bundle bytes (`RCATALOG`, what `Recommender.create` downloads)
//! into `catalog::bundle::decode`. The first input byte picks whether the
//! trailing CRC-32 is recomputed (odd) so the fuzzer reaches the parser
//! behind the checksum, or the bytes are passed as they are (even).
//! Whatever decodes must encode and decode again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::catalog::bundle;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut bytes = rest.to_vec();
    if mode & 1 == 1 && bytes.len() >= 20 {
        let body_len = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..body_len]);
        bytes[body_len..].copy_from_slice(&crc.to_le_bytes());
    }
    if let Ok(catalog) = bundle::decode(&bytes) {
        let again = bundle::encode(&catalog).expect("a decoded catalog encodes");
        let back = bundle::decode(&again).expect("an encoded catalog decodes");
        assert_eq!(back.len(), catalog.len());
    }
});
