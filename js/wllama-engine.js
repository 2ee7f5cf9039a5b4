// recagent's adapter for @wllama/wllama (llama.cpp compiled to WebAssembly,
// CPU): loads a GGUF model and exposes it with the `chat.completions.create`
// shape of WebLLM's MLCEngine, which `setLlm({ engine })` takes. wllama runs
// its wasm in its own Web Worker, so generation never blocks the page.
//
// The package does not bundle wllama: it is an optional peer dependency the
// app installs and passes in (`Wllama`, the class it exports), so an app
// without the in-page model never loads it. Rust exports this as
// `createWllamaEngine` (src/agent_engine.rs checks the options first);
// wasm-bindgen ships the file as a snippet, loaded by the package's glue.

import { recagentError } from './protocol.js';

/** A logger that keeps wllama's debug and info lines out of the console. */
const quiet = {
  debug: () => {},
  log: () => {},
  warn: (...args) => console.warn('wllama:', ...args),
  error: (...args) => console.error('wllama:', ...args),
};

/** A URL resolved against the page (wllama's worker is a blob: URL with no useful base). */
function absolute(url) {
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  return new URL(url, base).href;
}

/** wllama's load and download errors as RecagentErrors. */
function loadError(e, what) {
  if (e?.name === 'RecagentError') return e;
  const type = e?.type;
  const message = `${what}: ${e?.message ?? e}`;
  if (e?.name === 'AbortError' || e?.name === 'WllamaAbortError') return recagentError('aborted', message);
  if (type === 'download_error') return recagentError('network_error', message);
  if (type === 'load_error') return recagentError('invalid_model', message);
  return recagentError('inference_failed', message);
}

/**
 * Loads the model and returns the engine. Options (checked by Rust before
 * this runs): `Wllama` (the class of @wllama/wllama), `modelUrl` or
 * `modelBytes`, `wasmPath` (URL of wllama's `wllama.wasm`), `nCtx`,
 * `nThreads`, `maxTokens`, `onProgress`, `useCache`.
 */
export async function loadWllamaEngine(options) {
  const {
    Wllama, modelUrl, modelBytes, wasmPath, nCtx = 2048, nThreads, maxTokens, onProgress, useCache = true,
  } = options;
  const started = performance.now();
  const wllama = new Wllama({ default: absolute(wasmPath) }, { logger: quiet, suppressNativeLog: true });
  // CPU only (n_gpu_layers 0): the same result on every machine, and no WebGPU adapter needed.
  const params = { n_ctx: nCtx, n_gpu_layers: 0, ...(nThreads ? { n_threads: nThreads } : {}) };
  try {
    if (modelBytes) {
      const bytes = modelBytes instanceof ArrayBuffer ? new Uint8Array(modelBytes) : modelBytes;
      if (String.fromCharCode(...bytes.subarray(0, 4)) !== 'GGUF') {
        throw recagentError('invalid_model', 'the model bytes are not a GGUF file (they do not start with "GGUF")');
      }
      onProgress?.({ phase: 'download', file: 'modelBytes', loaded: bytes.byteLength, total: bytes.byteLength });
      await wllama.loadModel([new Blob([bytes])], params);
    } else {
      await wllama.loadModelFromUrl(absolute(modelUrl), {
        ...params,
        useCache,
        progressCallback: onProgress
          ? ({ loaded, total }) => onProgress({ phase: 'download', file: modelUrl, loaded, total: total || 0 })
          : undefined,
      });
    }
    if (wllama.isModelLoaded?.() === false) throw recagentError('invalid_model', 'wllama loaded no model');
  } catch (e) {
    await wllama.exit().catch(() => {});
    throw loadError(e, `wllama could not load ${modelUrl ?? 'the model bytes'}`);
  }
  const loadMs = performance.now() - started;
  let controller = null;
  const create = async (request) => {
    // One generation at a time (wllama has one context); an interrupt aborts the current one.
    controller = new AbortController();
    const params = { ...request, abortSignal: controller.signal };
    delete params.model; // one model is loaded: the name means nothing here
    if (maxTokens) params.max_tokens = Math.min(request.max_tokens ?? maxTokens, maxTokens);
    return wllama.createChatCompletion(params);
  };
  return {
    chat: { completions: { create } },
    interruptGenerate() {
      controller?.abort();
    },
    /** Unloads the model and ends wllama's worker. */
    unload: () => wllama.exit(),
    /** The Wllama instance, for anything else wllama offers. */
    wllama,
    /** Milliseconds the download and load took. */
    loadMs,
    /** The model's chat template (from the GGUF), or null. */
    chatTemplate: wllama.getChatTemplate?.() ?? null,
  };
}
