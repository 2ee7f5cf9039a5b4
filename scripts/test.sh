#!/usr/bin/env bash
# Runs every test: installs what is missing first (scripts/setup.sh), then
#   1. the ML-100K catalog (recagent build-catalog, cached) the agent and
#      browser tests use
#   2. the layering check (scripts/check-layers.sh), then native: cargo test
#      --workspace (tokenizer, encoders, catalog, ranking, memory, the
#      agent against the scripted LLM server, the CLI, `recagent simulate`
#      with the LLM-played user: tests/simulate_llm_user.rs)
#   3. cargo check of the binding and the core for wasm32-unknown-unknown
#   4. browser: the scripted LLM server started on a free port, then
#      wasm-pack test --headless --chrome (Debian chromium + chromedriver)
#   5. the npm package: wasm-pack build (release), its .d.ts type-checked by tsc,
#      and the demo page driven in headless Chromium (tests/e2e, node:test);
#      tests/e2e/package.test.mjs packs pkg/ (npm pack), installs the tarball
#      into examples/vite-app, bundles it with Vite and drives it in Chromium
#      (also in worker mode); tests/e2e/worker.test.mjs drives RecommenderWorker
#      and EncoderPool over pkg/ (COOP/COEP, and once without isolation)
#   6. fuzzing: every fuzz target of fuzz/ for 30 s (scripts/fuzz.sh)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
setup_all
cd "$ROOT"

step() { printf '\n\033[1;32m== %s\033[0m\n' "$*" >&2; }
started=$SECONDS

step "ML-100K catalog for the agent and browser tests (recagent build-catalog, cached)"
cargo build -p recagent-cli
ensure_ml100k_catalog

step "every tests/*.rs is declared by exactly one package (autotests are off)"
for f in tests/*.rs; do
  n=$(grep -lE "^path = \"(\.\./\.\./)?$f\"" Cargo.toml crates/*/Cargo.toml | wc -l)
  [ "$n" = 1 ] || die "$f is declared as a [[test]] by $n packages (it must be exactly one)"
done

step "layering: no cycle between core modules, no forbidden dependency (scripts/check-layers.sh)"
"$ROOT/scripts/check-layers.sh"

step "native tests (cargo test --workspace)"
# tests/engine_chroma.rs starts its own Chroma server from this install.
ensure_chroma
cargo test --workspace --all-targets
cargo test --workspace --doc

step "wasm32 check (cargo check --target wasm32-unknown-unknown)"
cargo check -p recagent -p recagent-core --lib --target wasm32-unknown-unknown

step "scripted LLM server for the browser tests (crates/testkit)"
# Started on a free port; its URL is baked into tests/web_http.rs and web_agent.rs at compile
# time (RECAGENT_LLM_SERVER). Killed when this script exits, however it exits.
cargo build -p recagent-testkit --bin scripted_llm
start_scripted_llm "${CARGO_TARGET_DIR:-$ROOT/target}/debug/scripted_llm"
export RECAGENT_LLM_SERVER="$LLM_SERVER_URL"
log "scripted LLM server at $RECAGENT_LLM_SERVER (pid $LLM_PID)"

step "Chroma for the browser tests (PyPI chromadb's server; CORS allows the test page)"
# The ML-100K catalog pushed into it; its URL is baked into tests/web_engine.rs
# at compile time (RECAGENT_CHROMA_URL). Killed when this script exits.
CHROMA_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CHROMA_TMP="$(mktemp -d)"
on_exit "rm -rf '$CHROMA_TMP'"
start_chroma "$CHROMA_TMP/chroma" "$CHROMA_PORT" '*'
"${CARGO_TARGET_DIR:-$ROOT/target}/debug/recagent" push-catalog --catalog "$ASSETS/catalog/ml-100k.rcat" \
  --to "chroma+$CHROMA_URL/ml-100k-web" > /dev/null
export RECAGENT_CHROMA_URL="$CHROMA_URL"
log "Chroma at $RECAGENT_CHROMA_URL (pid $CHROMA_PID)"

step "browser tests (wasm-pack test --headless --chrome)"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-600}"
wasm-pack test --mode no-install --headless --chrome --chromedriver "$CHROMEDRIVER" . \
  --test web --test web_gemm --test web_recommender --test web_items --test web_memory --test ranking_kernels --test web_http --test web_agent --test web_loader --test web_engine -- --nocapture

step "npm package and demo (wasm-pack build, tsc, headless Chromium)"
"$ROOT/scripts/serve.sh" --build
(cd "$ROOT/tests/e2e" && npm ci --silent --no-audit --no-fund)
(cd "$ROOT/tests/e2e" && npx --no-install tsc -p tsconfig.json)
node --test "$ROOT/tests/e2e/"

step "fuzzing: every cargo-fuzz target for 30 s (scripts/fuzz.sh, nightly; docs/fuzzing.md)"
"$ROOT/scripts/fuzz.sh"

step "API reference (TypeDoc over pkg/recagent.d.ts into docs/api/)"
"$ROOT/scripts/docs.sh"

printf '\nall test stages passed in %d s\n' $((SECONDS - started)) >&2
