//! The image encoder matches onnxruntime + Pillow on the reference images.

mod common;
#[path = "support/jpeg.rs"]
mod jpeg;
use jpeg::jpeg_of;

use recagent_core::encoder::{preprocess, read_header, ImageFormat, Preprocessing};
use recagent_core::vectors::cosine;
use recagent_core::{ImageEncoder, ImageEncoderOptions};

fn encoder() -> ImageEncoder {
    ImageEncoder::from_bytes(
        &common::asset("mobilenetv2-embedding.onnx"),
        Default::default(),
    )
    .expect("MobileNetV2 loads")
}

#[test]
fn exact_tensors_give_the_reference_embedding_and_class() {
    let encoder = encoder();
    assert_eq!(encoder.dim(), 1280);
    for row in common::image_fixtures() {
        let input = common::f32_le(&std::fs::read(common::image_dir().join(&row.input)).unwrap());
        let out = encoder.embed_tensor(&input).unwrap();
        let c = cosine(&out.embedding, &row.embedding);
        eprintln!(
            "{}: tensor cosine {c:.6}, top5 {:?}",
            row.file,
            out.top_k(5)
        );
        assert!(c >= 0.9999, "{}: cosine {c}", row.file);
        assert_eq!(out.top_k(1)[0], row.top5[0], "{}", row.file);
    }
}

#[test]
fn png_through_our_preprocessing_matches() {
    let encoder = encoder();
    for row in common::image_fixtures() {
        let png = std::fs::read(common::image_dir().join(&row.file)).unwrap();
        let out = encoder.embed_encoded(&png).unwrap();
        let c = cosine(&out.embedding, &row.embedding);
        eprintln!("{}: png cosine {c:.6}", row.file);
        assert!(c >= 0.99, "{}: cosine {c}", row.file);
        assert_eq!(out.top_k(1)[0], row.top5[0], "{}", row.file);
        // Our preprocessing against Pillow's tensor, value by value.
        let reference =
            common::f32_le(&std::fs::read(common::image_dir().join(&row.input)).unwrap());
        let img = preprocess::decode(&png, Default::default()).unwrap();
        let ours = Preprocessing::default().tensor(&img).unwrap();
        let max_diff = ours
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        eprintln!("{}: preprocessing max |diff| {max_diff}", row.file);
        assert!(
            max_diff < 0.05,
            "{}: preprocessing differs by {max_diff}",
            row.file
        );
    }
}

