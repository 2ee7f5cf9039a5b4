//! Image preprocessing for image encoders (decoding is `image_bytes`).
//!
//! The resize is Pillow's `BILINEAR` resampling (a triangle filter whose
//! support widens when shrinking, i.e. antialiased; fixed-point coefficients,
//! horizontal pass then vertical pass, 8-bit clipping after each), so images
//! preprocessed here match the tensors the reference pipeline made with Pillow.

use crate::error::{Error, Result};

pub use super::image_bytes::DecodeLimits;
#[cfg(feature = "decode")]
pub use super::image_bytes::decode;

/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// Checks what every pixel loop relies on: both sides at least 1 and
    /// `data` exactly `width * height * 3` bytes (computed without overflow).
    /// The fields are public, so an image built by hand is checked here
    /// instead of panicking on an out-of-range index later;
    /// [`Error::InvalidInput`] otherwise.
    pub fn validate(&self) -> Result<()> {
        let expected = (self.width as usize)
            .checked_mul(self.height as usize)
            .and_then(|n| n.checked_mul(3));
        if self.width == 0 || self.height == 0 || expected != Some(self.data.len()) {
            return Err(Error::InvalidInput(format!(
                "RGB data of {} bytes does not match a {}x{} image",
                self.data.len(),
                self.width,
                self.height
            )));
        }
        Ok(())
    }

    /// Builds an RGB image from RGBA pixels (what a canvas `ImageData`
    /// holds); alpha is dropped as Pillow's `convert("RGB")` does.
    pub fn from_rgba(width: u32, height: u32, rgba: &[u8]) -> Result<Self> {
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(4));
        if width == 0 || height == 0 || expected != Some(rgba.len()) {
            return Err(Error::InvalidInput(format!(
                "RGBA data of {} bytes does not match a {width}x{height} image ({} bytes expected)",
                rgba.len(),
                expected.map_or_else(|| "too many".to_string(), |n| n.to_string())
            )));
        }
        let data = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        Ok(Self {
            width,
            height,
            data,
        })
    }
}

/// Python's `round()` (half to even), as the reference sizes were computed with it.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// Size after scaling so the shorter side is `shorter` (the longer side rounded to nearest).
pub fn shorter_side_size(width: u32, height: u32, shorter: u32) -> (u32, u32) {
    let scale = |long: u32, short: u32| {
        (round_half_even(f64::from(long) * f64::from(shorter) / f64::from(short)) as u32).max(1)
    };
    if width <= height {
        (shorter, scale(height, width))
    } else {
        (scale(width, height), shorter)
    }
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Pillow's `precompute_coeffs` for the bilinear filter, then its 8-bit
/// fixed-point normalisation. Returns per-output (first input, count) and
/// `ksize` coefficients per output.
fn coefficients(in_size: u32, out_size: u32) -> (Vec<(usize, usize)>, Vec<i32>, usize) {
    let scale = f64::from(in_size) / f64::from(out_size);
    let filterscale = scale.max(1.0);
    let support = filterscale; // bilinear support is 1.0
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size as usize);
    let mut kk = vec![0i32; out_size as usize * ksize];
    let mut weights = vec![0f64; ksize];
    for xx in 0..out_size as usize {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(i64::from(in_size)) as usize;
        let count = xmax.saturating_sub(xmin).min(ksize);
        let mut ww = 0.0;
        for (x, w) in weights.iter_mut().enumerate().take(count) {
            let t = ((x + xmin) as f64 - center + 0.5) * ss;
            let t = t.abs();
            *w = if t < 1.0 { 1.0 - t } else { 0.0 };
            ww += *w;
        }
        let row = &mut kk[xx * ksize..(xx + 1) * ksize];
        for (x, k) in row.iter_mut().enumerate().take(count) {
            let w = if ww != 0.0 {
                weights[x] / ww
            } else {
                weights[x]
            };
            let scaled = w * f64::from(1u32 << PRECISION_BITS);
            *k = if w < 0.0 {
                (scaled - 0.5) as i32
            } else {
                (scaled + 0.5) as i32
            };
        }
        bounds.push((xmin, count));
    }
    (bounds, kk, ksize)
}

