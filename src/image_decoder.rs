//! The browser's [`ImageDecoder`]: PNG/JPEG bytes decoded by
//! `createImageBitmap` and read back through a 2D canvas
//! (`js/decode-image.js`), so the `.wasm` carries no image decoder. The core
//! ([`Photo::decode`](recagent_core::recommender::Photo::decode)) checks the
//! header against the limits before this is called.

use recagent_core::encoder::{DecodeLimits, RgbImage};
use recagent_core::error::{Error, Result};
use recagent_core::platform::{ImageDecoder, LocalBoxFuture};
use recagent_core::memory::photo_type;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(module = "/js/decode-image.js")]
extern "C" {
    /// Resolves to the `ImageData` of `bytes`; rejects when they do not decode.
    #[wasm_bindgen(js_name = decodeImage)]
    fn decode_image(bytes: &[u8], mime: &str) -> js_sys::Promise;
}

/// [`ImageDecoder`] over `createImageBitmap` (window or worker).
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserImageDecoder;

impl ImageDecoder for BrowserImageDecoder {
    fn decode<'a>(&'a self, bytes: &'a [u8], limits: DecodeLimits) -> LocalBoxFuture<'a, Result<RgbImage>> {
        Box::pin(async move {
            let mime = photo_type(bytes).ok_or_else(|| Error::InvalidImage("neither a PNG nor a JPEG image".into()))?;
            let decoded = wasm_bindgen_futures::JsFuture::from(decode_image(bytes, mime))
                .await
                .map_err(|e| Error::InvalidImage(format!("the browser could not decode it: {}", js_message(&e))))?;
            let image: web_sys::ImageData = decoded
                .dyn_into()
                .map_err(|_| Error::InvalidImage("the browser's decoder gave no ImageData".into()))?;
            // Checked again on what the browser made of it (EXIF orientation
            // may swap the sides), before copying its pixels.
            limits.check(image.width(), image.height())?;
            RgbImage::from_rgba(image.width(), image.height(), &image.data())
        })
    }
}

/// `error.message` of a rejection, or its string form.
fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
