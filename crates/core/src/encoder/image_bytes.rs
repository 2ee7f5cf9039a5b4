//! Encoded images (PNG, JPEG) before their pixels: the header read that
//! checks a photo against [`DecodeLimits`] before any decoder allocates, and
//! (with the `decode` feature, the native builds') the decoder itself.
//!
//! The browser build leaves the decoder out: the page decodes with
//! `createImageBitmap` through [`crate::platform::ImageDecoder`], which is
//! only called once [`check_header`] has accepted the bytes.

use crate::error::{Error, Result};

/// Bounds on the images accepted from bytes, checked from the header before
/// any pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted width or height, in pixels.
    pub max_side: u32,
    /// Largest decoded size, in bytes (4 per pixel: the RGBA a browser
    /// decodes to; the native decoder's allocations are bounded by it too).
    pub max_alloc: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_side: 12_000,
            max_alloc: 256 * 1024 * 1024,
        }
    }
}

impl DecodeLimits {
    fn too_large(&self, what: String) -> Error {
        Error::ImageTooLarge(format!(
            "{what} (at most {} pixels a side and {} MiB)",
            self.max_side,
            self.max_alloc / (1024 * 1024)
        ))
    }

    /// [`Error::ImageTooLarge`] when an image of `width` × `height` is beyond
    /// these limits.
    pub fn check(&self, width: u32, height: u32) -> Result<()> {
        if width > self.max_side || height > self.max_side {
            return Err(self.too_large(format!("a {width}x{height} image")));
        }
        let bytes = u64::from(width).saturating_mul(u64::from(height)).saturating_mul(4);
        if bytes > self.max_alloc {
            return Err(self.too_large(format!("a {width}x{height} image needs {bytes} bytes decoded")));
        }
        Ok(())
    }
}

/// The encodings photos may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// Baseline or progressive JPEG.
    Jpeg,
}

impl ImageFormat {
    /// The MIME type: `image/png` or `image/jpeg`.
    pub fn mime(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
        }
    }
}

/// What an image's header says: its encoding and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// PNG or JPEG.
    pub format: ImageFormat,
    /// Width in pixels, at least 1.
    pub width: u32,
    /// Height in pixels, at least 1.
    pub height: u32,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Most bytes of JPEG segments walked before the frame header; beyond this
/// the file is refused rather than scanned further (real files put the frame
/// header within their first few hundred KiB of metadata).
pub const MAX_JPEG_HEADER_BYTES: usize = 4 * 1024 * 1024;

/// Reads the format and size from the first bytes of a PNG (its `IHDR`) or
/// a JPEG (its first frame header, `SOF0`–`SOF15`), without decoding.
/// [`Error::InvalidImage`] for anything else, a header cut short, or a side
/// of 0.
pub fn read_header(bytes: &[u8]) -> Result<ImageHeader> {
    let invalid = |why: &str| Error::InvalidImage(why.to_string());
    let be16 = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at.checked_add(2)?)?;
        Some(u32::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let be32 = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (format, width, height) = if bytes.starts_with(PNG_SIGNATURE) {
        // The first chunk must be IHDR, 13 bytes: width, height, ...
        if bytes.get(12..16) != Some(b"IHDR".as_slice()) || be32(8) != Some(13) {
            return Err(invalid("a PNG without its IHDR header"));
        }
        let (Some(w), Some(h)) = (be32(16), be32(20)) else {
            return Err(invalid("a PNG cut short in its header"));
        };
        (ImageFormat::Png, w, h)
    } else if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut at = 2usize;
        loop {
            if at > MAX_JPEG_HEADER_BYTES {
                return Err(invalid("a JPEG without a frame header in its first 4 MiB"));
            }
            // A marker: one or more 0xFF fill bytes, then its code.
            if bytes.get(at) != Some(&0xFF) {
                return Err(invalid("a JPEG whose markers are broken before the frame header"));
            }
            while bytes.get(at) == Some(&0xFF) {
                at += 1;
            }
            let Some(&code) = bytes.get(at) else {
                return Err(invalid("a JPEG cut short before its frame header"));
            };
            at += 1;
            match code {
                // Restart markers and TEM stand alone.
                0x01 | 0xD0..=0xD7 => continue,
                0xD9 | 0xDA => return Err(invalid("a JPEG without a frame header before its image data")),
                _ => {}
            }
            let Some(length) = be16(at) else {
                return Err(invalid("a JPEG cut short before its frame header"));
            };
            if length < 2 {
                return Err(invalid("a JPEG segment with a length below 2"));
            }
            // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
            if (0xC0..=0xCF).contains(&code) && !matches!(code, 0xC4 | 0xC8 | 0xCC) {
                // length, precision, height, width
                let (Some(h), Some(w)) = (be16(at + 3), be16(at + 5)) else {
                    return Err(invalid("a JPEG cut short in its frame header"));
                };
                break (ImageFormat::Jpeg, w, h);
            }
            at += length as usize;
        }
    } else {
        return Err(invalid("neither a PNG nor a JPEG image"));
    };
    if width == 0 || height == 0 {
        return Err(invalid(&format!("a {width}x{height} image")));
    }
    Ok(ImageHeader { format, width, height })
}

