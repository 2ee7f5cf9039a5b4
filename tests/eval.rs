//! The offline evaluation: RecBole parsing, 5-core split, metrics, EASE,
//! spd_inverse, and the `recagent eval` CLI on ML-100K (native only: the
//! `eval` module does not exist on wasm32, where `wasm-pack test` builds every test).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use recagent_cli::eval::{
    self, atomic, evaluate, evaluate_with_progress, leave_one_out, metrics, spd_inverse, split::k_core, Cell, ColumnType,
    Ease, Event, Scorer,
};
use serde_json::Value;

/// A fresh temporary directory holding `files`.
fn temp_dataset(tag: &str, files: &[(&str, String)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("recagent-eval-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// (user, item, rating, timestamp) rows of the tiny dataset.
///
/// Users u1..u5 rate items A..E; u6 has only 4 interactions (dropped first);
/// item F then falls from 5 to 4 (dropped next), which leaves u7 with 4
/// (dropped last). u1's last two events share a timestamp (file order wins).
fn tiny_rows() -> Vec<(&'static str, &'static str, f32, f64)> {
    let mut rows = Vec::new();
    for (u, user) in ["u1", "u2", "u3", "u4", "u5"].into_iter().enumerate() {
        for (i, item) in ["A", "B", "C", "D", "E"].into_iter().enumerate() {
            // u1: ... D at t=100, E at t=100 (tie, E later in the file).
            let t = if u == 0 && i >= 3 {
                100.0
            } else {
                (10 * i + u) as f64
            };
            rows.push((user, item, (1 + i) as f32, t));
        }
    }
    for user in ["u1", "u2", "u3"] {
        rows.push((user, "F", 2.0, 1.0));
    }
    for item in ["A", "B", "C", "F"] {
        rows.push(("u6", item, 3.0, 5.0));
    }
    for item in ["A", "B", "C", "D", "F"] {
        rows.push(("u7", item, 4.0, 7.0));
    }
    rows
}

/// The tiny `.inter` in the standard column order.
fn inter_standard() -> String {
    let mut s = String::from("user_id:token\titem_id:token\trating:float\ttimestamp:float\n");
    for (u, i, r, t) in tiny_rows() {
        s += &format!("{u}\t{i}\t{r}\t{t}\n");
    }
    s
}

/// The same interactions, columns shuffled, an extra column, CRLF endings.
fn inter_shuffled() -> String {
    let mut s = String::from(
        "timestamp:float\textra:float\titem_id:token\trating:float\tuser_id:token\r\n",
    );
    for (u, i, r, t) in tiny_rows() {
        s += &format!("{t}\t0.5\t{i}\t{r}\t{u}\r\n");
    }
    s
}

const TINY_ITEM: &str = "name:token_seq\titem_id:token\tpopularity_score:float\tgenre:token_seq\n\
Alpha Movie\tA\t1.5\tDrama Comedy\n\
Beta\tB\t2\tAction\n\
\tC\t\t\n\
Gamma\tG\t3\tHorror\n";

#[test]
fn parses_atomic_files_in_any_column_order() {
    let a = temp_dataset(
        "std",
        &[
            ("tiny.inter", inter_standard()),
            ("tiny.item", TINY_ITEM.into()),
        ],
    );
    let b = temp_dataset(
        "shuf",
        &[
            ("tiny.inter", inter_shuffled()),
            ("tiny.item", TINY_ITEM.into()),
        ],
    );
    let da = atomic::load_dir(&a).unwrap();
    let db = atomic::load_dir(&b).unwrap();
    assert_eq!(da.name, "tiny");
    assert_eq!(da.interactions, db.interactions);
    assert_eq!(da.users, db.users);
    assert_eq!(da.users, ["u1", "u2", "u3", "u4", "u5", "u6", "u7"]);
    // .item items first (G is never interacted with and is kept), then the rest.
    assert_eq!(da.items, ["A", "B", "C", "G", "D", "E", "F"]);
    assert_eq!(da.interactions.len(), tiny_rows().len());
    let x = da.interactions[1];
    assert_eq!(
        (
            da.users[x.user as usize].as_str(),
            da.items[x.item as usize].as_str()
        ),
        ("u1", "B")
    );
    assert_eq!((x.rating, x.timestamp), (2.0, 10.0));

    let t = &da.item_table;
    assert_eq!(t.len(), 7);
    assert_eq!(
        t.schema(),
        [
            ("name", ColumnType::TokenSeq),
            ("popularity_score", ColumnType::Float),
            ("genre", ColumnType::TokenSeq)
        ]
    );
    assert_eq!(
        t.column("popularity_score").unwrap().values[1],
        Cell::Float(2.0)
    );
    assert_eq!(
        *t.value(0, 2),
        Cell::TokenSeq(vec!["Drama".into(), "Comedy".into()])
    );
    assert_eq!(*t.value(2, 0), Cell::Missing);
    assert_eq!(
        t.item_text(0),
        "Alpha Movie. Popularity score: 1.5. Genres: Drama, Comedy"
    );
    assert_eq!(t.item_text(1), "Beta. Popularity score: 2. Genres: Action");
    assert_eq!(t.item_text(2), "C"); // empty row: the id
    assert_eq!(t.item_text(4), "D"); // absent from .item: the id
    assert_eq!(t.id(3), "G");

    // No .item: still fine, texts are the ids.
    let c = temp_dataset("noitem", &[("x.inter", inter_standard())]);
    let dc = atomic::load_dir(&c).unwrap();
    assert_eq!(dc.items, ["A", "B", "C", "D", "E", "F"]);
    assert_eq!(dc.item_table.item_text(0), "A");
    // No rating column: 1.0.
    let d = temp_dataset(
        "norating",
        &[(
            "x.inter",
            "item_id:token\tuser_id:token\ttimestamp:float\nA\tu\t3\n".into(),
        )],
    );
    assert_eq!(atomic::load_dir(&d).unwrap().interactions[0].rating, 1.0);
    for dir in [a, b, c, d] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn five_core_iterates_and_split_is_leave_one_out_by_time() {
    let dir = temp_dataset(
        "split",
        &[
            ("tiny.inter", inter_standard()),
            ("tiny.item", TINY_ITEM.into()),
        ],
    );
    let ds = atomic::load_dir(&dir).unwrap();
    let keep = k_core(&ds, 5);
    assert_eq!(keep.iter().filter(|&&k| k).count(), 25);
    let split = leave_one_out(&ds, 5).unwrap();
    assert_eq!(split.users, ["u1", "u2", "u3", "u4", "u5"]);
    assert_eq!(split.items, ["A", "B", "C", "D", "E"]); // order of the dataset (A, B, C, then D, E)
    assert_eq!(split.item_orig, [0, 1, 2, 4, 5]);
    let names = |evs: &[Event]| {
        evs.iter()
            .map(|e| split.items[e.item as usize].clone())
            .collect::<Vec<_>>()
    };
    // u1: A(0) B(10) C(20) D(100) E(100): the tie keeps file order, E is the test item.
    assert_eq!(names(&split.train[0]), ["A", "B", "C"]);
    assert_eq!(names(&[split.valid[0], split.test[0]]), ["D", "E"]);
    // u2: A(1) B(11) C(21) D(31) E(41).
    assert_eq!(names(&split.train[1]), ["A", "B", "C"]);
    assert_eq!(split.test[1].timestamp, 41.0);
    assert_eq!(split.test[1].rating, 5.0);
    assert_eq!(split.histories(false)[0].len(), 4);
    assert_eq!(split.histories(true)[0].len(), 3);
    // Threshold 6: nothing survives.
    assert_eq!(leave_one_out(&ds, 6).unwrap_err().code(), "invalid_input");
    assert_eq!(leave_one_out(&ds, 2).unwrap_err().code(), "invalid_input");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn metrics_rank_by_strictly_higher_scores_and_survive_nan() {
    let scores = [0.5, 0.9, 0.5, f32::NAN, 0.7];
    let excluded = [false, false, false, false, true];
    // Target 0: only item 1 is strictly higher (2 ties, 3 is NaN, 4 excluded).
    assert_eq!(metrics::rank(&scores, 0, &excluded), 1);
    assert_eq!(metrics::hit(1, 1), 0.0);
    assert_eq!(metrics::hit(1, 2), 1.0);
    assert!((metrics::ndcg(1, 2) - 1.0 / 3f64.log2()).abs() < 1e-12);
    assert_eq!(metrics::ndcg(0, 10), 1.0);
    // A NaN target is the lowest: the three other candidates beat it.
    assert_eq!(metrics::rank(&scores, 3, &excluded), 3);
    assert_eq!(metrics::top_k(&scores, 3, &excluded), [1, 0, 2]);
    assert_eq!(metrics::top_k(&scores, 10, &excluded), [1, 0, 2, 3]);
    assert_eq!(metrics::top_k(&scores, 0, &excluded), Vec::<u32>::new());
}

/// Scores item i as `-i` (so lower index is better), NaN for item 4.
struct ByIndex;
impl Scorer for ByIndex {
    fn score(&self, _h: &[Event], out: &mut [f32]) {
        for (i, o) in out.iter_mut().enumerate() {
            *o = -(i as f32);
        }
        out[4] = f32::NAN;
    }
}

#[test]
fn evaluate_averages_over_users() {
    let dir = temp_dataset("evaluate", &[("tiny.inter", inter_standard())]);
    let ds = atomic::load_dir(&dir).unwrap();
    let split = leave_one_out(&ds, 5).unwrap();
    // Every user has the 5 items: at test time the only candidate is the
    // test item itself, so the rank is 0 for everyone.
    let r = evaluate(&split, 1, &ByIndex, false);
    assert_eq!((r.hr, r.ndcg), (1.0, 1.0));
    // Validation target: the candidates are the valid and the test items.
    // u1: valid D(3) vs test E(4, NaN) → rank 0. u2..u5: valid D(3), test E → rank 0.
    let r = evaluate(&split, 1, &ByIndex, true);
    assert_eq!(r.hr, 1.0);
    assert!((r.coverage - 1.0 / 5.0).abs() < 1e-12); // only D is ever in a top-1
    // With progress: the same figures, and the last report is every user.
    let mut reports = Vec::new();
    let p = evaluate_with_progress(&split, 1, &ByIndex, true, &mut |done, total| reports.push((done, total)));
    assert_eq!((p.hr, p.ndcg, p.coverage), (r.hr, r.ndcg, r.coverage));
    let users = split.n_users();
    assert_eq!(reports.last(), Some(&(users, users)));
    assert!(reports.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 == users), "{reports:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Naive Gauss–Jordan inverse with partial pivoting (reference).
fn naive_inverse(a: &[f64], n: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for c in 0..n {
        let p = (c..n)
            .max_by(|&x, &y| m[x * n + c].abs().total_cmp(&m[y * n + c].abs()))
            .unwrap();
        for j in 0..n {
            m.swap(c * n + j, p * n + j);
            inv.swap(c * n + j, p * n + j);
        }
        let d = m[c * n + c];
        for j in 0..n {
            m[c * n + j] /= d;
            inv[c * n + j] /= d;
        }
        for r in 0..n {
            if r != c {
                let f = m[r * n + c];
                for j in 0..n {
                    m[r * n + j] -= f * m[c * n + j];
                    inv[r * n + j] -= f * inv[c * n + j];
                }
            }
        }
    }
    inv
}

#[test]
fn spd_inverse_matches_known_inverses() {
    let mut a = vec![4.0, 2.0, 2.0, 3.0];
    spd_inverse(&mut a, 2).unwrap();
    let expected = [3.0 / 8.0, -2.0 / 8.0, -2.0 / 8.0, 4.0 / 8.0];
    for (x, e) in a.iter().zip(expected) {
        assert!((x - e).abs() < 1e-12, "{a:?}");
    }
    // Larger than one block: A = MᵀM + n I from a deterministic pseudo-random M.
    let n = 301;
    let mut seed = 12345u64;
    let mut rnd = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let m: Vec<f64> = (0..n * n).map(|_| rnd()).collect();
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            a[i * n + j] = (0..n).map(|k| m[k * n + i] * m[k * n + j]).sum::<f64>();
        }
        a[i * n + i] += 1.0;
    }
    let reference = naive_inverse(&a, n);
    let mut inv = a.clone();
    spd_inverse(&mut inv, n).unwrap();
    let err = inv
        .iter()
        .zip(&reference)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    let scale = reference.iter().map(|x| x.abs()).fold(0.0, f64::max);
    assert!(err < 1e-9 * scale, "max error {err} (scale {scale})");
    // Not positive definite, wrong length, non-finite.
    let mut bad = vec![1.0, 2.0, 2.0, 1.0];
    assert_eq!(
        spd_inverse(&mut bad, 2).unwrap_err().code(),
        "invalid_input"
    );
    assert_eq!(
        spd_inverse(&mut [1.0; 3], 2).unwrap_err().code(),
        "invalid_input"
    );
    assert_eq!(
        spd_inverse(&mut [f64::NAN], 1).unwrap_err().code(),
        "invalid_input"
    );
}

#[test]
fn ease_matches_a_direct_computation() {
    let histories = vec![
        vec![0, 1, 2],
        vec![1, 2],
        vec![0, 3, 3],
        vec![2, 3, 1, 0],
        vec![4],
    ];
    let n = 5;
    let lambda = 2.0;
    let mut g = vec![0.0; n * n];
    for h in &histories {
        let mut x = vec![0.0; n];
        for &i in h {
            x[i as usize] = 1.0; // binary: the repeated 3 counts once
        }
        for i in 0..n {
            for j in 0..n {
                g[i * n + j] += x[i] * x[j];
            }
        }
    }
    for i in 0..n {
        g[i * n + i] += lambda;
    }
    let p = naive_inverse(&g, n);
    let ease = Ease::fit(n, &histories, lambda);
    for i in 0..n {
        for j in 0..n {
            let b = if i == j {
                0.0
            } else {
                -p[i * n + j] / p[j * n + j]
            };
            assert!(
                (ease.weights[i * n + j] as f64 - b).abs() < 1e-6,
                "B[{i}][{j}]"
            );
        }
    }
    // Scores: the sum of the rows of the history items (each item once).
    let history = [0u32, 2, 0].map(|item| Event {
        item,
        rating: 1.0,
        timestamp: 0.0,
    });
    let mut out = vec![0f32; n];
    ease.score(&history, &mut out);
    for (j, o) in out.iter().enumerate() {
        let e = ease.weights[j] + ease.weights[2 * n + j];
        assert!((o - e).abs() < 1e-6);
    }
    assert_eq!(
        Ease::try_fit(n, &histories, 0.0).unwrap_err().code(),
        "invalid_input"
    );
}

#[test]
fn movielens_item_texts_and_fast_parsing() {
    let data = common::assets().join("data");
    let t = Instant::now();
    let ml1m = atomic::load_dir(&data.join("ml-1m")).unwrap();
    let seconds = t.elapsed().as_secs_f64();
    assert_eq!(ml1m.interactions.len(), 1_000_209);
    assert!(seconds < 2.0, "ML-1M parsed in {seconds:.2} s");
    let toy = ml1m
        .items
        .iter()
        .position(|i| i == "Toy Story (1995)")
        .unwrap() as u32;
    assert_eq!(
        ml1m.item_table.item_text(toy),
        "Toy Story. Genres: Animation Children's Comedy. Year: 1995"
    );
    let ml100k = atomic::load_dir(&data.join("ml-100k")).unwrap();
    assert_eq!(ml100k.items.len(), 1682);
    assert_eq!(
        ml100k.item_table.item_text(0),
        "Toy Story. Genres: Animation, Children's, Comedy. Year: 1995"
    );
}

fn recagent(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_recagent"))
        .args(args)
        .output()
        .expect("run recagent")
}

fn assert_cli_error(args: &[&str], code: &str, needle: &str) {
    let out = recagent(args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with(&format!("recagent: error[{code}]: ")),
        "{stderr}"
    );
    assert!(last.contains(needle), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn cli_eval_on_movielens_100k() {
    let dir = common::assets().join("data/ml-100k");
    let t = Instant::now();
    let out = recagent(&[
        "eval",
        "--dataset",
        &dir.display().to_string(),
        "--models",
        "popularity,ease",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("popularity: HR@10"), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    assert!(
        stdout.starts_with(
            r#"{"dataset":"ml-100k","users":943,"items":1349,"results":{"popularity":{"HR@10":"#
        ),
        "{stdout}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["dataset"], "ml-100k");
    assert_eq!(report["users"], 943);
    assert_eq!(report["items"], 1349);
    let hr = report["results"]["popularity"]["HR@10"].as_f64().unwrap();
    assert!((hr - 0.087).abs() < 0.01, "popularity HR@10 {hr}");
    let ease = report["results"]["ease"]["HR@10"].as_f64().unwrap();
    assert!((ease - 0.145).abs() < 0.01, "EASE HR@10 {ease}");
    let results = report["results"].as_object().unwrap();
    assert_eq!(results.len(), 2);
    for r in results.values() {
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "{r}");
        assert!(r["NDCG@10"].as_f64().unwrap() <= r["HR@10"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&r["coverage"].as_f64().unwrap()));
    }
    eprintln!(
        "ML-100K popularity+EASE via the CLI: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // --k is honoured in the metric names.
    let out = recagent(&[
        "eval",
        "--dataset",
        &dir.display().to_string(),
        "--models",
        "popularity",
        "--k",
        "5",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["results"]["popularity"]["HR@5"].is_number());
}

#[test]
fn cli_eval_errors() {
    let empty = temp_dataset("empty", &[("notes.txt", "nothing".into())]);
    let e = empty.display().to_string();
    assert_cli_error(
        &["eval", "--dataset", &e, "--models", "popularity"],
        "invalid_input",
        "no .inter file",
    );
    let bad_header = temp_dataset(
        "badheader",
        &[("x.inter", "user_id\titem_id:token\n1\t2\n".into())],
    );
    let b = bad_header.display().to_string();
    assert_cli_error(
        &["eval", "--dataset", &b, "--models", "popularity"],
        "invalid_input",
        "x.inter:1:",
    );
    let no_user = temp_dataset(
        "nouser",
        &[("x.inter", "uid:token\titem_id:token\n1\t2\n".into())],
    );
    let u = no_user.display().to_string();
    assert_cli_error(
        &["eval", "--dataset", &u, "--models", "popularity"],
        "invalid_input",
        "no user_id column",
    );
    let bad_time = temp_dataset(
        "badtime",
        &[(
            "x.inter",
            "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t5\n1\t3\tyesterday\n".into(),
        )],
    );
    let t = bad_time.display().to_string();
    assert_cli_error(
        &["eval", "--dataset", &t, "--models", "popularity"],
        "invalid_input",
        "x.inter:3: timestamp",
    );
    assert_cli_error(
        &[
            "eval",
            "--dataset",
            "/nonexistent/recagent",
            "--models",
            "popularity",
        ],
        "io_error",
        "/nonexistent/recagent",
    );
    let ml = common::assets().join("data/ml-100k").display().to_string();
    assert_cli_error(
        &["eval", "--dataset", &ml, "--models", "popularity,magic"],
        "invalid_input",
        "unknown model",
    );
    assert_cli_error(
        &["eval", "--dataset", &ml, "--models", "content"],
        "invalid_input",
        "content model needs",
    );
    for dir in [empty, bad_header, no_user, bad_time] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn item_knn_is_cosine_between_item_columns() {
    let histories = vec![vec![0, 1], vec![0, 1, 2], vec![2, 0], vec![3]];
    let knn = eval::ItemKnn::fit(4, &histories, 0).unwrap();
    // |U0| = 3, |U1| = 2, |U2| = 2, U0∩U1 = 2, U0∩U2 = 2, U1∩U2 = 1.
    let s = |i: usize, j: usize| knn.similarities[i * 4 + j] as f64;
    assert!((s(0, 1) - 2.0 / 6f64.sqrt()).abs() < 1e-6);
    assert!((s(1, 2) - 0.5).abs() < 1e-6);
    assert_eq!((s(0, 0), s(0, 3)), (0.0, 0.0));
    // One neighbour: row 0 keeps only its best (item 1, ties go to the lower index).
    let one = eval::ItemKnn::fit(4, &histories, 1).unwrap();
    assert_eq!(
        one.similarities[..4].iter().filter(|&&x| x != 0.0).count(),
        1
    );
    assert!(one.similarities[1] > 0.0);
}

#[test]
fn run_reports_the_baselines_and_extra_models() {
    let model = common::asset("minilm-int8.onnx");
    let vocab = common::asset_text("vocab.txt");
    let encoder = recagent_core::TextEncoder::from_bytes(&model, &vocab).unwrap();
    let dir = temp_dataset(
        "run",
        &[
            ("tiny.inter", inter_standard()),
            ("tiny.item", TINY_ITEM.into()),
        ],
    );
    let mut stages = Vec::new();
    let report = eval::run(&dir, &encoder, 3, |m| stages.push(m.to_string())).unwrap();
    let line = report.to_string();
    assert!(
        line.starts_with(r#"{"dataset":"tiny","users":5,"items":5,"results":{"popularity":{"HR@3":1.0,"NDCG@3":1.0,"coverage":"#),
        "{line}"
    );
    assert_eq!(report.get("ease").unwrap().hr, 1.0);
    let report = report.to_json();
    assert_eq!(report["dataset"], "tiny");
    assert_eq!(
        (report["users"].as_u64(), report["items"].as_u64()),
        (Some(5), Some(5))
    );
    let results = report["results"].as_object().unwrap();
    let names: Vec<&str> = results.keys().map(String::as_str).collect();
    assert_eq!(names, ["content", "ease", "popularity"]);
    // At test time the test item is each user's only candidate.
    for r in results.values() {
        assert_eq!(r["HR@3"], 1.0);
        assert_eq!(r["NDCG@3"], 1.0);
    }
    assert!(
        stages.iter().any(|s| s.starts_with("content: HR@3")),
        "{stages:?}"
    );

    // One more model, plugged in by name.
    let mut models = eval::baselines(&encoder);
    models.truncate(1);
    models.push(eval::Model::new("recagent", |_, split, _| {
        assert_eq!(split.n_items(), 5);
        Ok(Box::new(ByIndex))
    }));
    let report = eval::run_models(&dir, 10, &models, |_| {})
        .unwrap()
        .to_json();
    assert!(report["results"]["recagent"]["coverage"].is_number());
    assert_eq!(
        eval::run_models(&dir, 0, &models, |_| {})
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// The EASE linear algebra at ML-1M scale (3,416 items): timings and the
/// residual of G·G⁻¹ = I on a few rows. `cargo test --test eval -- --ignored`.
#[test]
#[ignore = "timing at ML-1M scale (a few seconds)"]
fn spd_inverse_at_movielens_1m_scale() {
    let ds = atomic::load_dir(&common::assets().join("data/ml-1m")).unwrap();
    let split = leave_one_out(&ds, 5).unwrap();
    let n = split.n_items();
    let t = Instant::now();
    let mut g = eval::baselines::gram(n, &split.histories(false)).unwrap();
    let gram_s = t.elapsed().as_secs_f64();
    for i in 0..n {
        g[i * n + i] += 200.0;
    }
    let original = g.clone();
    let t = Instant::now();
    spd_inverse(&mut g, n).unwrap();
    let inverse_s = t.elapsed().as_secs_f64();
    let mut worst = 0f64;
    for i in (0..n).step_by(97) {
        for j in 0..n {
            let x: f64 = (0..n).map(|k| original[i * n + k] * g[k * n + j]).sum();
            worst = worst.max((x - if i == j { 1.0 } else { 0.0 }).abs());
        }
    }
    eprintln!("n = {n}: Gram {gram_s:.2} s, inverse {inverse_s:.2} s, max |G·P − I| {worst:.2e}");
    assert!(worst < 1e-8, "{worst}");
}