#[test]
fn rgba_pixels_embed_like_the_decoded_image() {
    let encoder = encoder();
    let png = std::fs::read(common::image_dir().join("coffee.png")).unwrap();
    let img = preprocess::decode(&png, Default::default()).unwrap();
    let rgba: Vec<u8> = img
        .data
        .chunks(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    let a = encoder.embed_rgba(img.width, img.height, &rgba).unwrap();
    let b = encoder.embed_encoded(&png).unwrap();
    assert_eq!(a, b);
}

/// A PNG whose header claims 50,000 x 50,000 pixels (IHDR with a valid CRC).
fn huge_png_header() -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(50_000u32.to_be_bytes());
    ihdr.extend(50_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The header read that gates the browser's decoder states the size the
/// decoder finds, for the fixtures as PNGs and as JPEGs (also with
/// metadata segments before the frame header).
#[test]
fn headers_state_the_size_the_decoder_finds() {
    for row in common::image_fixtures() {
        let png = std::fs::read(common::image_dir().join(&row.file)).unwrap();
        let img = preprocess::decode(&png, Default::default()).unwrap();
        let jpeg = jpeg_of(&img);
        // An EXIF-like APP1 and a comment before the rest of the file.
        let mut with_metadata = jpeg[..2].to_vec();
        with_metadata.extend([0xFF, 0xE1, 0x01, 0x02]);
        with_metadata.extend(vec![0x45; 0x0100]);
        with_metadata.extend([0xFF, 0xFE, 0x00, 0x05, b'h', b'i', b'!']);
        with_metadata.extend(&jpeg[2..]);
        for (what, bytes, format) in [
            ("png", &png, ImageFormat::Png),
            ("jpeg", &jpeg, ImageFormat::Jpeg),
            ("jpeg with metadata", &with_metadata, ImageFormat::Jpeg),
        ] {
            let header = read_header(bytes).unwrap();
            let decoded = preprocess::decode(bytes, Default::default()).unwrap();
            assert_eq!(
                (header.format, header.width, header.height),
                (format, decoded.width, decoded.height),
                "{} as {what}",
                row.file
            );
        }
    }
}

#[test]
fn bad_images_are_typed_errors() {
    let encoder = encoder();
    let e = encoder.embed_encoded(&huge_png_header()).unwrap_err();
    assert_eq!(e.code(), "image_too_large", "{e}");
    let png = std::fs::read(common::image_dir().join("chelsea.png")).unwrap();
    let e = encoder.embed_encoded(&png[..png.len() / 2]).unwrap_err();
    assert_eq!(e.code(), "invalid_image", "{e}");
    assert_eq!(
        encoder.embed_encoded(b"GIF89a....").unwrap_err().code(),
        "invalid_image"
    );
    assert_eq!(
        encoder.embed_tensor(&[0.0; 10]).unwrap_err().code(),
        "invalid_input"
    );
    assert_eq!(
        encoder.embed_rgba(2, 2, &[0; 3]).unwrap_err().code(),
        "invalid_input"
    );
}

#[test]
fn options_name_outputs_and_bad_models_fail_cleanly() {
    let model = common::asset("mobilenetv2-embedding.onnx");
    let logits_as_embedding = ImageEncoderOptions {
        embedding_output: Some("output".into()),
        logits_output: Some("output".into()),
        ..Default::default()
    };
    let e = ImageEncoder::from_bytes(&model, logits_as_embedding).unwrap();
    assert_eq!(e.dim(), 1000);
    let missing = ImageEncoderOptions {
        embedding_output: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        ImageEncoder::from_bytes(&model, missing)
            .err()
            .unwrap()
            .code(),
        "unsupported_model"
    );
    let truncated = &model[..model.len() / 2];
    assert!(ImageEncoder::from_bytes(truncated, Default::default()).is_err());
    let text_model = common::asset("minilm-int8.onnx");
    assert_eq!(
        ImageEncoder::from_bytes(&text_model, Default::default())
            .err()
            .unwrap()
            .code(),
        "unsupported_model"
    );
}

/// The 1×1 convolutions in integers (the browser's default, `int8_matmul`):
/// MobileNetV2's (34 products, the first too, whose input keeps a batch
/// axis of 1) run so, and the embeddings
/// stay within cosine 0.999 of onnxruntime's, with the same top class.
#[test]
fn int8_products_match_the_reference() {
    let model = common::asset("mobilenetv2-embedding.onnx");
    let int8 = ImageEncoder::from_bytes(&model, ImageEncoderOptions { int8_matmul: true, ..Default::default() }).unwrap();
    let f32_plan = ImageEncoder::from_bytes(&model, ImageEncoderOptions { int8_matmul: false, ..Default::default() }).unwrap();
    eprintln!("int8 products: {}", int8.int8_products());
    assert!(int8.int8_products() >= 34, "{} products in integers", int8.int8_products());
    assert_eq!(f32_plan.int8_products(), 0);
    for row in common::image_fixtures() {
        let input = common::f32_le(&std::fs::read(common::image_dir().join(&row.input)).unwrap());
        let out = int8.embed_tensor(&input).unwrap();
        let c = cosine(&out.embedding, &row.embedding);
        eprintln!("{}: int8 cosine {c:.6}", row.file);
        assert!(c >= 0.999, "{}: cosine {c}", row.file);
        assert_eq!(out.top_k(1)[0], row.top5[0], "{}", row.file);
        assert_ne!(out.embedding, f32_plan.embed_tensor(&input).unwrap().embedding);
    }
}
