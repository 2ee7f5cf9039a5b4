#!/usr/bin/env bash
# Benchmarks recagent against onnxruntime-web in headless Chromium, on the same
# ONNX models (MiniLM int8 text encoder, MobileNetV2 image encoder): warm
# latency per text, per batch item and per image, cold start, and .wasm sizes.
#
#   scripts/bench.sh            # full run, a few minutes on 2 cores
#   scripts/bench.sh --quick    # few samples, to check that everything works
#   scripts/bench.sh --pool     # only EncoderPool 1 vs 2 workers next to onnxruntime-web 1 vs 2 threads
#   RECAGENT_BENCH_KEEP_PKG=1 scripts/bench.sh   # measure pkg/ as it is (e.g. a variant build)
#
# Prints a table to stdout and writes bench/out/latest.json; see bench/README.md.
#
#   scripts/bench.sh rank [--quick] [--variants]
#
# The ranking kernels instead (crates/core/src/vectors): natively (examples/bench_rank.rs,
# release) and in headless Chromium (bench/rank-wasm, a separate wasm crate
# built with the pinned wasm-pack, release, simd128): 100k x 384 f32 and int8,
# 1M x 384 int8, the streaming-read roofline, a plain JS peer, recall of int8.
# Prints both tables and writes bench/out/rank-latest.json (figures, not asserts).
#
#   scripts/bench.sh app [--quick]
#
# The application instead, through the JS API in headless Chromium: .wasm sizes
# and cold start (page load to the first recommendation, not cached and from the
# Cache API) against onnxruntime-web's (to its first embedding), recommend on a
# 100k-item catalog generated here (examples/synthetic_catalog.rs, seeded, into
# bench/out/), and ask's overhead without the LLM (autonomy 0; autonomy 2 against
# the scripted LLM server, crates/testkit, started here). Prints a
# table and writes bench/out/app-latest.json (figures, not asserts).
#
#   scripts/bench.sh size [--top N] [--crate NAME [--depth D]]
#
# What the .wasm is made of instead: code bytes by crate (or by module of one
# crate), read from the name section of the linked module, and pkg/'s sizes
# raw, gzip -9 and brotli -11 (bench/wasm-size.mjs; builds pkg/ first).
#
#   scripts/bench.sh engine [quality|latency] [--items 1000000] [--queries 100]
#
# A catalog held by a candidate engine (Chroma from PyPI, started here) and ranked
# on the device: ML-1M quality against the on-device ranking, and latency, bytes
# and device memory with N synthetic items in the engine (examples/engine_bench.rs).
#
#   scripts/bench.sh items [--counts 1000,10000] [--runs 3] [--workers N]
#
# A catalog built in the browser from the app's own items
# (`Recommender.create({ items })`): products generated here by
# examples/shop/make-products.mjs (seeded), each count built in a fresh
# Chromium profile (the encoder pool's workers, crossOriginIsolated page) and
# then loaded again from IndexedDB. Prints medians and the load average;
# writes bench/out/items-latest.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"
setup_all

bench_log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }

npm_deps() {
  cd "$ROOT/bench"
  if [ -f package-lock.json ]; then
    bench_log "npm ci (bench/)"
    npm ci --silent --no-audit --no-fund >&2
  else
    bench_log "npm install (bench/, no lockfile)"
    npm install --silent --no-audit --no-fund >&2
  fi
  cd "$ROOT"
}

