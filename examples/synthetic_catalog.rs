//! Writes a large synthetic catalog bundle for the application benchmark
//! (`scripts/bench.sh app`), derived from a real one, seeded and deterministic:
//!
//! ```sh
//! cargo run --example synthetic_catalog -- --base assets/catalog/ml-100k.rcat \
//!   --items 100000 [--seed 1] [--quantize] --out bench/out/synthetic-100k.rcat
//! ```
//!
//! Item `i` is a variant of base item `i mod n` (n = base size): variant 0 is
//! the base item itself (same id, title, text, attributes, embeddings), variant
//! `v > 0` has the id `<base id>~<v>`, the title `<base title> #<v>` (also in
//! its text, in place of the base title), the base attributes, the base text embedding plus Gaussian noise (σ = 0.025 per
//! dimension, then L2-normalised: cosine ≈ 0.85 to its base), the base
//! sequence-model vectors plus noise of the same relative size, and a
//! popularity of the base's times a factor in [0.2, 1). So the catalog keeps the
//! structure of the real one (MiniLM text space, genres, a learned sequence
//! model, the base's model fingerprint: the same MiniLM is accepted at run
//! time and text queries rank meaningfully) at any size. `--quantize` stores
//! the text matrix as int8 (`recagent build-catalog --quantize`).
//!
//! Prints one JSON line: `{"out","items","bytes","memoryBytes","heapBytes",
//! "loadSeconds","quantized","seconds"}`. `heapBytes` is what a catalog read
//! back from the bundle holds on the heap, counted by this program's
//! allocator (its `memoryBytes` is the catalog's own estimate);
//! `loadSeconds` is how long that read took.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use recagent_core::catalog::{CatalogParts, Embeddings, Item, SequenceModel};
use recagent_core::Catalog;

/// The system allocator, counting the bytes live at any time.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Noise per dimension added to a unit-length text embedding.
const TEXT_SIGMA: f32 = 0.025;

/// SplitMix64: a small, seedable, well-mixed generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn gaussian(&mut self) -> f32 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
    }
}

struct Args {
    base: String,
    items: usize,
    seed: u64,
    quantize: bool,
    out: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut base, mut items, mut seed, mut quantize, mut out) = (None, 100_000usize, 1u64, false, None);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--base" => base = Some(value("--base")?),
            "--items" => items = value("--items")?.parse().map_err(|e| format!("--items: {e}"))?,
            "--seed" => seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--quantize" => quantize = true,
            "--out" => out = Some(value("--out")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    const USAGE: &str = "usage: synthetic_catalog --base BASE.rcat --out OUT.rcat [--items N] [--seed S] [--quantize]";
    Ok(Args {
        base: base.ok_or(USAGE)?,
        items,
        seed,
        quantize,
        out: out.ok_or(USAGE)?,
    })
}

/// `row + sigma · N(0, 1)` per value, rescaled to the norm of `row` (unit rows stay unit).
fn jitter(row: &[f32], sigma: f32, rng: &mut SplitMix64, out: &mut Vec<f32>) {
    let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt();
    let start = out.len();
    out.extend(row.iter().map(|&x| x + sigma * norm * rng.gaussian()));
    let new = &mut out[start..];
    let new_norm = new.iter().map(|x| x * x).sum::<f32>().sqrt();
    if new_norm > 0.0 {
        for x in new.iter_mut() {
            *x *= norm / new_norm;
        }
    }
}

