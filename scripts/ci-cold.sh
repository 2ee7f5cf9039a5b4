#!/usr/bin/env bash
# Runs .ci/run as on a fresh machine: on a fresh clone of this repository's
# HEAD (commit first: uncommitted changes are not in it), with an empty
# RECAGENT_CACHE (so the cargo-installed tools, npm tools, downloads and the
# cargo target folder are all made anew) and no CARGO_TARGET_DIR. The clone
# has no ../shared beside it: everything comes from the repository and public
# registries. What it cannot empty: Debian packages already
# installed (chromium) and cargo's registry download cache (crates are
# checked by their checksums either way).
#   scripts/ci-cold.sh          run, print the time, delete the folder on success
#   scripts/ci-cold.sh --keep   keep the folder (its path is printed)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=0
[ "${1:-}" = --keep ] && keep=1

work="$(mktemp -d "${TMPDIR:-/tmp}/recagent-cold.XXXXXX")"
echo "[ci-cold] clone of $(git -C "$ROOT" rev-parse --short HEAD) in $work/repo, cache $work/cache" >&2
git clone --quiet "$ROOT" "$work/repo"
export RECAGENT_CACHE="$work/cache"
unset RECAGENT_SHARED
unset CARGO_TARGET_DIR
started=$SECONDS
(cd "$work/repo" && CI=true bash .ci/run)
echo "[ci-cold] .ci/run passed on a fresh clone with empty caches in $((SECONDS - started)) s" >&2
if [ "$keep" = 0 ]; then rm -rf "$work"; else echo "[ci-cold] kept $work" >&2; fi
