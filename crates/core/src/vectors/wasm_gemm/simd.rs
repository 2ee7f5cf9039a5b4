//! The kernels themselves and their registration with tract (wasm32 +
//! simd128 builds only).
//!
//! A kernel receives a null-terminated list of [`FusedKerSpec`] from tract's
//! matmul driver, which has already packed A as `[k][MR]` and B as `[k][8]`
//! and guarantees the pointers it passes cover a full tile.

use std::arch::wasm32::*;

use tract_linalg::isa::{Arch, Isa, IsaReq, IsaSet};
use tract_linalg::mmm::{DynKernel, FusedKerSpec, MatMatMul, Query, Suitable};
use tract_linalg::mmm_routines::MmmRoutine;
use tract_linalg::mmm_tiers::MmmTier;
use tract_linalg::pack::Packing;
use tract_linalg::Scaler;
use tract_onnx::prelude::DatumType;

use super::{tile, GemmTile, NAME_4X8, NAME_6X8};

/// `acc = acc + a × b`, as two instructions (no relaxed FMA in the shipped
/// build).
macro_rules! madd {
    ($acc:expr, $a:expr, $b:expr) => {
        f32x4_add($acc, f32x4_mul($a, $b))
    };
}

/// One kernel of `$mr` rows × 8 columns; `$rows` are its accumulator pairs
/// (columns 0–3, columns 4–7), one per row, and `$lane` the A lane each row
/// broadcasts from its `v128` of A (`$av` names which of the A vectors).
macro_rules! kernel_x8 {
    ($name:ident, $mr:expr, $a0:ident, $a1:ident; $(($lo:ident, $hi:ident, $av:ident, $lane:literal)),+) => {
        /// # Safety
        /// tract's matmul driver calls this with a `Done`-terminated list whose
        /// pointers cover a full tile of the kernel's rows × 8 columns (packed
        /// A panels of one float per row per k step, packed B panels of 8).
        #[allow(clippy::too_many_lines, unused_assignments)]
        unsafe fn $name(spec: &[FusedKerSpec<f32>]) -> isize {
            unsafe {
                $(let mut $lo = f32x4_splat(0.0); let mut $hi = f32x4_splat(0.0);)+
                for op in spec {
                    match *op {
                        FusedKerSpec::Done => break,
                        FusedKerSpec::Clear => {
                            $($lo = f32x4_splat(0.0); $hi = f32x4_splat(0.0);)+
                        }
                        FusedKerSpec::LoadTile(_cols, rows) => {
                            let p = rows as *const v128;
                            let mut i = 0usize;
                            $($lo = v128_load(p.add(i)); $hi = v128_load(p.add(i + 1)); i += 2;)+
                        }
                        FusedKerSpec::ScalarMin(a) => { let s = f32x4_splat(a); $($lo = f32x4_min(s, $lo); $hi = f32x4_min(s, $hi);)+ }
                        FusedKerSpec::ScalarMax(a) => { let s = f32x4_splat(a); $($lo = f32x4_max(s, $lo); $hi = f32x4_max(s, $hi);)+ }
                        FusedKerSpec::ScalarAdd(a) => { let s = f32x4_splat(a); $($lo = f32x4_add(s, $lo); $hi = f32x4_add(s, $hi);)+ }
                        FusedKerSpec::ScalarMul(a) => { let s = f32x4_splat(a); $($lo = f32x4_mul(s, $lo); $hi = f32x4_mul(s, $hi);)+ }
                        FusedKerSpec::ScalarSub(a) => { let s = f32x4_splat(a); $($lo = f32x4_sub(s, $lo); $hi = f32x4_sub(s, $hi);)+ }
                        FusedKerSpec::ScalarSubF(a) => { let s = f32x4_splat(a); $($lo = f32x4_sub($lo, s); $hi = f32x4_sub($hi, s);)+ }
                        FusedKerSpec::LeakyRelu(a) => {
                            let s = f32x4_splat(a);
                            let zero = f32x4_splat(0.0);
                            $(
                                $lo = v128_bitselect($lo, f32x4_mul(s, $lo), f32x4_gt($lo, zero));
                                $hi = v128_bitselect($hi, f32x4_mul(s, $hi), f32x4_gt($hi, zero));
                            )+
                        }
                        FusedKerSpec::PerRowMin(row) => per_row!(f32x4_min, row; $(($lo, $hi)),+),
                        FusedKerSpec::PerRowMax(row) => per_row!(f32x4_max, row; $(($lo, $hi)),+),
                        FusedKerSpec::PerRowAdd(row) => per_row!(f32x4_add, row; $(($lo, $hi)),+),
                        FusedKerSpec::PerRowMul(row) => per_row!(f32x4_mul, row; $(($lo, $hi)),+),
                        FusedKerSpec::PerRowSub(row) => per_row!(f32x4_sub, row; $(($lo, $hi)),+),
                        FusedKerSpec::PerRowSubF(row) => {
                            let mut i = 0usize;
                            $(let s = f32x4_splat(*row.add(i)); $lo = f32x4_sub($lo, s); $hi = f32x4_sub($hi, s); i += 1;)+
                        }
                        FusedKerSpec::PerColMin(cols) => per_col!(f32x4_min, cols; $(($lo, $hi)),+),
                        FusedKerSpec::PerColMax(cols) => per_col!(f32x4_max, cols; $(($lo, $hi)),+),
                        FusedKerSpec::PerColAdd(cols) => per_col!(f32x4_add, cols; $(($lo, $hi)),+),
                        FusedKerSpec::PerColMul(cols) => per_col!(f32x4_mul, cols; $(($lo, $hi)),+),
                        FusedKerSpec::PerColSub(cols) => per_col!(f32x4_sub, cols; $(($lo, $hi)),+),
                        FusedKerSpec::PerColSubF(cols) => {
                            let p = cols as *const v128;
                            let (clo, chi) = (v128_load(p), v128_load(p.add(1)));
                            $($lo = f32x4_sub($lo, clo); $hi = f32x4_sub($hi, chi);)+
                        }
                        FusedKerSpec::QScale(shift, rp, mult) => {
                            let s = f32x4_splat(Scaler::from_fuse_params(shift, rp, mult).scale);
                            $($lo = f32x4_mul(s, $lo); $hi = f32x4_mul(s, $hi);)+
                        }
                        FusedKerSpec::RoundingShiftRight(shift, _rp) => {
                            let s = f32x4_splat(2f32.powi(-(shift as i32)));
                            $($lo = f32x4_mul(s, $lo); $hi = f32x4_mul(s, $hi);)+
                        }
                        FusedKerSpec::ShiftLeft(shift) => {
                            let s = f32x4_splat(2f32.powi(shift as i32));
                            $($lo = f32x4_mul(s, $lo); $hi = f32x4_mul(s, $hi);)+
                        }
                        FusedKerSpec::AddUnicast(tile) => {
                            let mut ptr: *const u8 = tile.ptr;
                            let cs = tile.col_byte_stride;
                            $(
                                let at = |c: isize| *(ptr.offset(cs * c) as *const f32);
                                $lo = f32x4_add($lo, f32x4(at(0), at(1), at(2), at(3)));
                                $hi = f32x4_add($hi, f32x4(at(4), at(5), at(6), at(7)));
                                ptr = ptr.offset(tile.row_byte_stride);
                            )+
                        }
                        FusedKerSpec::AddRowColProducts(rows, cols) => {
                            let p = cols as *const v128;
                            let (clo, chi) = (v128_load(p), v128_load(p.add(1)));
                            let mut i = 0usize;
                            $(
                                let r = f32x4_splat(*rows.add(i));
                                $lo = madd!($lo, r, clo);
                                $hi = madd!($hi, r, chi);
                                i += 1;
                            )+
                        }
                        FusedKerSpec::Store(tile) => {
                            let mut ptr: *mut u8 = tile.ptr;
                            let cs = tile.col_byte_stride;
                            if cs == 4 {
                                $(
                                    std::ptr::write_unaligned(ptr as *mut v128, $lo);
                                    std::ptr::write_unaligned(ptr.add(16) as *mut v128, $hi);
                                    ptr = ptr.offset(tile.row_byte_stride);
                                )+
                            } else {
                                $(
                                    *(ptr as *mut f32) = f32x4_extract_lane::<0>($lo);
                                    *(ptr.offset(cs) as *mut f32) = f32x4_extract_lane::<1>($lo);
                                    *(ptr.offset(cs * 2) as *mut f32) = f32x4_extract_lane::<2>($lo);
                                    *(ptr.offset(cs * 3) as *mut f32) = f32x4_extract_lane::<3>($lo);
                                    *(ptr.offset(cs * 4) as *mut f32) = f32x4_extract_lane::<0>($hi);
                                    *(ptr.offset(cs * 5) as *mut f32) = f32x4_extract_lane::<1>($hi);
                                    *(ptr.offset(cs * 6) as *mut f32) = f32x4_extract_lane::<2>($hi);
                                    *(ptr.offset(cs * 7) as *mut f32) = f32x4_extract_lane::<3>($hi);
                                    ptr = ptr.offset(tile.row_byte_stride);
                                )+
                            }
                        }
                        FusedKerSpec::AddMatMul { k, pa, pb, packing: _ } => {
                            let mut a = pa as *const f32;
                            let mut b = pb as *const v128;
                            for _ in 0..k {
                                let blo = v128_load(b);
                                let bhi = v128_load(b.add(1));
                                let $a0 = v128_load(a as *const v128);
                                #[allow(unused_variables)]
                                let $a1 = if $mr > 4 { v128_load64_zero(a.add(4) as *const u64) } else { $a0 };
                                $(
                                    let s = i32x4_shuffle::<$lane, $lane, $lane, $lane>($av, $av);
                                    $lo = madd!($lo, s, blo);
                                    $hi = madd!($hi, s, bhi);
                                )+
                                a = a.add($mr);
                                b = b.add(2);
                            }
                        }
                    }
                }
                0
            }
        }
    };
}