if [ "${1:-}" = rank ]; then
  shift
  mkdir -p "$ROOT/bench/out"
  # Run from bench/rank-wasm (inside the repository) so .cargo/config.toml's
  # +simd128 applies; the shared target folder reuses the release dependencies
  # of pkg/. The page checks that the module was compiled with simd128.
  bench_log "building bench/rank-wasm (wasm-pack, release, simd128)"
  (cd "$ROOT/bench/rank-wasm" && CARGO_TARGET_DIR="$ROOT/target" \
    wasm-pack build --mode no-install --release --no-opt --target web --out-dir pkg . >&2)
  # wasm-opt -O1 like pkg/ (scripts/serve.sh): about a minute (the module
  # carries tract through recagent's wasm API), so cached by input hash.
  rank_wasm="$ROOT/bench/rank-wasm/pkg/recagent_rank_bench_bg.wasm"
  rank_flags=(-O1 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int
    --enable-sign-ext --enable-mutable-globals)
  rank_key=$( { sha256sum < "$rank_wasm"; echo "${rank_flags[*]} $BINARYEN_VERSION"; } | sha256sum | cut -c1-32)
  rank_cached="$CACHE/wasm-opt-rank/$rank_key.wasm"
  if [ ! -f "$rank_cached" ]; then
    bench_log "wasm-opt ${rank_flags[*]} (about a minute; cached afterwards)"
    mkdir -p "$CACHE/wasm-opt-rank"
    wasm-opt "$rank_wasm" -o "$rank_cached.tmp" "${rank_flags[@]}"
    mv "$rank_cached.tmp" "$rank_cached"
    ls -t "$CACHE/wasm-opt-rank/"*.wasm | tail -n +4 | xargs -r rm -f
  fi
  cp "$rank_cached" "$rank_wasm"
  bench_log "native: cargo run --release -p recagent-core --example bench_rank"
  (cd "$ROOT" && cargo run --quiet --release -p recagent-core --example bench_rank -- \
    --json "$ROOT/bench/out/rank-native.json" "$@" >&2)
  npm_deps
  exec node bench/rank-run.mjs --native "$ROOT/bench/out/rank-native.json" "$@"
fi

if [ "${1:-}" = engine ]; then
  # A catalog held by a candidate engine (Chroma, started here from the cached
  # PyPI install) and ranked on the device (examples/engine_bench.rs):
  #   quality: ML-1M HR@10 with 200/500/1000 candidates vs the on-device ranking
  #   latency: ITEMS synthetic items (default 1,000,000; examples/synthetic_catalog.rs,
  #            seeded) pushed into Chroma, then 100 text queries: p50/p95, bytes, memory
  #   scripts/bench.sh engine [quality|latency] [--items N] [--queries N]
  shift
  what=all items=1000000 queries=100
  while [ $# -gt 0 ]; do
    case "$1" in
      quality|latency) what="$1"; shift ;;
      --items) items="$2"; shift 2 ;;
      --queries) queries="$2"; shift 2 ;;
      *) die "engine: unknown argument $1" ;;
    esac
  done
  cd "$ROOT"
  mkdir -p bench/out
  cargo build --release -p recagent-cli --bin recagent --example engine_bench >&2
  cargo build --release -p recagent-core --example synthetic_catalog >&2
  cargo_target() { echo "${CARGO_TARGET_DIR:-$ROOT/target}"; }
  bin="$(cargo_target)/release/examples"
  if [ "$what" != latency ]; then
    bench_log "quality: ML-1M, the engine's candidates vs the on-device ranking (a few minutes)"
    "$bin/engine_bench" quality --dataset "$ASSETS/data/ml-1m" --model "$ASSETS/minilm-int8.onnx" \
      --vocab "$ASSETS/vocab.txt" --candidates 200,500,1000 | tee bench/out/engine-quality-latest.json
  fi
  if [ "$what" != quality ]; then
    catalog="bench/out/synthetic-$items.rcat"
    if [ ! -f "$catalog" ]; then
      bench_log "generating $items synthetic items (int8) into $catalog"
      "$bin/synthetic_catalog" --base "$ASSETS/catalog/ml-100k.rcat" --items "$items" --seed 1 --quantize --out "$catalog" >&2
    fi
    ensure_chroma
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    data="$ROOT/bench/out/chroma-$items"
    start_chroma "$data" "$port"
    bench_log "Chroma at $CHROMA_URL, data in $data (kept: a second run pushes nothing)"
    small="bench/out/synthetic-$items-small.rcat"
    # The shipped path pushes (resumable) and writes the small bundle ...
    "$(cargo_target)/release/recagent" push-catalog --catalog "$catalog" --to "chroma+$CHROMA_URL/synthetic-$items" \
      --batch 1000 --small-out "$small" >&2
    # ... and the device, in a process of its own, holds only the small bundle.
    "$bin/engine_bench" latency --small "$small" --to "chroma+$CHROMA_URL/synthetic-$items" \
      --model "$ASSETS/minilm-int8.onnx" --vocab "$ASSETS/vocab.txt" --queries "$queries" \
      | tee bench/out/engine-latency-latest.json
  fi
  exit 0
