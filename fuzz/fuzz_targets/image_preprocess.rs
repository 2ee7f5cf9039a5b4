//! PNG or JPEG bytes (a photo the user picked, or any file named like one)
//! through what `ImageEncoder::embed_encoded` does before the network:
//! `encoder::preprocess::decode` with the default limits, then the default
//! ImageNet preprocessing into the input tensor. Every tensor value is
//! finite and the tensor has the crop's size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recagent_core::encoder::preprocess::{decode, DecodeLimits, Preprocessing};

fuzz_target!(|data: &[u8]| {
    let Ok(image) = decode(data, DecodeLimits::default()) else { return };
    let expected = (image.width as usize) * (image.height as usize) * 3;
    assert_eq!(image.data.len(), expected, "decoded RGB size");
    let preprocessing = Preprocessing::default();
    if let Ok(tensor) = preprocessing.tensor(&image) {
        let side = preprocessing.crop as usize;
        assert_eq!(tensor.len(), 3 * side * side);
        assert!(tensor.iter().all(|v| v.is_finite()));
    }
});