/// `acc = op(splat(row[i]), acc)` for each row `i`.
macro_rules! per_row {
    ($op:ident, $row:expr; $(($lo:ident, $hi:ident)),+) => {{
        let mut i = 0usize;
        $(let s = f32x4_splat(*$row.add(i)); $lo = $op(s, $lo); $hi = $op(s, $hi); i += 1;)+
        let _ = i;
    }};
}

/// `acc = op(cols, acc)` with the same 8 column values for every row.
macro_rules! per_col {
    ($op:ident, $cols:expr; $(($lo:ident, $hi:ident)),+) => {{
        let p = $cols as *const v128;
        let (clo, chi) = (v128_load(p), v128_load(p.add(1)));
        $($lo = $op(clo, $lo); $hi = $op(chi, $hi);)+
    }};
}

kernel_x8!(kernel_f32_4x8, 4, a0, a1;
    (r0lo, r0hi, a0, 0), (r1lo, r1hi, a0, 1), (r2lo, r2hi, a0, 2), (r3lo, r3hi, a0, 3));
kernel_x8!(kernel_f32_6x8, 6, a0, a1;
    (r0lo, r0hi, a0, 0), (r1lo, r1hi, a0, 1), (r2lo, r2hi, a0, 2), (r3lo, r3hi, a0, 3),
    (r4lo, r4hi, a1, 0), (r5lo, r5hi, a1, 1));

