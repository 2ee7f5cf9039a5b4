#!/usr/bin/env bash
# Benchmarks recagent against onnxruntime-web in headless Chromium, on the same
# ONNX models (MiniLM int8 text encoder, MobileNetV2 image encoder): warm
# latency per text, per batch item and per image, cold start, and .wasm sizes.
#
#   scripts/bench.sh            # full run, a few minutes on 2 cores
#   scripts/bench.sh --quick    # few samples, to check that everything works
#   RECAGENT_BENCH_KEEP_PKG=1 scripts/bench.sh   # measure pkg/ as it is (e.g. a variant build)
#
# Prints a table to stdout and writes bench/out/latest.json; see bench/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/setup.sh
source "$ROOT/scripts/setup.sh"
setup_all

bench_log() { printf '\033[1;34m[bench]\033[0m %s\n' "$*" >&2; }

cd "$ROOT"
if [ "${RECAGENT_BENCH_KEEP_PKG:-}" != 1 ]; then
  # The same build as the main command (cached: seconds when nothing changed).
  "$ROOT/scripts/serve.sh" --build >&2
fi

cd "$ROOT/bench"
if [ -f package-lock.json ]; then
  bench_log "npm ci (bench/)"
  npm ci --silent --no-audit --no-fund >&2
else
  bench_log "npm install (bench/, no lockfile)"
  npm install --silent --no-audit --no-fund >&2
fi

cd "$ROOT"
exec node bench/run.mjs "$@"
