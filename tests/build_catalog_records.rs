//! `recagent build-catalog --items FILE [--interactions FILE]` with the real
//! MiniLM (and MobileNetV2 for images): JSON Lines and CSV items, CSV and
//! JSON Lines interactions, images from a file and from a local HTTP
//! server, the bundle decoded and checked; and every bad file refused with
//! its file and line.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::recagent;
use recagent_cli::offline::from_records::records_input;
use recagent_cli::offline::record_files::{read_items, Limits};
use recagent_core::catalog::bundle::decode;
use recagent_core::catalog::{AttributeValue, Catalog};
use recagent_core::vectors::cosine;
use serde_json::{json, Value};

fn asset(name: &str) -> String {
    let path = common::assets().join(name);
    assert!(path.is_file(), "{}: missing (run scripts/setup.sh to fetch the assets)", path.display());
    path.display().to_string()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs build-catalog with MiniLM and `extra` arguments.
fn build(extra: &[&str]) -> std::process::Output {
    let (model, vocab) = (asset("minilm-int8.onnx"), asset("vocab.txt"));
    let mut args = vec!["build-catalog", "--model", &model, "--vocab", &vocab];
    args.extend_from_slice(extra);
    recagent(&args, "")
}

/// A build that must succeed: its stdout summary and stderr.
fn built(extra: &[&str]) -> (Value, String) {
    let o = build(extra);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    (serde_json::from_slice(&o.stdout).expect("one JSON summary on stdout"), stderr)
}

/// A build that must fail with `code`: its one error line.
fn refused(extra: &[&str], code: &str) -> String {
    let o = build(extra);
    assert_eq!(o.status.code(), Some(1), "{extra:?}");
    let stderr = String::from_utf8_lossy(&o.stderr);
    let last = stderr.lines().last().unwrap_or("").to_string();
    assert!(last.starts_with(&format!("recagent: error[{code}]: ")), "{extra:?}: {stderr}");
    assert!(o.stdout.is_empty());
    last
}

/// Serves `coffee.png` at `/coffee.png`, a redirect to it at `/old.png`
/// and 404 elsewhere, on 127.0.0.1, for a few connections.
fn serve(png: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, extra, body): (&str, String, &[u8]) = match path.as_str() {
                "/coffee.png" => ("200 OK", "content-type: image/png\r\n".into(), &png),
                "/old.png" => ("302 Found", "location: /coffee.png\r\n".into(), b""),
                _ => ("404 Not Found", String::new(), b"no"),
            };
            let _ = write!(s, "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = s.write_all(body);
        }
    });
    port
}

