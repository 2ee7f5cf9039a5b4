#!/usr/bin/env bash
# Runs every test: installs what is missing first (scripts/setup.sh), then
#   1. native: cargo test (tokenizer, encoders, CLI, against the shared fixtures)
#   2. cargo check of the library for wasm32-unknown-unknown
#   3. browser: wasm-pack test --headless --chrome (Debian chromium + chromedriver)
#   4. the npm package: wasm-pack build (release), its .d.ts type-checked by tsc,
#      and the demo page driven in headless Chromium (tests/e2e, node:test)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
setup_all
cd "$ROOT"

step() { printf '\n\033[1;32m== %s\033[0m\n' "$*" >&2; }
started=$SECONDS

step "native tests (cargo test)"
cargo test --all-targets
cargo test --doc

step "wasm32 check (cargo check --target wasm32-unknown-unknown)"
cargo check --lib --target wasm32-unknown-unknown

step "browser tests (wasm-pack test --headless --chrome)"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}"
wasm-pack test --mode no-install --headless --chrome --chromedriver "$CHROMEDRIVER" . --test web --test ranking_kernels

step "npm package and demo (wasm-pack build, tsc, headless Chromium)"
"$ROOT/scripts/serve.sh" --build
(cd "$ROOT/tests/e2e" && npm ci --silent --no-audit --no-fund)
(cd "$ROOT/tests/e2e" && npx --no-install tsc -p tsconfig.json)
node --test "$ROOT/tests/e2e/"

printf '\nall test stages passed in %d s\n' $((SECONDS - started)) >&2