/// [`read_header`], then [`DecodeLimits::check`] on the size it read: what
/// must pass before any decoder sees the bytes.
pub fn check_header(bytes: &[u8], limits: DecodeLimits) -> Result<ImageHeader> {
    let header = read_header(bytes)?;
    limits.check(header.width, header.height)?;
    Ok(header)
}

/// Decodes PNG or JPEG bytes to RGB (alpha dropped, as Pillow's
/// `convert("RGB")` does). The header is checked first ([`check_header`]:
/// [`Error::ImageTooLarge`] beyond `limits`); anything undecodable gives
/// [`Error::InvalidImage`]. Only in builds with the `decode` feature (the
/// native ones): the browser decodes through
/// [`crate::platform::ImageDecoder`].
#[cfg(feature = "decode")]
pub fn decode(bytes: &[u8], limits: DecodeLimits) -> Result<super::RgbImage> {
    use image::{ImageError, ImageReader, Limits};
    use std::io::Cursor;

    let header = check_header(bytes, limits)?;
    let format = match header.format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut l = Limits::default();
    l.max_image_width = Some(limits.max_side);
    l.max_image_height = Some(limits.max_side);
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(e) => limits.too_large(e.to_string()),
        e => Error::InvalidImage(e.to_string()),
    })?;
    let rgb = image.to_rgb8();
    let (width, height) = rgb.dimensions();
    Ok(super::RgbImage {
        width,
        height,
        data: rgb.into_raw(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut b = PNG_SIGNATURE.to_vec();
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&[8, 2, 0, 0, 0]);
        b
    }

    fn jpeg(segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8];
        for (code, body) in segments {
            b.extend_from_slice(&[0xFF, *code]);
            b.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            b.extend_from_slice(body);
        }
        b
    }

    fn sof(width: u16, height: u16) -> Vec<u8> {
        let mut body = vec![8];
        body.extend_from_slice(&height.to_be_bytes());
        body.extend_from_slice(&width.to_be_bytes());
        body.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        body
    }

    #[test]
    fn png_and_jpeg_sizes_are_read_from_their_headers() {
        let h = read_header(&png(640, 480)).unwrap();
        assert_eq!((h.format, h.width, h.height), (ImageFormat::Png, 640, 480));
        // APP0 and a quantisation table before a progressive frame header.
        let j = jpeg(&[(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec()), (0xDB, vec![0; 65]), (0xC2, sof(300, 200))]);
        let h = read_header(&j).unwrap();
        assert_eq!((h.format, h.width, h.height), (ImageFormat::Jpeg, 300, 200));
        assert_eq!(h.format.mime(), "image/jpeg");
    }

    #[test]
    fn broken_headers_are_invalid_images() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("gif", b"GIF89a\x01\0\x01\0".to_vec()),
            ("png cut", png(1, 1)[..20].to_vec()),
            ("png zero side", png(0, 5)),
            ("jpeg no frame", jpeg(&[(0xDB, vec![0; 65])])),
            ("jpeg image data first", jpeg(&[(0xDA, vec![0; 10]), (0xC0, sof(2, 2))])),
            ("jpeg length below 2", vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 1]),
            ("jpeg frame cut", jpeg(&[(0xC0, sof(2, 2))])[..9].to_vec()),
            ("jpeg zero height", jpeg(&[(0xC0, sof(2, 0))])),
            ("jpeg garbage between segments", [jpeg(&[]), vec![0x00, 0xFF, 0xC0]].concat()),
            ("jpeg segment past the end", vec![0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 0]),
        ];
        for (what, bytes) in cases {
            assert_eq!(read_header(&bytes).unwrap_err().code(), "invalid_image", "{what}");
        }
        // DHT (C4) is not a frame header.
        assert!(read_header(&jpeg(&[(0xC4, vec![0; 20])])).is_err());
    }

    #[test]
    fn limits_refuse_a_side_or_an_area_before_decoding() {
        let limits = DecodeLimits {
            max_side: 1000,
            max_alloc: 1_000_000,
        };
        assert!(check_header(&png(500, 500), limits).is_ok());
        assert_eq!(check_header(&png(1001, 2), limits).unwrap_err().code(), "image_too_large");
        assert_eq!(check_header(&png(600, 600), limits).unwrap_err().code(), "image_too_large");
        // The largest sides a header can state do not overflow the area.
        assert_eq!(
            DecodeLimits {
                max_side: u32::MAX,
                max_alloc: u64::MAX / 2
            }
            .check(u32::MAX, u32::MAX)
            .unwrap_err()
            .code(),
            "image_too_large"
        );
    }

    #[cfg(feature = "decode")]
    #[test]
    fn garbage_is_an_invalid_image() {
        let err = decode(b"hello", DecodeLimits::default()).unwrap_err();
        assert_eq!(err.code(), "invalid_image");
        let err = decode(&png(4000, 4000), DecodeLimits::default()).unwrap_err();
        assert_eq!(err.code(), "invalid_image", "a header alone is not an image");
    }
}
