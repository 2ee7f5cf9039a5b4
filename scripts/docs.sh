#!/usr/bin/env bash
# Generates the JavaScript API reference (HTML, TypeDoc) from the TypeScript
# declarations wasm-pack writes into pkg/recagent.d.ts, into docs/api/.
#   scripts/docs.sh                      pkg/recagent.d.ts -> docs/api/
#   scripts/docs.sh FILE.d.ts [OUT_DIR]  another declaration file or output folder
# It does not build pkg/: run `scripts/serve.sh --build` first. TypeDoc is a
# pinned devDependency of tests/e2e (tests/e2e/typedoc.json holds its options);
# `npm ci` there installs it when it is missing. docs/api/ is generated: do not
# edit or commit it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E="$ROOT/tests/e2e"

die() { printf '\033[1;31m[docs] error:\033[0m %s\n' "$*" >&2; exit 1; }
log() { printf '\033[1;34m[docs]\033[0m %s\n' "$*" >&2; }

DTS="${1:-$ROOT/pkg/recagent.d.ts}"
OUT="${2:-$ROOT/docs/api}"

if [ ! -f "$DTS" ]; then
  if [ $# -eq 0 ]; then
    die "pkg/recagent.d.ts is missing: build the npm package first with
  scripts/serve.sh --build
(or: wasm-pack build --release --target web --out-dir pkg .), then run scripts/docs.sh again."
  fi
  die "$DTS does not exist"
fi
DTS="$(cd "$(dirname "$DTS")" && pwd)/$(basename "$DTS")"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
# TypeDoc empties the output folder first (cleanOutputDir): refuse folders that hold anything else.
case "$OUT" in
  "$ROOT" | "$ROOT/docs" | "$ROOT/pkg" | "$E2E" | / | "$HOME") die "refusing to write into $OUT (TypeDoc empties it first)" ;;
esac

command -v node >/dev/null || die "node is missing (Node.js 18 or newer)"
if [ ! -x "$E2E/node_modules/.bin/typedoc" ]; then
  log "installing the tests/e2e devDependencies (npm ci; TypeDoc is one of them)"
  (cd "$E2E" && npm ci --silent --no-audit --no-fund)
fi

# The declarations must be the root file of the TypeScript program TypeDoc
# reads. tests/e2e/tsconfig.json lists only types.ts, so a throw-away tsconfig
# outside the repository extends it (same compiler options as the tsc check of
# scripts/test.sh) and names the declaration file instead.
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cat > "$TMP/tsconfig.json" <<EOF
{
  "extends": "$E2E/tsconfig.json",
  "compilerOptions": { "skipLibCheck": true },
  "files": ["$DTS"]
}
EOF

log "TypeDoc: $DTS -> $OUT"
(cd "$E2E" && npx --no-install typedoc --options typedoc.json --tsconfig "$TMP/tsconfig.json" \
  --entryPoints "$DTS" --out "$OUT")
[ -f "$OUT/index.html" ] || die "TypeDoc wrote no $OUT/index.html"
log "open $OUT/index.html"
