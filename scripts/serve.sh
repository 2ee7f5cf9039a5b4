#!/usr/bin/env bash
# The main job: installs what is missing, builds the ML-100K catalog the demo
# browses (recagent build-catalog, cached), the npm package into pkg/
# (wasm-pack, release, with TypeScript types) and serves the demo in www/ on
# http://127.0.0.1:${PORT:-8080}/ until interrupted, with a strict
# Content-Security-Policy (tests/e2e/serve-cli.mjs): everything from the page's
# own origin (and blob: workers, which wllama starts for the in-page model), plus
# fetch to the LLM origin in RECAGENT_LLM_ORIGIN (default none,
# e.g. RECAGENT_LLM_ORIGIN=http://127.0.0.1:8081 for a local llama-server).
#   scripts/serve.sh            build and serve
#   scripts/serve.sh --build    build only (what CI and the tests use)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
setup_all

# The wasm-opt flags of [package.metadata.wasm-pack.profile.release] in
# Cargo.toml (what a plain `wasm-pack build` applies; why -O1 is said there);
# keep the two equal.
WASM_OPT_FLAGS=(-O1 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals)

build_pkg() {
  log "building pkg/ (wasm-pack, release)"
  (cd "$ROOT" && wasm-pack build --mode no-install --release --no-opt --target web --out-dir pkg . )
  # The entry point: the glue with the module started by every `create` (js/index.js),
  # and the README npm shows (js/README.md: for someone installing the package).
  cp "$ROOT/js/index.js" "$ROOT/js/index.d.ts" "$ROOT/js/README.md" "$ROOT/pkg/"
  node "$ROOT/scripts/package-json.mjs" "$ROOT/pkg/package.json"
  # wasm-opt takes minutes on this module: reuse its output when the input is unchanged.
  local wasm="$ROOT/pkg/recagent_bg.wasm" key cached
  key=$( { sha256sum < "$wasm"; echo "${WASM_OPT_FLAGS[*]} $BINARYEN_VERSION"; } | sha256sum | cut -c1-32)
  cached="$CACHE/wasm-opt/$key.wasm"
  if [ ! -f "$cached" ]; then
    log "wasm-opt ${WASM_OPT_FLAGS[*]} (about a minute; cached afterwards)"
    mkdir -p "$CACHE/wasm-opt"
    wasm-opt "$wasm" -o "$cached.tmp" "${WASM_OPT_FLAGS[@]}"
    mv "$cached.tmp" "$cached"
    # keep the cache small: the 5 newest outputs
    ls -t "$CACHE/wasm-opt/"*.wasm | tail -n +6 | xargs -r rm -f
  fi
  cp "$cached" "$wasm"
  ln -sfn ../pkg "$ROOT/www/pkg"
  ln -sfn ../assets "$ROOT/www/assets"
  # The in-page model's runtime (@wllama/wllama, a devDependency of tests/e2e): the demo
  # imports www/wllama/index.js and loads www/wllama/wasm/wllama.wasm from this origin.
  ln -sfn ../tests/e2e/node_modules/@wllama/wllama/esm "$ROOT/www/wllama"
  log "pkg/recagent_bg.wasm: $(stat -c %s "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
}

build_catalog() {
  log "ML-100K catalog for the demo (recagent build-catalog, cached)"
  (cd "$ROOT" && cargo build -p recagent-cli)
  ensure_ml100k_catalog
}

build_catalog
build_pkg
if [ "${1:-}" = "--build" ]; then exit 0; fi
if [ ! -f "$ROOT/tests/e2e/node_modules/@wllama/wllama/package.json" ]; then
  log "installing tests/e2e's npm packages (wllama for the in-page model)"
  (cd "$ROOT/tests/e2e" && npm ci --silent --no-audit --no-fund)
fi

PORT="${PORT:-8080}"
log "serving the demo at http://127.0.0.1:$PORT/ (Ctrl-C to stop)"
exec node "$ROOT/tests/e2e/serve-cli.mjs" --port "$PORT" --root "$ROOT/www"
