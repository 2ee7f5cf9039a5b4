//! Browser tests of the f32 GEMM kernels recagent registers with tract on
//! wasm (`recagent_core::vectors::wasm_gemm`): every fused operation tract
//! can hand a kernel, against a scalar reference, for each tile; and the
//! text and image encoders built with each tile against the reference
//! embeddings; the int8 kernel's SIMD tiles against its portable sums.
#![cfg(target_arch = "wasm32")]

use recagent::{ImageEmbedder, TextEmbedder, TextModelOptionsJs};
use recagent_core::vectors::int8_gemm::{Int8Weights, TILE_COLS, TILE_ROWS};
use wasm_bindgen::JsCast;
use recagent_core::vectors::cosine;
use recagent_core::vectors::wasm_gemm::{kernel, use_tile, GemmTile};
use tract_linalg::mmm::{FusedKerSpec, OutputStoreKer, RoundingPolicy};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "support/web_fixtures.rs"]
mod web_fixtures;
use web_fixtures::{chelsea_row, text_rows, TextRow, CHELSEA_PNG, MINILM, MOBILENET, VOCAB};

const NR: usize = 8;

/// Deterministic values in about [-2, 2], none exactly zero.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12_345);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 4001) as f32 / 1000.0 - 2.0005
        })
        .collect()
}

/// The reference: `c[r][col]` after the same operations, in scalar f32.
struct Reference {
    mr: usize,
    c: Vec<f32>,
}

impl Reference {
    fn each(&mut self, f: impl Fn(usize, usize, f32) -> f32) {
        for r in 0..self.mr {
            for col in 0..NR {
                let v = &mut self.c[r * NR + col];
                *v = f(r, col, *v);
            }
        }
    }
}

/// Runs one kernel over one list and returns the tile it stored, written
/// with `col_stride` floats between columns (1: row-major, else strided).
fn run(kernel: recagent_core::vectors::wasm_gemm::GemmKernel, mr: usize, ops: &[FusedKerSpec<f32>], out: &mut [f32], col_stride: usize) {
    let store = OutputStoreKer {
        ptr: out.as_mut_ptr() as *mut u8,
        row_byte_stride: (NR * col_stride * 4) as isize,
        col_byte_stride: (col_stride * 4) as isize,
        item_size: 4,
    };
    assert!(out.len() >= mr * NR * col_stride);
    let mut list = ops.to_vec();
    list.push(FusedKerSpec::Store(store));
    list.push(FusedKerSpec::Done);
    // SAFETY: every pointer in `ops` covers a full mr × 8 tile (built below),
    // and `out` holds mr rows of 8 columns at `col_stride`.
    let status = unsafe { kernel(&list) };
    assert_eq!(status, 0);
}

fn close(kernel_out: &[f32], reference: &[f32], what: &str) {
    for (i, (a, b)) in kernel_out.iter().zip(reference).enumerate() {
        assert!((a - b).abs() <= 1e-4 * (1.0 + b.abs()), "{what}: element {i}: kernel {a}, reference {b}");
    }
}

