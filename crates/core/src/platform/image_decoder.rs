//! Image decoding as a platform service: the browser decodes photos with
//! `createImageBitmap` (so the wasm module carries no PNG/JPEG decoder); the
//! native builds decode with the `image` crate ([`NativeImageDecoder`]).

use super::LocalBoxFuture;
use crate::encoder::{DecodeLimits, RgbImage};
use crate::error::Result;

/// Turns PNG/JPEG bytes into RGB pixels.
///
/// Contract for implementations:
/// - callers pass only bytes whose header
///   [`crate::encoder::check_header`] accepted within `limits`, so the
///   decoder may allocate what that header states;
/// - bytes that do not decode are [`crate::error::Error::InvalidImage`];
/// - alpha is dropped (not composited), colours are the file's own (no
///   colour-profile conversion), as the reference pipeline (Pillow) does.
pub trait ImageDecoder {
    /// Decodes `bytes`.
    fn decode<'a>(&'a self, bytes: &'a [u8], limits: DecodeLimits) -> LocalBoxFuture<'a, Result<RgbImage>>;
}

/// [`ImageDecoder`] over the `image` crate, for native hosts and tests
/// (feature `decode`); its futures are ready at once.
#[cfg(feature = "decode")]
#[derive(Debug, Clone, Copy, Default)]
pub struct NativeImageDecoder;

#[cfg(feature = "decode")]
impl ImageDecoder for NativeImageDecoder {
    fn decode<'a>(&'a self, bytes: &'a [u8], limits: DecodeLimits) -> LocalBoxFuture<'a, Result<RgbImage>> {
        Box::pin(std::future::ready(crate::encoder::image_bytes::decode(bytes, limits)))
    }
}