fi

if [ "${1:-}" = items ]; then
  shift
  cd "$ROOT"
  if [ "${RECAGENT_BENCH_KEEP_PKG:-}" != 1 ]; then
    "$ROOT/scripts/serve.sh" --build >&2
  fi
  mkdir -p "$ROOT/bench/out"
  counts=1000,10000
  args=("$@")
  for ((i = 0; i < ${#args[@]}; i++)); do
    if [ "${args[$i]}" = --counts ]; then counts="${args[$((i + 1))]}"; fi
  done
  for n in ${counts//,/ }; do
    out="$ROOT/bench/out/products-$n.json"
    [ -f "$out" ] || node examples/shop/make-products.mjs --count "$n" --seed 1 --out "$out"
  done
  npm_deps
  exec node bench/items-run.mjs "$@"
fi

if [ "${1:-}" = size ]; then
  # What the .wasm is made of: code bytes by crate from the linked module's
  # names, and pkg/'s raw, gzip and brotli sizes (bench/wasm-size.mjs).
  shift
  cd "$ROOT"
  if [ "${RECAGENT_BENCH_KEEP_PKG:-}" != 1 ]; then
    "$ROOT/scripts/serve.sh" --build >&2
  fi
  exec node bench/wasm-size.mjs "$@" \
    "${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/release/recagent.wasm" "$ROOT/pkg/recagent_bg.wasm"
fi

if [ "${1:-}" = app ]; then
  shift
  cd "$ROOT"
  if [ "${RECAGENT_BENCH_KEEP_PKG:-}" != 1 ]; then
    # pkg/ and the ML-100K catalog, as the main command builds them (cached).
    "$ROOT/scripts/serve.sh" --build >&2
  fi
  bench_log "building examples/synthetic_catalog.rs and crates/testkit"
  cargo build --quiet -p recagent-core --example synthetic_catalog >&2
  cargo build --quiet -p recagent-testkit --bin scripted_llm >&2
  examples="${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples"
  mkdir -p "$ROOT/bench/out"
  # The 100k-item catalogs (f32 and int8 text matrices), derived from ML-100K;
  # regenerated when the generator or the base catalog changed (about 10 s).
  key=$( { sha256sum < "$examples/synthetic_catalog"; sha256sum < "$ASSETS/catalog/ml-100k.rcat"; } | sha256sum | cut -c1-32)
  for variant in "" -int8; do
    out="$ROOT/bench/out/synthetic-100k$variant.rcat"
    if [ ! -f "$out" ] || [ "$(cat "$out.key" 2>/dev/null)" != "$key" ]; then
      bench_log "generating $out (100,000 items, seed 1)"
      flags=(); [ -n "$variant" ] && flags=(--quantize)
      "$examples/synthetic_catalog" --base "$ASSETS/catalog/ml-100k.rcat" --items 100000 --seed 1 \
        "${flags[@]}" --out "$out" >&2
      echo "$key" > "$out.key"
    fi
  done
  # The scripted LLM server on a free port (as scripts/test.sh), killed on exit.
  start_scripted_llm "${CARGO_TARGET_DIR:-$ROOT/target}/debug/scripted_llm"
  bench_log "scripted LLM server at $LLM_SERVER_URL (pid $LLM_PID)"
  npm_deps
  node bench/app-run.mjs --llm "$LLM_SERVER_URL" "$@"
  exit $?
fi

cd "$ROOT"
if [ "${RECAGENT_BENCH_KEEP_PKG:-}" != 1 ]; then
  # The same build as the main command (cached: seconds when nothing changed).
  "$ROOT/scripts/serve.sh" --build >&2
fi

npm_deps
exec node bench/run.mjs "$@"