#[wasm_bindgen_test]
fn every_fused_operation_matches_a_scalar_reference() {
    for tile in [GemmTile::Rows4, GemmTile::Rows6] {
        let (mr, kernel) = kernel(tile).expect("a recagent tile");
        for k in [0usize, 1, 3, 17, 64] {
            let a = values(k * mr, 1 + k as u32); // packed [k][mr]
            let b = values(k * NR, 7 + k as u32); // packed [k][8]
            let mut reference = Reference { mr, c: vec![0.0; mr * NR] };
            reference.each(|r, col, _| (0..k).map(|i| a[i * mr + r] * b[i * NR + col]).sum());
            let matmul = FusedKerSpec::AddMatMul { k, pa: a.as_ptr() as *const u8, pb: b.as_ptr() as *const u8, packing: 0 };
            let mut out = vec![f32::NAN; mr * NR];
            run(kernel, mr, &[FusedKerSpec::Clear, matmul], &mut out, 1);
            close(&out, &reference.c, &format!("{tile:?} k={k} matmul"));

            // Then every other operation, each alone after a loaded tile (so
            // no later operation can hide an error), stored at two column strides.
            let rows = values(mr, 30);
            let cols = values(NR, 31);
            let loaded = values(mr * NR, 32);
            let unicast = values(mr * NR, 33);
            let (prow, pcol) = (values(mr, 34), values(NR, 35));
            type RefFn<'a> = Box<dyn Fn(usize, usize, f32) -> f32 + 'a>;
            let mut cases: Vec<(&str, FusedKerSpec<f32>, RefFn)> = vec![
                ("ScalarAdd", FusedKerSpec::ScalarAdd(0.5), Box::new(|_, _, c| 0.5 + c)),
                ("ScalarMul", FusedKerSpec::ScalarMul(1.5), Box::new(|_, _, c| 1.5 * c)),
                ("ScalarSub", FusedKerSpec::ScalarSub(0.25), Box::new(|_, _, c| 0.25 - c)),
                ("ScalarSubF", FusedKerSpec::ScalarSubF(0.125), Box::new(|_, _, c| c - 0.125)),
                ("ScalarMin", FusedKerSpec::ScalarMin(0.3), Box::new(|_, _, c| c.min(0.3))),
                ("ScalarMax", FusedKerSpec::ScalarMax(-0.3), Box::new(|_, _, c| c.max(-0.3))),
                ("LeakyRelu", FusedKerSpec::LeakyRelu(0.1), Box::new(|_, _, c| if c > 0.0 { c } else { 0.1 * c })),
                ("PerRowAdd", FusedKerSpec::PerRowAdd(rows.as_ptr()), Box::new(|r, _, c| rows[r] + c)),
                ("PerRowMul", FusedKerSpec::PerRowMul(rows.as_ptr()), Box::new(|r, _, c| rows[r] * c)),
                ("PerRowSub", FusedKerSpec::PerRowSub(rows.as_ptr()), Box::new(|r, _, c| rows[r] - c)),
                ("PerRowSubF", FusedKerSpec::PerRowSubF(rows.as_ptr()), Box::new(|r, _, c| c - rows[r])),
                ("PerRowMin", FusedKerSpec::PerRowMin(rows.as_ptr()), Box::new(|r, _, c| c.min(rows[r]))),
                ("PerRowMax", FusedKerSpec::PerRowMax(rows.as_ptr()), Box::new(|r, _, c| c.max(rows[r]))),
                ("PerColAdd", FusedKerSpec::PerColAdd(cols.as_ptr()), Box::new(|_, j, c| cols[j] + c)),
                ("PerColMul", FusedKerSpec::PerColMul(cols.as_ptr()), Box::new(|_, j, c| cols[j] * c)),
                ("PerColSub", FusedKerSpec::PerColSub(cols.as_ptr()), Box::new(|_, j, c| cols[j] - c)),
                ("PerColSubF", FusedKerSpec::PerColSubF(cols.as_ptr()), Box::new(|_, j, c| c - cols[j])),
                ("PerColMin", FusedKerSpec::PerColMin(cols.as_ptr()), Box::new(|_, j, c| c.min(cols[j]))),
                ("PerColMax", FusedKerSpec::PerColMax(cols.as_ptr()), Box::new(|_, j, c| c.max(cols[j]))),
                ("ShiftLeft", FusedKerSpec::ShiftLeft(2), Box::new(|_, _, c| c * 4.0)),
                ("RoundingShiftRight", FusedKerSpec::RoundingShiftRight(1, RoundingPolicy::Even), Box::new(|_, _, c| c * 0.5)),
                (
                    "AddUnicast",
                    // a column-major tile: element (row, col) at col * mr + row
                    FusedKerSpec::AddUnicast(OutputStoreKer {
                        ptr: unicast.as_ptr() as *mut u8,
                        row_byte_stride: 4,
                        col_byte_stride: (mr * 4) as isize,
                        item_size: 4,
                    }),
                    Box::new(|r, j, c| c + unicast[j * mr + r]),
                ),
                (
                    "AddRowColProducts",
                    FusedKerSpec::AddRowColProducts(prow.as_ptr(), pcol.as_ptr()),
                    Box::new(|r, j, c| c + prow[r] * pcol[j]),
                ),
            ];
            // the loaded tile plus the matmul, as the driver chains them
            cases.push((
                "LoadTile+AddMatMul",
                matmul,
                Box::new(|r, j, c| c + (0..k).map(|i| a[i * mr + r] * b[i * NR + j]).sum::<f32>()),
            ));
            for (name, op, reference) in &cases {
                let mut r = Reference { mr, c: loaded.clone() };
                r.each(reference);
                for stride in [1usize, 3] {
                    let mut out = vec![f32::NAN; mr * NR * stride];
                    run(kernel, mr, &[FusedKerSpec::LoadTile(std::ptr::null(), loaded.as_ptr()), op.clone()], &mut out, stride);
                    let stored: Vec<f32> = out.iter().step_by(stride).copied().collect();
                    close(&stored, &r.c, &format!("{tile:?} k={k} {name}, column stride {stride}"));
                }
            }
        }
    }
}