/// A kernel's declaration for tract: its tile, packings and instruction set.
fn declare<const MR: usize>(
    name: &str,
    kernel: unsafe fn(&[FusedKerSpec<f32>]) -> isize,
) -> Box<dyn MatMatMul> {
    let mut k = DynKernel::<MR, 8, f32>::new(name, kernel, f32::packing(MR), f32::packing(8))
        .with_isa(IsaReq::ANY.needing(&[Isa::Wasm32Simd128]));
    k.arch = Some(Arch::Wasm32Simd128);
    k.mmm()
}

fn make_4x8() -> Box<dyn MatMatMul> {
    declare::<4>(NAME_4X8, kernel_f32_4x8)
}

fn make_6x8() -> Box<dyn MatMatMul> {
    declare::<6>(NAME_6X8, kernel_f32_6x8)
}

inventory::submit! { MmmRoutine { make: make_4x8 } }
inventory::submit! { MmmRoutine { make: make_6x8 } }

/// The tier that names our kernel for f32 matmuls of more than one column;
/// matrix-vector products (n = 1) stay with tract's GEMV kernels.
fn preferred(
    _isa: &IsaSet,
    dt: DatumType,
    query: &Query,
    _suitable: &[Suitable],
) -> Option<&'static str> {
    match (dt, query.n, tile()) {
        (DatumType::F32, Some(1), _) | (_, _, GemmTile::Tract8x8) => None,
        (DatumType::F32, _, GemmTile::Rows4) => Some(NAME_4X8),
        (DatumType::F32, _, GemmTile::Rows6) => Some(NAME_6X8),
        _ => None,
    }
}

inventory::submit! {
    MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        precedence: 7,
        name: "recagent-wasm-gemm",
        applies: |_| true,
        preferred,
    }
}

/// See [`super::kernel`].
pub(super) fn kernel(tile: GemmTile) -> Option<(usize, super::GemmKernel)> {
    match tile {
        GemmTile::Tract8x8 => None,
        GemmTile::Rows4 => Some((4, kernel_f32_4x8 as super::GemmKernel)),
        GemmTile::Rows6 => Some((6, kernel_f32_6x8 as super::GemmKernel)),
    }
}

/// Names the kernels and their registry entries so the linker keeps them.
pub(super) fn link() {
    std::hint::black_box((
        make_4x8 as *const (),
        make_6x8 as *const (),
        preferred as *const (),
    ));
}
