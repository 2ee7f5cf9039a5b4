//! f32 matrix-multiply kernels for tract on `wasm32` + `simd128`, with fewer
//! accumulators than tract's own.
//!
//! tract-linalg 0.23.9 runs every f32 GEMM in the browser through
//! `wasm_f32_8x8`: 8 rows × 8 columns held in 16 `v128` accumulators. It was
//! tuned on Apple M1 (32 SIMD registers). V8 on x86-64 has 16 XMM registers,
//! so the accumulators alone fill them and the operands spill on every step
//! of the inner loop; a profile of the text encoder in Chromium put 78.7 % of
//! the time in that kernel.
//!
//! The kernels here keep the 8-column tile (two `v128` per row) and fewer
//! rows: [`NAME_4X8`] holds 8 accumulators (with the two B vectors and one
//! broadcast A value, 11 live registers), [`NAME_6X8`] 12. onnxruntime-web's
//! own wasm SIMD kernel (MLAS) holds 8 (2 rows × 16 columns).
//!
//! Measured in Chromium against onnxruntime-web in the same page, two runs
//! each, alternating (docs/benchmarks.md): 6×8 was the fastest of the three
//! (image 0.97–1.00× of onnxruntime-web against 1.08–1.20× with 8×8, batch of
//! texts 1.16–1.31× against 1.31–1.35×, single text 1.34–1.36× against
//! 1.38–1.39×); 4×8 helped images and batches but slowed single texts
//! (1.48–1.50×). So 6×8 is the default.
//!
//! They enter tract through its public registries, not a fork: each kernel is
//! an `MmmRoutine` in tract's inventory, and a dispatch tier above tract's own
//! wasm tier names it for every f32 matmul with more than one column. Which
//! one is the [`GemmTile`] set by [`use_tile`] before a model is optimized
//! (plans are built once, so the choice holds for a model's life).
//!
//! Every fused operation tract can hand a kernel is implemented (clear, load,
//! scalar / per-row / per-column arithmetic, quantisation scales, leaky ReLU,
//! unicast add, rank-1 updates, stores of any stride), following the
//! semantics of tract's 8x8 kernel, whose source this mirrors.

use std::sync::atomic::{AtomicU8, Ordering};

/// Which f32 GEMM tile the encoders' plans use on wasm32; the default is
/// [`GemmTile::Rows6`]. No effect elsewhere: native builds run tract's
/// assembly kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GemmTile {
    /// tract's own choice (`wasm_f32_8x8`, 16 accumulators).
    Tract8x8,
    /// 4 rows × 8 columns, 8 accumulators.
    Rows4,
    /// 6 rows × 8 columns, 12 accumulators: the default, the fastest of the
    /// three in Chromium on x86-64 (docs/benchmarks.md).
    Rows6,
}

/// The name tract knows the 4×8 kernel by.
pub const NAME_4X8: &str = "recagent_wasm_f32_4x8";
/// The name tract knows the 6×8 kernel by.
pub const NAME_6X8: &str = "recagent_wasm_f32_6x8";

static TILE: AtomicU8 = AtomicU8::new(2);

/// Chooses the tile for models optimized from now on, and makes sure the
/// kernels are linked in (the linker drops registry entries nothing names).
pub fn use_tile(tile: GemmTile) {
    TILE.store(
        match tile {
            GemmTile::Tract8x8 => 0,
            GemmTile::Rows4 => 1,
            GemmTile::Rows6 => 2,
        },
        Ordering::Relaxed,
    );
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::link();
}

/// Makes sure the kernels are linked in and registered with tract; called
/// before any model is optimized.
pub fn install() {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    simd::link();
}

/// The tile models optimized now would use.
pub fn tile() -> GemmTile {
    match TILE.load(Ordering::Relaxed) {
        0 => GemmTile::Tract8x8,
        1 => GemmTile::Rows4,
        _ => GemmTile::Rows6,
    }
}

/// How tract calls a kernel: a `Done`-terminated list of fused operations.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub type GemmKernel = unsafe fn(&[tract_linalg::mmm::FusedKerSpec<f32>]) -> isize;

/// The kernel of `tile` and its row count (`None` for tract's own), for
/// tests and benchmarks that drive a kernel directly. Calling it is unsafe
/// in the way tract's kernels are: every pointer in the list must cover a
/// full tile (`rows × 8` floats; packed A panels of `rows` floats and B
/// panels of 8 per k step).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn kernel(tile: GemmTile) -> Option<(usize, GemmKernel)> {
    simd::kernel(tile)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd;