#[wasm_bindgen_test]
async fn the_encoders_match_the_reference_with_every_tile() {
    let rows: Vec<TextRow> = text_rows().into_iter().step_by(4).collect();
    let texts: Vec<String> = rows.iter().map(|r| r.text.clone()).collect();
    let image = chelsea_row();
    for tile in [GemmTile::Tract8x8, GemmTile::Rows4, GemmTile::Rows6] {
        use_tile(tile);
        // the default runs the constant-weight products in integers; the f32
        // plan runs every product through the tile
        for int8 in [true, false] {
            let options = js_sys::Object::new();
            js_sys::Reflect::set(&options, &"int8MatMul".into(), &int8.into()).unwrap();
            let options = Some(options.unchecked_into::<TextModelOptionsJs>());
            let text = TextEmbedder::create(MINILM.to_vec(), VOCAB.to_string(), options).await.unwrap();
            assert_eq!(text.int8_products(), if int8 { 36 } else { 0 });
            for (row, e) in rows.iter().zip(text.embed_batch(texts.clone(), None).unwrap()) {
                let c = cosine(&e.to_vec(), &row.embedding);
                assert!(c >= 0.999, "{tile:?} int8 {int8} {:?}: cosine {c}", row.text);
                let c = cosine(&text.embed(&row.text).unwrap(), &row.embedding);
                assert!(c >= 0.999, "{tile:?} int8 {int8} {:?} alone: cosine {c}", row.text);
            }
        }
        let embedder = ImageEmbedder::create(MOBILENET.to_vec(), None).await.unwrap();
        // tract lays MobileNetV2 out channels-last in WebAssembly (unlike
        // natively): its 1×1 convolutions must run in integers all the same
        assert!(embedder.int8_products() >= 34, "{tile:?}: {} image products in integers", embedder.int8_products());
        let embedded = wasm_bindgen_futures::JsFuture::from(embedder.embed_encoded(CHELSEA_PNG)).await.unwrap();
        let c = cosine(&js_sys::Float32Array::from(embedded).to_vec(), &image.embedding);
        assert!(c >= 0.999, "{tile:?} image: cosine {c}");
    }
    use_tile(GemmTile::Rows6);
}

