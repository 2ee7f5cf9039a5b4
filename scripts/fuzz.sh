#!/usr/bin/env bash
# Fuzzes the parsers of recagent-core with cargo-fuzz (libFuzzer): the
# targets are in fuzz/fuzz_targets/, their seed corpora in fuzz/corpus/
# (docs/fuzzing.md). Installs the nightly toolchain and cargo-fuzz first
# (ensure_fuzz in scripts/setup.sh); builds into $RECAGENT_CACHE/fuzz-target,
# apart from the normal builds.
#
#   scripts/fuzz.sh                        every target for 30 s (what CI runs),
#                                          without a sanitizer (-s none: panics,
#                                          overflow checks, memory limits)
#   scripts/fuzz.sh --long 3600 [TARGET…]  every (or the named) target for 3600 s,
#                                          under AddressSanitizer
#   RECAGENT_FUZZ_SANITIZER=address|none   overrides either choice
#   RECAGENT_FUZZ_SEED=N                   libFuzzer's seed: 1 for the 30 s run,
#                                          so CI's run repeats from the same
#                                          start; a random one for --long
#   scripts/fuzz.sh --repro TARGET FILE    runs one input (a crash artifact) once
#   scripts/fuzz.sh --seeds                rewrites fuzz/corpus/*/seed-* (gen_seeds)
#   scripts/fuzz.sh --list                 the targets
#
# Prints, per target, libFuzzer's executions (stat::number_of_executed_units)
# and crashes, and fails when any target crashed, ran out of memory
# (-rss_limit_mb / -malloc_limit_mb) or timed out on one input (-timeout).
# New inputs libFuzzer finds go to $RECAGENT_CACHE/fuzz-corpus/TARGET (kept
# between runs), crash inputs to fuzz/artifacts/TARGET/ (git-ignored).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
cd "$ROOT"

FUZZ_CORPUS="$CACHE/fuzz-corpus"
FUZZ_LOGS="$CACHE/fuzz-logs"
SECONDS_PER_TARGET=30
# An input may take at most this long, and the process this much memory: an
# allocation sized by untrusted bytes beyond the parsers' own limits is a crash.
LIBFUZZER_LIMITS=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024)

targets() { sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^recagent-fuzz$\|^gen_seeds$'; }

mode=run
# The short run skips AddressSanitizer: instrumenting every dependency with it
# (tract above all) makes a cold build several times longer, and the fuzzed
# code is safe Rust, whose bugs show as panics and overflow checks anyway.
sanitizer=none
seed=1
case "${1:-}" in
  --long) SECONDS_PER_TARGET="${2:?--long needs a number of seconds}"; sanitizer=address; seed=0; shift 2 ;;
  --repro) mode=repro; shift ;;
  --seeds) mode=seeds; shift ;;
  --list) targets; exit 0 ;;
  -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
esac
sanitizer="${RECAGENT_FUZZ_SANITIZER:-$sanitizer}"
seed="${RECAGENT_FUZZ_SEED:-$seed}"
FUZZ_TARGET_DIR="$CACHE/fuzz-target-$sanitizer"

if [ "$mode" = seeds ]; then
  CARGO_TARGET_DIR="$FUZZ_TARGET_DIR" cargo run --quiet --release \
    --manifest-path fuzz/Cargo.toml --example gen_seeds
  exit 0
fi

ensure_fuzz
fuzz() { local cmd="$1"; shift; cargo "+$FUZZ_TOOLCHAIN" fuzz "$cmd" -s "$sanitizer" "$@"; }

if [ "$mode" = repro ]; then
  target="${1:?--repro needs a target}" input="${2:?--repro needs an input file}"
  fuzz run -O --target-dir "$FUZZ_TARGET_DIR" "$target" "$input" -- "${LIBFUZZER_LIMITS[@]}"
  exit 0
fi

selected=("$@")
if [ ${#selected[@]} = 0 ]; then mapfile -t selected < <(targets); fi

log "building ${#selected[@]} fuzz targets (cargo +$FUZZ_TOOLCHAIN fuzz build -O -s $sanitizer)"
build_start=$SECONDS
fuzz build -O --target-dir "$FUZZ_TARGET_DIR"
log "built in $((SECONDS - build_start)) s"

mkdir -p "$FUZZ_LOGS"
failed=()
report=()
for target in "${selected[@]}"; do
  [ -d "fuzz/corpus/$target" ] || die "no target $target (scripts/fuzz.sh --list)"
  mkdir -p "$FUZZ_CORPUS/$target"
  logfile="$FUZZ_LOGS/$target.log"
  log "fuzzing $target for $SECONDS_PER_TARGET s (log: $logfile)"
  status=0
  fuzz run -O --target-dir "$FUZZ_TARGET_DIR" "$target" "$FUZZ_CORPUS/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -seed="$seed" -print_final_stats=1 "${LIBFUZZER_LIMITS[@]}" \
    > "$logfile" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logfile" | tail -n 1)
  crashes=0
  if [ "$status" != 0 ]; then
    crashes=1
    failed+=("$target")
    grep -m1 -E 'panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer' "$logfile" >&2 || true
    grep -m1 -E 'Test unit written to' "$logfile" >&2 || true
  fi
  report+=("$(printf '%-18s %12s executions  %d crashes' "$target" "${execs:-?}" "$crashes")")
done

printf '\n%s\n' "fuzz targets, ${SECONDS_PER_TARGET} s each (seed $seed, 0 = random):" >&2
printf '  %s\n' "${report[@]}" >&2
if [ ${#failed[@]} != 0 ]; then
  die "crashes in: ${failed[*]} (reproduce: scripts/fuzz.sh --repro TARGET fuzz/artifacts/TARGET/crash-…; logs in $FUZZ_LOGS)"
fi