fn clip8(v: i64) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes with Pillow's antialiased bilinear filter (horizontal pass, then
/// vertical). An image that fails [`RgbImage::validate`] is
/// [`Error::InvalidInput`]; a target side outside `1..=4 * MAX_SIDE` is
/// [`Error::ImageTooLarge`] (0 would divide by zero, more would size a huge buffer).
pub fn resize_bilinear(img: &RgbImage, out_w: u32, out_h: u32) -> Result<RgbImage> {
    img.validate()?;
    let sides = 1..=4 * MAX_SIDE;
    if !sides.contains(&out_w) || !sides.contains(&out_h) {
        return Err(Error::ImageTooLarge(format!(
            "cannot resize to {out_w}x{out_h}: each side must be between 1 and {}",
            4 * MAX_SIDE
        )));
    }
    let (w, h) = (img.width as usize, img.height as usize);
    let horizontal = if out_w != img.width {
        let (bounds, kk, ksize) = coefficients(img.width, out_w);
        let mut out = vec![0u8; out_w as usize * h * 3];
        for y in 0..h {
            let src = &img.data[y * w * 3..(y + 1) * w * 3];
            let dst = &mut out[y * out_w as usize * 3..(y + 1) * out_w as usize * 3];
            for (xx, &(xmin, count)) in bounds.iter().enumerate() {
                let k = &kk[xx * ksize..xx * ksize + count];
                let mut acc = [1i64 << (PRECISION_BITS - 1); 3];
                for (x, &kx) in k.iter().enumerate() {
                    let p = &src[(xmin + x) * 3..(xmin + x) * 3 + 3];
                    for c in 0..3 {
                        acc[c] += i64::from(p[c]) * i64::from(kx);
                    }
                }
                for c in 0..3 {
                    dst[xx * 3 + c] = clip8(acc[c]);
                }
            }
        }
        RgbImage {
            width: out_w,
            height: img.height,
            data: out,
        }
    } else {
        img.clone()
    };
    if out_h == img.height {
        return Ok(horizontal);
    }
    let (bounds, kk, ksize) = coefficients(img.height, out_h);
    let row = out_w as usize * 3;
    let mut out = vec![0u8; row * out_h as usize];
    for (yy, &(ymin, count)) in bounds.iter().enumerate() {
        let k = &kk[yy * ksize..yy * ksize + count];
        let dst = &mut out[yy * row..(yy + 1) * row];
        for (i, d) in dst.iter_mut().enumerate() {
            let mut acc = 1i64 << (PRECISION_BITS - 1);
            for (y, &ky) in k.iter().enumerate() {
                acc += i64::from(horizontal.data[(ymin + y) * row + i]) * i64::from(ky);
            }
            *d = clip8(acc);
        }
    }
    Ok(RgbImage {
        width: out_w,
        height: out_h,
        data: out,
    })
}

/// How an image becomes the network's input tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessing {
    /// The shorter side is resized to this many pixels first.
    pub resize_shorter: u32,
    /// Then a centred square of this side is cut out (the network's input size).
    pub crop: u32,
    /// Per-channel mean subtracted after scaling to [0, 1] (RGB).
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by (RGB).
    pub std: [f32; 3],
}

impl Default for Preprocessing {
    /// ImageNet: resize to 256, centre-crop 224, ImageNet mean and std.
    fn default() -> Self {
        Self {
            resize_shorter: 256,
            crop: 224,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }
    }
}

/// Largest accepted crop / resize side (a network input of 4096×4096 is already 200 MB of f32).
pub const MAX_SIDE: u32 = 4096;

impl Preprocessing {
    /// Checks the sizes are in `1..=MAX_SIDE` and every mean and std is finite, every std
    /// non-zero ([`Error::InvalidInput`] otherwise). A crop larger than the resized
    /// image is allowed: the outside is black, as with Pillow.
    pub fn validate(&self) -> Result<()> {
        let sides_ok =
            (1..=MAX_SIDE).contains(&self.resize_shorter) && (1..=MAX_SIDE).contains(&self.crop);
        if !sides_ok {
            return Err(Error::InvalidInput(format!(
                "resize {} and crop {} must be between 1 and {MAX_SIDE}",
                self.resize_shorter, self.crop
            )));
        }
        let stats_ok = self.std.iter().all(|s| s.is_finite() && *s != 0.0)
            && self.mean.iter().all(|m| m.is_finite());
        if !stats_ok {
            return Err(Error::InvalidInput(format!(
                "mean {:?} and std {:?} must be finite, std non-zero",
                self.mean, self.std
            )));
        }
        Ok(())
    }