#[test]
fn jsonl_items_with_csv_interactions_and_images_from_a_file_and_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let images = common::image_dir();
    std::fs::copy(images.join("chelsea.png"), dir.path().join("cat.png")).unwrap();
    let coffee = std::fs::read(images.join("coffee.png")).unwrap();
    let port = serve(coffee.clone());
    let items = write(
        dir.path(),
        "items.jsonl",
        &format!(
            r#"{{"id": 1, "title": "Feather wand", "text": "A toy for cats.", "attributes": {{"genre": ["pets", "cats"], "price": 4.5}}, "image": "cat.png"}}

{{"id": "2", "title": "Coffee beans", "attributes": {{"genre": "drinks", "price": 12, "brand": "Acme"}}, "image": "http://127.0.0.1:{port}/old.png"}}
{{"id": "3", "title": "Green tea", "attributes": {{"genre": ["drinks"], "price": null, "brand": "Leaf"}}}}
{{"id": "4", "title": "Cat bed", "attributes": {{"genre": ["pets"], "price": 30}}}}
{{"id": "5", "title": "Mug", "attributes": {{"price": 8}}}}
"#
        ),
    );
    // 6 users × 4 events over items 1..=5, and two events of a gone item.
    let mut inter = String::from("user,item,timestamp,rating\n");
    let mut counts = [0.0f32; 5];
    for u in 0..6 {
        for t in 0..4 {
            let item = (u + t) % 5;
            counts[item] += 1.0;
            inter.push_str(&format!("u{u},{},{},{}\n", item + 1, 100 + t, if t % 2 == 0 { "4" } else { "" }));
        }
    }
    inter.push_str("u0,999,200,\nu9,999,,\n");
    let interactions = write(dir.path(), "interactions.csv", &inter);
    let out = dir.path().join("shop.rcat");
    let (summary, stderr) = built(&[
        "--items", items.to_str().unwrap(),
        "--interactions", interactions.to_str().unwrap(),
        "--image-model", &asset("mobilenetv2-embedding.onnx"),
        "--out", out.to_str().unwrap(),
        "--epochs", "2", "--dim", "16", "--hidden", "0",
    ]);
    assert_eq!(summary["items"], 5);
    assert_eq!(summary["interactions"], 24);
    assert_eq!(summary["interactionsRead"], 26);
    assert_eq!(summary["users"], 6, "u9 only named a gone item");
    assert_eq!(summary["unknownItems"], 2);
    assert_eq!(summary["itemsWithImages"], 2);
    assert_eq!(
        summary["attributes"],
        json!([{"name": "brand", "kind": "text"}, {"name": "genre", "kind": "tags"}, {"name": "price", "kind": "number"}])
    );
    assert_eq!((summary["text"].clone(), summary["image"].clone()), (json!(384), json!(1280)));
    assert_eq!(summary["sequenceModel"]["dim"], 16);
    assert_eq!(summary["bytes"].as_u64(), Some(std::fs::metadata(&out).unwrap().len()));
    // Not a terminal: plain progress lines, then the summary lines.
    for needle in ["text embeddings: 0/5", "text embeddings: 5/5", "image embeddings: 2/2", "sequence model: training: 2/2", "summary: 5 items, 3 attributes (brand: text, genre: tags, price: number)", "2 skipped because their item is unknown"] {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }

    let catalog = decode(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(catalog.name(), "items");
    let ids: Vec<&str> = catalog.items().map(|i| i.id()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    assert_eq!(catalog.item(0).unwrap().text(), "Feather wand. A toy for cats. Genres: pets, cats. Price: 4.5");
    assert_eq!(catalog.value(0, "genre").map(|v| v.to_owned()), Some(AttributeValue::Tags(vec!["pets".into(), "cats".into()])));
    assert_eq!(catalog.value(1, "genre").map(|v| v.to_owned()), Some(AttributeValue::Tags(vec!["drinks".into()])));
    assert_eq!(catalog.value(1, "price").map(|v| v.to_owned()), Some(AttributeValue::Number(12.0)));
    assert_eq!(catalog.value(2, "price").map(|v| v.to_owned()), Some(AttributeValue::Missing));
    assert_eq!(catalog.value(1, "brand").map(|v| v.to_owned()), Some(AttributeValue::Text("Acme".into())));
    assert_eq!(catalog.popularity(), counts.as_slice());
    assert!(catalog.sequence_model().is_some());
    let image = catalog.image_embeddings().unwrap();
    assert!(image.row(2).unwrap().iter().all(|&x| x == 0.0), "no image, zero row");
    // The downloaded row is the encoder's embedding of the served bytes.
    let mobilenet = std::fs::read(asset("mobilenetv2-embedding.onnx")).unwrap();
    let encoder = recagent_core::ImageEncoder::from_bytes(&mobilenet, Default::default()).unwrap();
    let expected = encoder.embed_encoded(&coffee).unwrap().embedding;
    assert!(cosine(&expected, &image.row(1).unwrap()) > 0.9999);
    assert_eq!(catalog.item(0).unwrap().image(), Some("cat.png"));
}

#[test]
fn csv_items_with_quoted_fields_and_no_interactions() {
    let dir = tempfile::tempdir().unwrap();
    let items = write(
        dir.path(),
        "items.csv",
        "id,title,text,year,genre,image\n\
         10,\"Heat\",\"Crime, in LA\nwith a heist\",1995,crime,heat.png\n\
         \n\
         11,Up,,2009,\"animation\",\n\
         12,\"Ran \"\"(1985)\"\"\",Lear in Japan,,drama,\n",
    );
    let out = dir.path().join("films.rcat");
    let (summary, _) = built(&["--items", items.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(summary["items"], 3);
    assert_eq!(summary["interactions"], 0);
    assert_eq!(summary["itemsWithImages"], 1);
    assert_eq!(summary["image"], Value::Null, "no --image-model, no image embeddings");
    assert_eq!(summary["sequenceModel"], Value::Null, "no interactions, no training");
    assert_eq!(summary["attributes"], json!([{"name": "genre", "kind": "text"}, {"name": "year", "kind": "number"}]));
    let catalog: Catalog = decode(&std::fs::read(&out).unwrap()).unwrap();
    let first = catalog.item(0).unwrap();
    assert_eq!((first.id(), first.title()), ("10", "Heat"));
    assert_eq!(first.text(), "Heat. Crime, in LA\nwith a heist. Genres: crime. Year: 1995");
    assert_eq!(first.image(), Some("heat.png"), "kept as a reference");
    assert_eq!(catalog.item(2).unwrap().title(), "Ran \"(1985)\"");
    assert_eq!(catalog.value(2, "year").map(|v| v.to_owned()), Some(AttributeValue::Missing), "an empty cell is missing");
    assert_eq!(catalog.value(1, "year").map(|v| v.to_owned()), Some(AttributeValue::Number(2009.0)));
    assert_eq!(catalog.popularity(), [0.0, 0.0, 0.0]);
    let encoder = recagent_core::TextEncoder::from_bytes(&common::asset("minilm-int8.onnx"), &common::asset_text("vocab.txt")).unwrap();
    let expected = encoder.embed(&first.text()).unwrap();
    assert!(cosine(&expected, &catalog.text_embeddings().unwrap().row(0).unwrap()) > 0.99999);
}

#[test]
fn bad_files_are_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str, text: &str| write(dir.path(), name, text).display().to_string();
    let out = dir.path().join("x.rcat").display().to_string();
    let items = p("items.jsonl", "{\"id\": 1, \"title\": \"a\"}\n\n{\"id\": 2, \"title\": \"b\"\n");
    let e = refused(&["--items", &items, "--out", &out], "invalid_input");
    assert!(e.contains("items.jsonl:3: invalid JSON"), "{e}");
    let items = p("dup.csv", "id,title\n1,a\n2,b\n1,c\n");
    let e = refused(&["--items", &items, "--out", &out], "invalid_input");
    assert!(e.contains("dup.csv:4: id \"1\" was already used on line 2"), "{e}");
    let items = p("fields.csv", "id,title,year\n1,a,1990\n\"2\nx\",b\n");
    let e = refused(&["--items", &items, "--out", &out], "invalid_input");
    assert!(e.contains("fields.csv:3: 2 fields, the header has 3"), "{e}");
    let items = p("empty-title.csv", "id,title\n1,a\n\n2,\n");
    let e = refused(&["--items", &items, "--out", &out], "invalid_input");
    assert!(e.contains("empty-title.csv:4: \"title\" is empty"), "{e}");
    let items = p("no-title.csv", "id,name\n1,a\n");
    let e = refused(&["--items", &items, "--out", &out], "invalid_input");
    assert!(e.contains("no-title.csv:1: the header has no \"title\" column"), "{e}");
    let items = p("types.jsonl", "{\"id\": 1, \"title\": \"a\", \"attributes\": {\"size\": {\"w\": 1}}}\n");
    let e = refused(&["--items", &items, "--out", &out], "invalid_input");
    assert!(e.contains("types.jsonl:1: attribute \"size\" is an object"), "{e}");
    let items = p("open.csv", "id,title\n1,\"never closed\n2,b\n");
    let e = refused(&["--items", &items, "--out", &out], "invalid_input");
    assert!(e.contains("open.csv:2: a quoted field is never closed"), "{e}");
    let e = refused(&["--items", &p("items.txt", "{}"), "--out", &out], "invalid_input");
    assert!(e.contains("items.txt") && e.contains(".jsonl") && e.contains(".csv"), "{e}");
    let e = refused(&["--items", &p("none.jsonl", "\n\n"), "--out", &out], "invalid_input");
    assert!(e.contains("none.jsonl: there are no items"), "{e}");
    let good = p("good.jsonl", "{\"id\": 1, \"title\": \"a\"}\n");
    let inter = p("inter.jsonl", "{\"user\": \"u\", \"item\": 1}\n{\"user\": \"u\", \"item\": 1, \"when\": 3}\n");
    let e = refused(&["--items", &good, "--interactions", &inter, "--out", &out], "invalid_input");
    assert!(e.contains("inter.jsonl:2: unknown field `when`"), "{e}");
    let inter = p("inter.csv", "user,item,rating\nu,1,5\nu,1,lots\n");
    let e = refused(&["--items", &good, "--interactions", &inter, "--out", &out], "invalid_input");
    assert!(e.contains("inter.csv:3: \"rating\" \"lots\" is not a number"), "{e}");
    let e = refused(&["--items", &dir.path().join("missing.csv").display().to_string(), "--out", &out], "io_error");
    assert!(e.contains("missing.csv"), "{e}");
    // A file past the 4 GiB budget is refused before it is read (sparse: no disk used).
    let huge = dir.path().join("huge.jsonl");
    std::fs::File::create(&huge).unwrap().set_len(5 << 30).unwrap();
    let e = refused(&["--items", huge.to_str().unwrap(), "--out", &out], "resource_limit");
    assert!(e.contains("huge.jsonl") && e.contains("more than the 4294967296"), "{e}");
    // An image that cannot be fetched names the item and the URL.
    let port = serve(Vec::new());
    let items = p("img.jsonl", &format!("{{\"id\": \"7\", \"title\": \"a\", \"image\": \"http://127.0.0.1:{port}/gone.png\"}}\n"));
    let mobilenet = asset("mobilenetv2-embedding.onnx");
    let e = refused(&["--items", &items, "--image-model", &mobilenet, "--no-train", "--out", &out], "invalid_input");
    assert!(e.contains("item \"7\"") && e.contains("/gone.png") && e.contains("HTTP 404"), "{e}");
}

#[test]
fn sources_are_exactly_one_of_items_and_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let items = write(dir.path(), "i.jsonl", "{\"id\": 1, \"title\": \"a\"}\n").display().to_string();
    let d = dir.path().display().to_string();
    for args in [
        vec!["--items", &items, "--dataset", &d, "--out", "x"],
        vec!["--out", "x"],
        vec!["--interactions", &items, "--dataset", &d, "--out", "x"],
    ] {
        let o = build(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: clap refuses it");
        assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
    }
}

#[test]
fn each_subcommand_help_starts_with_its_own_description() {
    for (command, start) in [
        ("build-catalog", "Build a catalog bundle from the app's own items"),
        ("eval", "Offline evaluation on a RecBole atomic dataset"),
        ("simulate", "Conversational evaluation"),
    ] {
        let o = recagent(&[command, "--help"], "");
        assert!(o.status.success());
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(help.starts_with(start), "{command} --help starts with: {}", help.lines().next().unwrap_or(""));
    }
}

#[test]
fn line_numbers_survive_blank_lines_and_multi_line_rows() {
    let dir = tempfile::tempdir().unwrap();
    let items = write(
        dir.path(),
        "multi.csv",
        "\u{feff}id,title,text\n1,a,\"two\nlines\"\n\n\n2,b,\"three\n\nlines\"\n3,,x\n",
    );
    let file = read_items(&items, &Limits::ITEMS).unwrap();
    assert_eq!(file.lines, vec![2, 6, 9]);
    assert_eq!(file.records[1].text.as_deref(), Some("three\n\nlines"));
    let e = records_input(&items, None).unwrap_err().to_string();
    assert!(e.contains("multi.csv:9: \"title\" is empty"), "{e}");
    // Tight limits: a row of three lines (19 bytes) too long, one record too many.
    let small = Limits { file_bytes: 1 << 20, record_bytes: 18, records: 10 };
    let e = read_items(&items, &small).unwrap_err();
    assert_eq!(e.code(), "resource_limit");
    assert!(e.to_string().contains("multi.csv:6: a record longer than 18 bytes"), "{e}");
    let small = Limits { record_bytes: 100, records: 1, ..small };
    let e = read_items(&write(dir.path(), "two.jsonl", "{\"id\":1,\"title\":\"a\"}\n{\"id\":2,\"title\":\"b\"}\n"), &small)
        .unwrap_err();
    assert!(e.to_string().contains("two.jsonl:2: more than 1 records"), "{e}");
}
