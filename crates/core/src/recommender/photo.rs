//! Photos on their way into the recommender: checked (size, PNG/JPEG
//! signature, header within the image model's limits) and then decoded by
//! the host's [`ImageDecoder`], so that [`Recommender::add_item`],
//! [`Recommender::search_by_photo`] and [`Recommender::restore_item`] only
//! ever see pixels that fit the limits.
//!
//! [`Recommender::add_item`]: super::Recommender::add_item
//! [`Recommender::search_by_photo`]: super::Recommender::search_by_photo
//! [`Recommender::restore_item`]: super::Recommender::restore_item

use super::items::MAX_PHOTO_BYTES;
use super::Recommender;
use crate::encoder::{check_header, DecodeLimits, RgbImage};
use crate::error::{Error, Result};
use crate::memory::photo_type;
use crate::platform::ImageDecoder;

/// A photo's bytes (stored with an added item) and its decoded pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    bytes: Vec<u8>,
    mime: &'static str,
    image: RgbImage,
}

/// What must hold before a decoder sees `bytes`: at most
/// [`MAX_PHOTO_BYTES`] (`invalid_input`), a PNG or JPEG signature and a
/// readable header (`invalid_image`), a size within `limits`
/// (`image_too_large`). Returns the MIME type.
fn check(bytes: &[u8], limits: DecodeLimits) -> Result<&'static str> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(Error::InvalidInput(format!(
            "a photo of {} bytes; at most {MAX_PHOTO_BYTES}",
            bytes.len()
        )));
    }
    let mime = photo_type(bytes).ok_or_else(|| Error::InvalidImage("the photo is neither PNG nor JPEG".into()))?;
    check_header(bytes, limits)?;
    Ok(mime)
}

impl Photo {
    /// Checks `bytes` (see the module docs) and decodes them with `decoder`.
    /// Errors: `invalid_input` for more than [`MAX_PHOTO_BYTES`],
    /// `invalid_image` for bytes that are not a decodable PNG/JPEG,
    /// `image_too_large` beyond `limits` (from the header, before decoding).
    pub async fn decode(decoder: &dyn ImageDecoder, bytes: Vec<u8>, limits: DecodeLimits) -> Result<Photo> {
        let mime = check(&bytes, limits)?;
        let image = decoder.decode(&bytes, limits).await?;
        image.validate()?;
        limits.check(image.width, image.height)?;
        Ok(Photo { bytes, mime, image })
    }

    /// [`Photo::decode`] with the `image` crate, synchronously (native
    /// builds: the CLI and tests).
    #[cfg(feature = "decode")]
    pub fn decode_native(bytes: Vec<u8>, limits: DecodeLimits) -> Result<Photo> {
        let mime = check(&bytes, limits)?;
        let image = crate::encoder::image_bytes::decode(&bytes, limits)?;
        Ok(Photo { bytes, mime, image })
    }

    /// The encoded bytes, as given.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `image/png` or `image/jpeg`.
    pub fn mime(&self) -> &'static str {
        self.mime
    }

    /// The decoded pixels.
    pub fn image(&self) -> &RgbImage {
        &self.image
    }
}

impl Recommender {
    /// The limits photos are decoded within: the image model's
    /// ([`crate::encoder::ImageEncoderOptions::limits`]). `invalid_input`
    /// without an image model, as every use of a photo needs one.
    pub fn photo_limits(&self) -> Result<DecodeLimits> {
        self.image
            .as_ref()
            .map(|encoder| encoder.options().limits)
            .ok_or_else(|| Error::InvalidInput("photos need the image model (imageModel in create, or loadImageModel)".into()))
    }
}
