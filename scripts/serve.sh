#!/usr/bin/env bash
# The main job: installs what is missing, builds the npm package into pkg/
# (wasm-pack, release, with TypeScript types) and serves the demo in www/ on
# http://127.0.0.1:${PORT:-8080}/ until interrupted.
#   scripts/serve.sh            build and serve
#   scripts/serve.sh --build    build only (what CI and the tests use)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
setup_all

build_pkg() {
  log "building pkg/ (wasm-pack, release)"
  (cd "$ROOT" && wasm-pack build --mode no-install --release --target web --out-dir pkg . )
  ln -sfn ../pkg "$ROOT/www/pkg"
  ln -sfn ../assets "$ROOT/www/assets"
  local wasm="$ROOT/pkg/recagent_bg.wasm"
  log "pkg/recagent_bg.wasm: $(stat -c %s "$wasm") bytes, $(gzip -9 -c "$wasm" | wc -c) gzipped"
}

build_pkg
if [ "${1:-}" = "--build" ]; then exit 0; fi

PORT="${PORT:-8080}"
log "serving the demo at http://127.0.0.1:$PORT/ (Ctrl-C to stop)"
exec python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$ROOT/www"
