#!/usr/bin/env python3
"""Starts a local Chroma server (the PyPI package chromadb's own Rust server,
which scripts/setup.sh installs into its cache without the Python client's
dependencies) on loopback, for recagent's tests and benchmarks.

    python3 scripts/chroma_server.py --path DIR --port PORT [--cors ORIGIN ...]

The chromadb package must be importable (PYTHONPATH=$RECAGENT_CACHE/tools/chroma).
It writes DIR/chroma.yaml (persistence in DIR/data, the CORS origins allowed,
`*` when none are given) and runs until killed.
"""
import argparse
import json
import os
import sys


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--path", required=True, help="folder for the configuration and the data")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cors", action="append", default=[], help="an origin allowed by CORS (repeatable)")
    args = p.parse_args()
    try:
        import chromadb_rust_bindings
    except ImportError as e:
        sys.exit(f"chroma_server: chromadb is not importable ({e}); run scripts/setup.sh and set "
                 "PYTHONPATH to $RECAGENT_CACHE/tools/chroma")
    os.makedirs(args.path, exist_ok=True)
    config = os.path.join(args.path, "chroma.yaml")
    # JSON is YAML: no YAML writer needed.
    with open(config, "w") as f:
        json.dump({
            "port": args.port,
            "listen_address": "127.0.0.1",
            "persist_path": os.path.join(args.path, "data"),
            "cors_allow_origins": args.cors or ["*"],
        }, f)
    chromadb_rust_bindings.cli(["chroma", "run", config])


if __name__ == "__main__":
    main()