/// The SIMD quantisation of row-major weights (8 rows × 4 columns at a
/// time) gives the portable loops' weights bit for bit, whatever `k` and `n`
/// leave at the edges, with columns of zeros and ties at .5; a weight that is
/// NaN or infinite anywhere (a SIMD lane or an edge) is refused by both.
#[wasm_bindgen_test]
fn the_simd_quantisation_gives_the_portable_weights() {
    for (seed, &(k, n)) in [(8usize, 4usize), (384, 1536), (16, 7), (13, 4), (3, 1), (9, 3), (17, 5), (1, 9)].iter().enumerate() {
        let mut w = values(k * n, seed as u32 + 7);
        // a column of zeros, and exact halves (ties) in another
        for i in 0..k {
            w[i * n] = 0.0;
        }
        if n > 1 {
            // the column's maximum is 127, so its scale is 1 and x.5 are ties
            w[1] = 127.0;
            for i in 1..k {
                w[i * n + 1] = (i % 9) as f32 - 4.5;
            }
        }
        let simd = Int8Weights::quantize(&w, k, n).unwrap();
        let portable = Int8Weights::quantize_portable(&w, k, n).unwrap();
        assert!(simd == portable, "{k} × {n}: the SIMD weights differ");
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in [0, k * n / 2, k * n - 1] {
                let mut w = w.clone();
                w[at] = bad;
                let err = |r: recagent_core::Result<Int8Weights>| r.unwrap_err().code();
                assert_eq!(err(Int8Weights::quantize(&w, k, n)), "invalid_input", "{k} × {n}: {bad} at {at}");
                assert_eq!(err(Int8Weights::quantize_portable(&w, k, n)), "invalid_input");
            }
        }
    }
}

/// The int8 kernel's SIMD tiles (`i32x4.dot_i16x8_s`) give the portable
/// kernel's integer sums exactly, for full tiles and every edge, and a
/// product through them stays within its quantisation error of f64.
#[wasm_bindgen_test]
fn the_int8_kernel_gives_the_portable_sums() {
    for (seed, &(k, n)) in [(8usize, 2usize), (384, 6), (1536, 4), (3, 1), (17, 5), (9, 3)].iter().enumerate() {
        let w = values(k * n, seed as u32 + 1);
        let weights = Int8Weights::quantize(&w, k, n).unwrap();
        let kp = weights.k_padded();
        let limit = weights.row_limit();
        // quantised rows at the limit's extremes and in between
        let xq: Vec<i16> = values(TILE_ROWS * kp, seed as u32 + 50)
            .iter()
            .enumerate()
            .map(|(i, v)| if i % kp >= k { 0 } else if i % 7 == 0 { (limit * v.signum() as i32) as i16 } else { (v * limit as f32 / 2.1) as i16 })
            .collect();
        for rows in 1..=TILE_ROWS {
            let mut c0 = 0;
            while c0 < n {
                let cols = (n - c0).min(TILE_COLS);
                let x = &xq[..rows * kp];
                assert_eq!(
                    weights.kernel_sums(x, rows, c0, cols),
                    weights.portable_sums(x, rows, c0, cols),
                    "k {k}, n {n}, rows {rows}, columns {c0}..{}",
                    c0 + cols
                );
                c0 += cols;
            }
        }
        let m = 7;
        let x = values(m * k, seed as u32 + 90);
        let mut y = vec![0f32; m * n];
        weights.matmul(&x, m, None, &mut y).unwrap();
        for r in 0..m {
            for c in 0..n {
                let exact: f64 = (0..k).map(|i| f64::from(x[r * k + i]) * f64::from(weights.dequantized(i, c))).sum();
                let scale: f64 = (0..k).map(|i| f64::from(weights.dequantized(i, c).abs())).sum::<f64>() * 2.0 / f64::from(limit);
                assert!((f64::from(y[r * n + c]) - exact).abs() <= scale + 1e-4, "k {k} row {r} col {c}");
            }
        }
    }
}