fn run(args: &Args) -> Result<String, String> {
    let started = Instant::now();
    let bytes = std::fs::read(&args.base).map_err(|e| format!("{}: {e}", args.base))?;
    let base = Catalog::from_bundle(&bytes).map_err(|e| format!("{}: {e}", args.base))?;
    let n_base = base.len();
    if n_base == 0 || args.items == 0 {
        return Err("the base catalog and --items must not be empty".into());
    }
    let text = base.text_embeddings().ok_or("the base catalog has no text embeddings")?;
    let dim = text.dim();
    let base_rows: Vec<Vec<f32>> = (0..n_base)
        .map(|i| text.row(i).ok_or_else(|| format!("text row {i} missing")))
        .collect::<Result<_, _>>()?;
    let mut rng = SplitMix64(args.seed);

    let mut items = Vec::with_capacity(args.items);
    let mut values = Vec::with_capacity(args.items * dim);
    let mut popularity = Vec::with_capacity(args.items);
    let mut factors = Vec::with_capacity(args.items);
    for i in 0..args.items {
        let (b, variant) = (i % n_base, i / n_base);
        let item = base.item(b as u32).ok_or("base item missing")?.to_item();
        let factor = if variant == 0 { 1.0 } else { 0.2 + 0.8 * rng.unit() as f32 };
        factors.push(factor);
        popularity.push(base.popularity().get(b).copied().unwrap_or(0.0) * factor);
        if variant == 0 {
            items.push(item.clone());
            values.extend_from_slice(&base_rows[b]);
        } else {
            // A distinct item, as a builder would describe it: its own
            // title, also in its text.
            let title = format!("{} #{variant}", item.title);
            items.push(Item {
                id: format!("{}~{variant}", item.id),
                text: item.text.replacen(&item.title, &title, 1),
                title,
                ..item.clone()
            });
            jitter(&base_rows[b], TEXT_SIGMA, &mut rng, &mut values);
        }
    }

    let sequence = base.sequence_model().map(|s| {
        let d = s.dim;
        // The same relative noise as the text rows: σ per value of a unit row.
        let (mut input, mut output, mut bias) = (
            Vec::with_capacity(args.items * d),
            Vec::with_capacity(args.items * d),
            Vec::with_capacity(args.items),
        );
        for (i, factor) in factors.iter().enumerate() {
            let b = i % n_base;
            let (inp, out) = (s.input.row(b).unwrap_or_default(), s.output.row(b).unwrap_or_default());
            if i < n_base {
                input.extend_from_slice(&inp);
                output.extend_from_slice(&out);
            } else {
                jitter(&inp, TEXT_SIGMA, &mut rng, &mut input);
                jitter(&out, TEXT_SIGMA, &mut rng, &mut output);
            }
            bias.push(s.bias[b] + factor.ln());
        }
        SequenceModel {
            input: Embeddings::F32 { dim: d, values: input },
            output: Embeddings::F32 { dim: d, values: output },
            bias,
            ..s.clone()
        }
    });

    let mut catalog = Catalog::new(CatalogParts {
        name: format!("synthetic-{}-from-{}", args.items, base.name()),
        attributes: base.attributes().to_vec(),
        items,
        text: Some(Embeddings::F32 { dim, values }),
        text_model: base.text_model().cloned(),
        image: None,
        popularity,
        sequence,
    })
    .map_err(|e| e.to_string())?;
    if args.quantize {
        catalog.quantize().map_err(|e| e.to_string())?;
    }
    let bundle = catalog.to_bundle().map_err(|e| e.to_string())?;
    let tmp = format!("{}.tmp", args.out);
    std::fs::write(&tmp, &bundle).map_err(|e| format!("{tmp}: {e}"))?;
    std::fs::rename(&tmp, &args.out).map_err(|e| format!("{}: {e}", args.out))?;
    drop(catalog);
    let (before, load) = (LIVE.load(Ordering::Relaxed), Instant::now());
    let catalog = Catalog::from_bundle(&bundle).map_err(|e| e.to_string())?;
    let load_seconds = load.elapsed().as_secs_f64();
    let heap_bytes = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    Ok(serde_json::json!({
        "out": args.out,
        "items": catalog.len(),
        "bytes": bundle.len(),
        "memoryBytes": catalog.memory_bytes(),
        "heapBytes": heap_bytes,
        "loadSeconds": load_seconds,
        "quantized": args.quantize,
        "seconds": started.elapsed().as_secs_f64(),
    })
    .to_string())
}

fn main() {
    match parse_args().and_then(|a| run(&a)) {
        Ok(line) => println!("{line}"),
        Err(message) => {
            eprintln!("synthetic_catalog: {message}");
            std::process::exit(2);
        }
    }
}
