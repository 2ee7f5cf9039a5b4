#!/usr/bin/env bash
# The layering rules of docs/architecture.md, checked from the code itself:
#   1. no cycle between the core's top-level modules (crates/core/src/*),
#      read from the `crate::<module>` paths in code (comments are ignored);
#   2. `error` uses no other module, `vectors` only `error`;
#   3. the core's normal dependency tree has no crate that knows JS, a
#      command line, an HTTP client or a storage engine;
#   4. no dev-dependency leaks into the normal trees of the binding and the CLI.
# Prints the module graph; exits 1 on the first broken rule.
#   scripts/check-layers.sh            all checks
#   scripts/check-layers.sh --graph    only print the module graph
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

python3 - "$ROOT/crates/core/src" "${1:-}" <<'PY'
import os, re, sys

src, mode = sys.argv[1], sys.argv[2]
modules = sorted(
    n[:-3] if n.endswith(".rs") else n
    for n in os.listdir(src)
    if n != "lib.rs" and (n.endswith(".rs") or os.path.isdir(os.path.join(src, n)))
)
# Which modules each module names: `crate::m` anywhere in code, `super::`
# paths stay inside a module by construction of the tree walk below.
uses = {m: set() for m in modules}
path_re = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
for m in modules:
    files = []
    if os.path.isdir(os.path.join(src, m)):
        for dirpath, _, names in os.walk(os.path.join(src, m)):
            files += [os.path.join(dirpath, n) for n in names if n.endswith(".rs")]
    if os.path.isfile(os.path.join(src, m + ".rs")):
        files.append(os.path.join(src, m + ".rs"))
    for f in files:
        for line in open(f, encoding="utf-8"):
            code = line.split("//", 1)[0]
            for used in path_re.findall(code):
                if used in uses and used != m:
                    uses[m].add(used)
                elif used not in uses and used not in ("Result", "Error"):
                    pass  # crate-root re-exports (crate::TextEncoder) name types, see below
            # crate-root re-exports count as their module
            for name, owner in (("TextEncoder", "encoder"), ("ImageEncoder", "encoder"), ("Catalog", "catalog"),
                                ("Memory", "memory"), ("UserProfile", "profile"), ("Recommender", "recommender"),
                                ("Session", "session")):
                if re.search(r"\bcrate::" + name + r"\b", code) and owner != m and owner in uses:
                    uses[m].add(owner)
            if re.search(r"\bcrate::(Result|Error)\b", code) and m != "error":
                uses[m].add("error")

print("core module graph (module -> modules it uses):")
for m in modules:
    print(f"  {m:12} -> {', '.join(sorted(uses[m])) or '(nothing)'}")
if mode == "--graph":
    sys.exit(0)

failed = []
# Cycles: depth-first search with colours.
state, stack = {}, []
def visit(m):
    state[m] = "open"; stack.append(m)
    for n in sorted(uses[m]):
        if state.get(n) == "open":
            failed.append("cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
        elif n not in state:
            visit(n)
    stack.pop(); state[m] = "done"
for m in modules:
    if m not in state:
        visit(m)
allowed = {"error": set(), "vectors": {"error"}}
for m, ok in allowed.items():
    if m in uses and not uses[m] <= ok:
        failed.append(f"{m} may use only {sorted(ok) or 'nothing'}, uses {sorted(uses[m])}")
for f in failed:
    print("layering: " + f, file=sys.stderr)
sys.exit(1 if failed else 0)
PY
[ "${1:-}" = --graph ] && exit 0

cd "$ROOT"
forbidden='^(wasm-bindgen|wasm-bindgen-futures|js-sys|web-sys|serde-wasm-bindgen|clap|ureq|reqwest|hyper|redb|rusqlite|sled|tempfile) '
tree() { cargo tree --quiet --prefix none --edges normal "$@" | sed 's/ (\*)$//' | sort -u; }
bad=$( { tree -p recagent-core; tree -p recagent-core --target wasm32-unknown-unknown; } | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
  echo "layering: recagent-core depends on crates it must not know:" >&2
  echo "$bad" >&2
  exit 1
fi
echo "recagent-core: $(tree -p recagent-core | wc -l) crates in its normal tree (native), none that knows JS, a CLI, an HTTP client or a storage engine"
dev='^(tempfile|wasm-bindgen-test) '
for p in recagent recagent-cli; do
  leak=$( { tree -p "$p"; tree -p "$p" --target wasm32-unknown-unknown; } | grep -E "$dev" || true)
  if [ -n "$leak" ]; then
    echo "layering: a dev-dependency is in the normal tree of $p:" >&2
    echo "$leak" >&2
    exit 1
  fi
done
echo "recagent, recagent-cli: no dev-dependency in their normal trees"