/// The channels-first product (1×1 convolutions) through SIMD gives the
/// portable path's bits, for every edge of the channel and pixel tiles, with
/// a bias, a pixel of zeros and a pixel holding NaN.
#[wasm_bindgen_test]
fn the_channels_first_kernel_gives_the_portable_bits() {
    for (seed, &(k, n, pixels)) in [(16usize, 96usize, 49usize), (3, 5, 7), (32, 16, 64), (144, 24, 9), (1, 1, 1), (17, 6, 13)].iter().enumerate() {
        let w = values(k * n, seed as u32 + 3);
        let weights = Int8Weights::quantize(&w, k, n).unwrap();
        let mut x = values(k * pixels, seed as u32 + 70);
        if pixels > 2 {
            for ch in 0..k {
                x[ch * pixels + 1] = 0.0; // pixel 1: zeros
            }
            x[2] = f32::NAN; // pixel 2 of channel 0
        }
        let bias: Vec<f32> = (0..n).map(|c| c as f32 * 0.25 - 1.0).collect();
        let (mut simd, mut portable) = (vec![0f32; n * pixels], vec![0f32; n * pixels]);
        weights.matmul_channels_first(&x, pixels, Some(&bias), &mut simd).unwrap();
        weights.matmul_channels_first_portable(&x, pixels, Some(&bias), &mut portable).unwrap();
        for (i, (a, b)) in simd.iter().zip(&portable).enumerate() {
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "({k},{n},{pixels}) value {i}: {a} vs {b}");
        }
        if pixels > 2 {
            assert!(simd[2].is_nan() && simd[1] == bias[0]);
        }
    }
}

/// The pixel kernel with a channels-last activation, output or both (tract's
/// channels-last graphs in WebAssembly) gives the portable path's bits, for
/// every edge of the tiles, a pixel of zeros and a pixel holding NaN.
#[wasm_bindgen_test]
fn the_pixel_kernel_gives_the_portable_bits_in_every_layout() {
    use recagent_core::vectors::int8_gemm::PixelLayout::{ChannelsFirst, ChannelsLast};
    for (seed, &(k, n, pixels)) in [(16usize, 96usize, 49usize), (3, 5, 7), (144, 24, 9), (1, 1, 1), (17, 6, 13), (9, 7, 11)].iter().enumerate() {
        let weights = Int8Weights::quantize(&values(k * n, seed as u32 + 5), k, n).unwrap();
        let bias: Vec<f32> = (0..n).map(|c| c as f32 * 0.25 - 1.0).collect();
        for (input, output) in [(ChannelsLast, ChannelsFirst), (ChannelsFirst, ChannelsLast), (ChannelsLast, ChannelsLast)] {
            let mut x = values(k * pixels, seed as u32 + 90);
            if pixels > 2 {
                let at = |c: usize, p: usize| if input == ChannelsLast { p * k + c } else { c * pixels + p };
                for c in 0..k {
                    x[at(c, 1)] = 0.0; // pixel 1: zeros
                }
                x[at(k - 1, 2)] = f32::NAN; // pixel 2's last channel
            }
            let (mut simd, mut portable) = (vec![0f32; n * pixels], vec![0f32; n * pixels]);
            weights.matmul_pixels(&x, pixels, input, output, Some(&bias), &mut simd).unwrap();
            weights.matmul_pixels_portable(&x, pixels, input, output, Some(&bias), &mut portable).unwrap();
            for (i, (a, b)) in simd.iter().zip(&portable).enumerate() {
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "({k},{n},{pixels}) {input:?}→{output:?} value {i}: {a} vs {b}");
            }
            // and the same values as the channels-first product of the same activation
            let xf: Vec<f32> = (0..k * pixels)
                .map(|i| if input == ChannelsLast { x[(i % pixels) * k + i / pixels] } else { x[i] })
                .collect();
            let mut first = vec![0f32; n * pixels];
            weights.matmul_channels_first(&xf, pixels, Some(&bias), &mut first).unwrap();
            for c in 0..n {
                for p in 0..pixels {
                    let ours = simd[if output == ChannelsLast { p * n + c } else { c * pixels + p }];
                    let theirs = first[c * pixels + p];
                    assert!(ours.to_bits() == theirs.to_bits() || (ours.is_nan() && theirs.is_nan()), "({k},{n},{pixels}) {input:?}→{output:?} c {c} p {p}");
                }
            }
        }
    }
}
