//! Writes the seed corpora of the fuzz targets into `fuzz/corpus/<target>/`,
//! every file made here by the core's own encoders or written out by hand
//! (no MovieLens data, no downloaded model): a tiny synthetic catalog
//! bundle, a memory export, profile snapshots, SSE transcripts and JSON
//! answers, tool calls written as text, tool arguments, text with personal
//! identifiers, small PNG and JPEG images, and two minimal ONNX models
//! (an image model and a text model) encoded as protobuf by hand.
//!
//! ```sh
//! cargo run --release --manifest-path fuzz/Cargo.toml --example gen_seeds
//! ```
//!
//! Files are named by content (`seed-<name>`); running it again rewrites
//! the same files. Crash inputs kept as regression seeds (`regress-*`) are
//! not touched.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use futures::executor::block_on;
use recagent_core::catalog::sequence::KIND_CLASSES;
use recagent_core::catalog::{AttributeDef, AttributeKind, AttributeValue, CatalogParts, Embeddings, Item, SequenceModel};
use recagent_core::platform::{Clock, KvStore, ManualClock, MemoryKvStore};
use recagent_core::{Catalog, Event, EventKind, Memory, Statement, UserProfile};

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    dir
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let path = corpus(target).join(format!("seed-{name}"));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn with_mode(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![mode];
    out.extend_from_slice(bytes);
    out
}

