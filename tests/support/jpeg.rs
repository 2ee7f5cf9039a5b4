//! Photos as JPEG for the image tests (native and in the browser): the
//! fixtures are PNGs, and a JPEG of the same pixels tries the other decoder.

use recagent_core::encoder::RgbImage;

/// `image` saved as a baseline JPEG (the image crate's encoder, quality 75).
pub fn jpeg_of(image: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_raw(image.width, image.height, image.data.clone())
        .expect("an RgbImage holds width × height × 3 bytes")
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("JPEG encoding into memory");
    out.into_inner()
}