    /// Resize, centre-crop and normalise `img` into a 1×3×crop×crop NCHW tensor.
    /// The options are checked first ([`Preprocessing::validate`]) and so is
    /// the image ([`RgbImage::validate`]: hand-built images with too few bytes
    /// are [`Error::InvalidInput`], not a panic).
    /// An image so elongated that its resized long side would exceed
    /// `4 * MAX_SIDE` pixels is [`Error::ImageTooLarge`] (a 1×12000 strip would
    /// otherwise become a multi-gigabyte intermediate).
    pub fn tensor(&self, img: &RgbImage) -> Result<Vec<f32>> {
        self.validate()?;
        img.validate()?;
        let (rw, rh) = shorter_side_size(img.width, img.height, self.resize_shorter);
        if rw.max(rh) > 4 * MAX_SIDE {
            return Err(Error::ImageTooLarge(format!(
                "a {}x{} image is too elongated: resized it would be {rw}x{rh}",
                img.width, img.height
            )));
        }
        let resized = resize_bilinear(img, rw, rh)?;
        let crop = self.crop as usize;
        // Pillow-style crop: out-of-range parts (a crop larger than the
        // resized image) are black.
        let left = (i64::from(rw) - crop as i64).div_euclid(2);
        let top = (i64::from(rh) - crop as i64).div_euclid(2);
        let plane = crop * crop;
        let mut out = vec![0f32; 3 * plane];
        for y in 0..crop {
            for x in 0..crop {
                let (sx, sy) = (left + x as i64, top + y as i64);
                let inside = sx >= 0 && sy >= 0 && sx < i64::from(rw) && sy < i64::from(rh);
                for c in 0..3 {
                    let v = if inside {
                        let i = (sy as usize * rw as usize + sx as usize) * 3 + c;
                        f32::from(resized.data[i]) / 255.0
                    } else {
                        0.0
                    };
                    out[c * plane + y * crop + x] = (v - self.mean[c]) / self.std[c];
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorter_side_rounds_like_python() {
        assert_eq!(shorter_side_size(451, 300, 256), (385, 256));
        assert_eq!(shorter_side_size(300, 451, 256), (256, 385));
        assert_eq!(shorter_side_size(256, 256, 256), (256, 256));
    }

    #[test]
    fn resize_keeps_flat_colour() {
        let img = RgbImage {
            width: 7,
            height: 5,
            data: [10, 200, 30].repeat(35),
        };
        let out = resize_bilinear(&img, 3, 11).unwrap();
        assert_eq!((out.width, out.height), (3, 11));
        assert!(out.data.chunks(3).all(|p| p == [10, 200, 30]));
    }

    #[test]
    fn degenerate_preprocessing_is_rejected() {
        let ok = Preprocessing::default();
        assert!(ok.validate().is_ok());
        for bad in [
            Preprocessing {
                resize_shorter: 0,
                ..ok.clone()
            },
            Preprocessing {
                crop: 0,
                ..ok.clone()
            },
            Preprocessing {
                crop: MAX_SIDE + 1,
                ..ok.clone()
            },
            Preprocessing {
                std: [1.0, 0.0, 1.0],
                ..ok.clone()
            },
            Preprocessing {
                mean: [f32::NAN, 0.0, 0.0],
                ..ok.clone()
            },
        ] {
            assert_eq!(
                bad.validate().unwrap_err().code(),
                "invalid_input",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn elongated_images_are_refused_before_resizing() {
        let strip = RgbImage {
            width: 1,
            height: 12_000,
            data: vec![0; 36_000],
        };
        let err = Preprocessing::default().tensor(&strip).unwrap_err();
        assert_eq!(err.code(), "image_too_large");
    }

    #[test]
    fn rgba_length_is_checked() {
        assert!(RgbImage::from_rgba(2, 2, &[0; 16]).is_ok());
        assert_eq!(
            RgbImage::from_rgba(2, 2, &[0; 15]).unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            RgbImage::from_rgba(0, 2, &[]).unwrap_err().code(),
            "invalid_input"
        );
    }
}