fn tiny_catalog(quantized: bool, sequence: bool) -> Vec<u8> {
    let items = ["a1", "b2", "c3"];
    let dim = 4;
    let text: Vec<f32> = (0..items.len() * dim).map(|k| ((k * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let sequence = sequence.then(|| SequenceModel {
        dim,
        window: 2,
        input: Embeddings::F32 { dim, values: text.clone() },
        output: Embeddings::F32 { dim, values: text.iter().map(|x| -x).collect() },
        bias: vec![0.1, -0.2, 0.3],
        position_weights: vec![1.0, 0.5],
        kind_weights: vec![1.0; KIND_CLASSES],
        hidden: 2,
        w1: vec![0.25; dim * 2],
        b1: vec![0.0, 0.1],
        w2: vec![-0.25; 2 * dim],
    });
    let mut catalog = Catalog::new(CatalogParts {
        name: "synthetic-3".into(),
        attributes: vec![
            AttributeDef { name: "title".into(), kind: AttributeKind::Text },
            AttributeDef { name: "genre".into(), kind: AttributeKind::Tags },
            AttributeDef { name: "year".into(), kind: AttributeKind::Number },
        ],
        items: items
            .iter()
            .enumerate()
            .map(|(i, id)| Item {
                id: (*id).into(),
                title: format!("Film {i}"),
                text: format!("Film {i} drama {}", 1990 + i),
                image: (i == 0).then(|| "a1.png".to_string()),
                values: vec![
                    AttributeValue::Text(format!("Film {i}")),
                    AttributeValue::Tags(vec!["Drama".into(), "Comedy".into()]),
                    if i == 2 { AttributeValue::Missing } else { AttributeValue::Number(1990.0 + i as f64) },
                ],
            })
            .collect(),
        text: Some(Embeddings::F32 { dim, values: text.clone() }),
        text_model: None,
        image: Some(Embeddings::F32 { dim: 2, values: vec![1.0, 0.0, 0.0, 0.0, 0.6, 0.8] }),
        popularity: vec![3.0, 1.0, 0.0],
        sequence,
    })
    .expect("a valid tiny catalog");
    if quantized {
        catalog.quantize().expect("quantize");
    }
    catalog.to_bundle().expect("encode the tiny catalog")
}

fn profile() -> UserProfile {
    let mut p = UserProfile::new();
    let t = 1_700_000_000_000.0;
    for (k, (item, kind)) in [
        ("a1", EventKind::Like),
        ("b2", EventKind::View { dwell_ms: Some(12_000.0) }),
        ("c3", EventKind::Dislike),
        ("a1", EventKind::Click),
    ]
    .into_iter()
    .enumerate()
    {
        p.observe(Event { item: item.into(), kind, time_ms: t + 1000.0 * k as f64 }).expect("observe");
    }
    p.state(Statement::Exclude { attribute: "genre".into(), value: "Horror".into(), source: "no horror".into() });
    p.state(Statement::Avoid { text: "sad endings".into(), embedding: vec![0.5, 0.5, 0.5, 0.5] });
    p
}

fn memory_export() -> String {
    block_on(async {
        let store: Rc<dyn KvStore> = Rc::new(MemoryKvStore::new());
        let clock: Rc<dyn Clock> = Rc::new(ManualClock::at(1_700_000_000_000.0));
        let memory = Memory::open(store, clock).await.expect("open");
        memory.remember("I love Japanese animation").await.expect("remember");
        memory.remember("no horror films please").await.expect("remember");
        memory.save_profile(&profile().snapshot().expect("snapshot")).await.expect("save profile");
        memory.export().await.expect("export")
    })
}

/// A protobuf field key.
fn key(field: u32, wire: u32) -> Vec<u8> {
    varint(u64::from(field << 3 | wire))
}

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn int_field(field: u32, v: u64) -> Vec<u8> {
    [key(field, 0), varint(v)].concat()
}

fn bytes_field(field: u32, bytes: &[u8]) -> Vec<u8> {
    [key(field, 2), varint(bytes.len() as u64), bytes.to_vec()].concat()
}

/// `ValueInfoProto` of a tensor of `elem_type` with `dims` (a `Some` is a
/// fixed size, a `None` a symbolic one).
fn value_info(name: &str, elem_type: u64, dims: &[Option<u64>]) -> Vec<u8> {
    let shape: Vec<u8> = dims
        .iter()
        .enumerate()
        .flat_map(|(k, d)| {
            let dim = match d {
                Some(v) => int_field(1, *v),
                None => bytes_field(2, format!("d{k}").as_bytes()),
            };
            bytes_field(1, &dim)
        })
        .collect();
    let tensor = [int_field(1, elem_type), bytes_field(2, &shape)].concat();
    let ty = bytes_field(1, &tensor);
    [bytes_field(1, name.as_bytes()), bytes_field(2, &ty)].concat()
}

fn node(inputs: &[&str], outputs: &[&str], op: &str) -> Vec<u8> {
    let mut n = Vec::new();
    for i in inputs {
        n.extend(bytes_field(1, i.as_bytes()));
    }
    for o in outputs {
        n.extend(bytes_field(2, o.as_bytes()));
    }
    n.extend(bytes_field(4, op.as_bytes()));
    n
}

/// A float `TensorProto` initializer.
fn initializer(name: &str, dims: &[u64], values: &[f32]) -> Vec<u8> {
    let mut t = Vec::new();
    for d in dims {
        t.extend(int_field(1, *d));
    }
    t.extend(int_field(2, 1));
    t.extend(bytes_field(8, name.as_bytes()));
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.extend(bytes_field(9, &raw));
    t
}

fn model(graph: &[u8]) -> Vec<u8> {
    let opset = [bytes_field(1, b""), int_field(2, 13)].concat();
    [int_field(1, 7), bytes_field(2, b"recagent-fuzz"), bytes_field(7, graph), bytes_field(8, &opset)].concat()
}

/// The smallest image model: `embedding = GlobalAveragePool(Relu(x))`,
/// x f32 `[1, 3, 8, 8]`.
fn image_model() -> Vec<u8> {
    let graph = [
        bytes_field(1, &node(&["x"], &["r"], "Relu")),
        bytes_field(1, &node(&["r"], &["embedding"], "GlobalAveragePool")),
        bytes_field(2, b"g"),
        bytes_field(11, &value_info("x", 1, &[None, Some(3), Some(8), Some(8)])),
        bytes_field(12, &value_info("embedding", 1, &[None, Some(3), Some(1), Some(1)])),
    ]
    .concat();
    model(&graph)
}

/// The smallest text model: `last_hidden_state = Gather(W, input_ids)`,
/// W a `rows`×4 table (8: one row per token of the fuzz target's
/// vocabulary; fewer: token ids past the table, which panicked in tract).
fn text_model(rows: u64) -> Vec<u8> {
    let w: Vec<f32> = (0..rows * 4).map(|k| (k as f32 - 16.0) / 16.0).collect();
    let graph = [
        bytes_field(1, &node(&["W", "input_ids"], &["last_hidden_state"], "Gather")),
        bytes_field(2, b"g"),
        bytes_field(5, &initializer("W", &[rows, 4], &w)),
        bytes_field(11, &value_info("input_ids", 7, &[None, None])),
        bytes_field(12, &value_info("last_hidden_state", 1, &[None, None, Some(4)])),
    ]
    .concat();
    model(&graph)
}

fn image(format: image::ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 40) as u8, (y * 40) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode a tiny image");
    out.into_inner()
}

fn main() {
    // bundle_decode: mode byte 0 (bytes as they are) and 1 (CRC recomputed).
    for (name, quantized, sequence) in [("f32", false, false), ("int8", true, false), ("sequence", false, true)] {
        let bundle = tiny_catalog(quantized, sequence);
        write("bundle_decode", name, &with_mode(0, &bundle));
        write("bundle_decode", &format!("{name}-crc"), &with_mode(1, &bundle));
    }

    // memory_import: an export with facts, episodes and a profile; the empty memory.
    write("memory_import", "export", memory_export().as_bytes());
    write(
        "memory_import",
        "empty",
        br#"{"format":"recagent-memory","version":1,"episodes":[],"semantic":[],"profile":null,"items":[]}"#,
    );

    // profile_restore: a whole snapshot (mode 0) and its JSON body (mode 1).
    let snapshot = profile().snapshot().expect("snapshot");
    write("profile_restore", "snapshot", &with_mode(0, &snapshot));
    write("profile_restore", "body", &with_mode(1, &snapshot[16..]));
    let empty = UserProfile::new().snapshot().expect("snapshot");
    write("profile_restore", "empty-body", &with_mode(1, &empty[16..]));

    // sse_stream: two chunking bytes, then a body.
    let sse: [(&str, &str); 5] = [
        ("text", "data: {\"choices\":[{\"delta\":{\"content\":\"Try \"}}]}\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"Fargo (1996)\"},\"finish_reason\":\"stop\"}],\"model\":\"m\"}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\ndata: [DONE]\n\n"),
        ("tool-call", "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":{\"name\":\"recommend\",\"arguments\":\"{\\\"k\\\":\"}}]}}]}\r\n\r\ndata: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"5}\"}}]},\"finish_reason\":\"tool_calls\"}]}\r\n\r\n"),
        ("comments-multiline", ": keep-alive\n\nevent: message\ndata: {\"choices\":[{\"delta\":\ndata: {\"content\":\"é😀\"}}]}\n\nretry: 10\n\n"),
        ("text-call", "data: {\"choices\":[{\"delta\":{\"content\":\"{\\\"name\\\": \\\"search_catalog\\\", \\\"arguments\\\": {\\\"query\\\": \\\"space\\\"}}\"},\"finish_reason\":\"stop\"}]}\n\n"),
        ("json", "{\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"get_item\",\"arguments\":\"{\\\"id\\\":\\\"a1\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}"),
    ];
    for (name, body) in sse {
        write("sse_stream", name, &[&[7u8, 5][..], body.as_bytes()].concat());
    }

    // text_tool_calls
    for (name, text) in [
        ("object", r#"{"name": "recommend", "arguments": {"k": 3, "query": "space opera"}}"#),
        ("fenced", "Sure.\n```json\n{\"tool\": \"search_catalog\", \"args\": {\"query\": \"heist\"}}\n```\nDone."),
        ("array", r#"[{"name":"get_item","arguments":{"id":"a1"}},{"name":"remember","arguments":{"fact":"likes jazz"}}]"#),
        ("tag", "<tool_call>{\"name\": \"recall_memory\", \"arguments\": {\"query\": \"genres\"}}</tool_call>"),
        ("prose", "No tool needed: Fargo (1996) and Heat (1995) are both good picks."),
    ] {
        write("text_tool_calls", name, text.as_bytes());
    }

    // schema_arguments
    for (name, text) in [
        ("valid", r#"{"query": "space", "k": 5, "filters": {"where": [{"attribute": "genre", "has": "Drama"}]}}"#),
        ("repairable", r#"{"k": "5", "query": 42, "extra": true}"#),
        ("string-of-json", r#""{\"id\": \"a1\"}""#),
        ("echo", r#"{"query": {"type": "string", "minLength": 1, "maxLength": 500}}"#),
        ("lone", r#"{"fact": ["likes jazz"], "question": null, "diversity": 1.5}"#),
    ] {
        write("schema_arguments", name, text.as_bytes());
    }

    // redact
    for (name, text) in [
        ("mixed", "mail jane.doe@example.com or call +1 (555) 123-4567; card 4111 1111 1111 1111, ssn 078-05-1120"),
        ("secrets", "key sk-abc123DEF456ghi789JKL0 at https://bob:hunter2@example.com from 192.168.1.20"),
        ("iban", "IBAN DE89 3704 0044 0532 0130 00 and GB82WEST12345698765432"),
        ("ordinary", "Toy Story (1995) rated 4.5 stars, released 2024-01-15 at 10:30"),
        ("runs", "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1)(1)(12 (3 ://a AB12 x@y a.a."),
    ] {
        write("redact", name, text.as_bytes());
    }

    // image_preprocess
    write("image_preprocess", "png", &image(image::ImageFormat::Png, 5, 3));
    write("image_preprocess", "jpeg", &image(image::ImageFormat::Jpeg, 4, 6));
    let rgba = image::RgbaImage::from_fn(2, 2, |x, y| image::Rgba([255, (x * 255) as u8, (y * 255) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    rgba.write_to(&mut out, image::ImageFormat::Png).expect("encode");
    let png_rgba = out.into_inner();
    write("image_preprocess", "png-rgba", &png_rgba);

    // image_header: the same files (their headers are what it reads)
    write("image_header", "png", &image(image::ImageFormat::Png, 5, 3));
    write("image_header", "jpeg", &image(image::ImageFormat::Jpeg, 4, 6));
    write("image_header", "png-rgba", &png_rgba);

    // tokenizer_json: a small BERT tokenizer.json (uncased and cased) and a vocab.txt.
    for (name, lowercase) in [("uncased", true), ("cased", false)] {
        let file = serde_json::json!({
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                "strip_accents": null, "lowercase": lowercase},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, ",": 5, "world": 6, "!": 7,
                    "Hello": 8, "un": 9, "##aff": 10, "##able": 11}}
        });
        write("tokenizer_json", name, file.to_string().as_bytes());
    }
    write("tokenizer_json", "vocab-txt", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n,\nworld\n##s\n");

    // item_records: [items, interactions] as JSON.
    let shop = serde_json::json!([
        [
            {"id": "p1", "title": "Rain jacket", "text": "Waterproof.", "attributes": {"price": 80, "tags": ["outdoor", "rain"], "color": "red", "sale": true}},
            {"id": 2, "title": "Mug", "attributes": {"price": 9.5, "tags": [], "color": null}},
            {"id": "3", "title": "Kettle", "image": "kettle.png"}
        ],
        [{"user": "u1", "item": "p1", "timestamp": 1}, {"user": 7, "item": 2, "rating": 4}, {"user": "u1", "item": "gone"}]
    ]);
    let answer = br#"{"ids":[["1","2"]],"embeddings":[[[0.6,0.8],[1.0,0.0]]],"documents":[["A film","B"]],"metadatas":[[{"rc.title":"A","genre":["Drama"],"rc.f.genre":["drama"],"year":1994,"rc.popularity":12},{"rc.title":"B","brand":"Acme"}]],"distances":[[0.1,0.4]],"include":["documents","metadatas","embeddings"]}"#;
    write("engine_answer", "query", &with_mode(1, answer));
    let get = br#"{"ids":["1"],"embeddings":[[0.6,0.8]],"documents":null,"metadatas":[{"rc.title":"A","year":1994}],"include":["metadatas","embeddings"]}"#;
    write("engine_answer", "get", &with_mode(0, get));
    let get_with_rows = format!(
        r#"{{"ids":["1"],"embeddings":[[0.6,0.8]],"metadatas":[{{"rc.title":"A","rc.seq":"{}"}}]}}"#,
        recagent_core::catalog::engine_record::encode_sequence(&[0.5, -1.0, 0.25])
    );
    write("engine_answer", "get-with-rows", &with_mode(2, get_with_rows.as_bytes()));
    // history_records: what Recommender::history_records saves.
    let history = br#"[{"item":{"id":"9","title":"Nine","text":"Nine, a film","image":null,"values":[["Drama"],1994,"Acme"]},"vector":[0.6,0.8],"popularity":3.0,"sequence":[0.5,-1.0,0.25]},{"item":{"id":"x","title":"","text":"","image":null,"values":[null,null,null]},"vector":[1.0],"popularity":0.0,"sequence":null}]"#;
    write("history_records", "two", history);
    write("item_records", "shop", shop.to_string().as_bytes());
    write("item_records", "duplicate-id", br#"[[{"id": 7, "title": "a"}, {"id": "7", "title": "b"}], []]"#);

    // onnx_load: mode byte 0 = image encoder, 1 = text encoder.
    write("onnx_load", "image", &with_mode(0, &image_model()));
    write("onnx_load", "text", &with_mode(1, &text_model(8)));
    write("onnx_load", "text-table-smaller-than-vocabulary", &with_mode(1, &text_model(3)));
    println!("seeds written to {}", Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").display());
}
