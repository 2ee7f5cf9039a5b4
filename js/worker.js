// The worker side of recagent's worker mode (`RecommenderWorker`) and of the
// encoder pool (`EncoderPool`): a module Web Worker that loads the package's
// own glue, runs a real `Recommender` or `TextEmbedder` and answers the
// main thread's `proxy.js` over postMessage.
//
// wasm-bindgen copies this file to pkg/snippets/recagent-<hash>/js/worker.js,
// three folders below pkg/recagent.js, hence the relative import of the glue
// by the package's own name (a crate that re-exports recagent under another
// glue name cannot use worker mode). Only a worker loads this file: proxy.js
// starts it with `new URL("./worker.js", import.meta.url)`, and Rust declares
// an import from it only so that wasm-bindgen ships it (never called, so the
// glue does not import it and the page never loads it).
//
// Messages (all plain, structured-cloneable):
//   main → worker  { type: "init", module }                   first: the page's WebAssembly.Module (or null: fetch the .wasm)
//   main → worker  { type: "call", id, method, args }        → { type: "result", id, ok, value | error }
//   worker → main  { type: "callback", fn, args, reply }      → { type: "reply", reply, ok, value | error }
//   main → worker  { type: "abort", signal }                  (an AbortSignal given in args fired)
//   worker → main  { type: "hello", protocol }                once, when this module has loaded
// Functions and AbortSignals in args travel as { [FN]: id } / { [SIGNAL]: id, aborted }.
// A call's method is `create`, `initEncoder`, `embedChunks`, or one of WORKER_METHODS
// (protocol.js: the one list of the worker's API, which the proxy forwards from too).

import init, { Recommender, TextEmbedder } from '../../../recagent.js';
import {
  CHUNKS, ENGINE, FN, MEMORY_PREFIX, PROTOCOL, SIGNAL, WORKER_METHODS, errorData, errorFromData, recagentError,
} from './protocol.js';

/** The protocol version this worker speaks (what Rust names to make wasm-bindgen ship the file). */
export function workerProtocol() {
  return PROTOCOL;
}

const inWorker = typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope;

if (inWorker) {
  let provideModule;
  const ready = new Promise((resolve) => { provideModule = resolve; })
    .then((module) => init(module ? { module_or_path: module } : undefined));
  const replies = new Map();
  const controllers = new Map();
  let nextReply = 1;
  let recommender = null;
  let embedder = null;

  /** A stand-in for a main-thread function: calls it there, resolves to its result. */
  const stub = (fn) => (...args) =>
    new Promise((resolve, reject) => {
      const reply = nextReply++;
      replies.set(reply, { resolve, reject });
      try {
        postMessage({ type: 'callback', fn, args, reply });
      } catch (e) {
        replies.delete(reply);
        reject(e);
      }
    });

  /** Replaces function and signal markers with stubs and local AbortSignals. */
  const unmarshal = (value, depth = 0) => {
    if (value === null || typeof value !== 'object' || depth > 4 || ArrayBuffer.isView(value)) return value;
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) {
      return value;
    }
    if (typeof value[FN] === 'number') return stub(value[FN]);
    if (typeof value[SIGNAL] === 'number') {
      const controller = new AbortController();
      controllers.set(value[SIGNAL], controller);
      if (value.aborted) controller.abort();
      return controller.signal;
    }
    if (Array.isArray(value)) return value.map((v) => unmarshal(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unmarshal(v, depth + 1)]));
  };

  // Lets queued messages (an abort) in between two chunks, without the 4 ms clamp of setTimeout.
  const channel = new MessageChannel();
  const yieldToEvents = () =>
    new Promise((resolve) => {
      channel.port1.onmessage = () => resolve();
      channel.port2.postMessage(0);
    });

  /** The getters' values that calls can change (cheap: no serialization). */
  const changing = (r) => ({ size: r.size, memoryBytes: r.memoryBytes, hasImageModel: r.hasImageModel, lastCandidates: r.lastCandidates });

  /** What the proxy keeps of a recommender for its synchronous getters. */
  const snapshot = (r) => {
    const m = r.memory;
    return {
      size: r.size, memoryBytes: r.memoryBytes, namespace: r.namespace, hasImageModel: r.hasImageModel,
      attributes: r.attributes,
      memory: { persistent: m.persistent, fallbackReason: m.fallbackReason, databaseName: m.databaseName },
    };
  };

  /**
   * Embeds the chunks of one pool batch this worker pulls. `order` lists the
   * text indices longest first; chunk c is order[c*chunk .. (c+1)*chunk].
   * Shared mode (crossOriginIsolated): the next chunk comes from an atomic
   * counter (ctrl[0]), ctrl[1] = 1 aborts, rows go straight into `out` (a
   * SharedArrayBuffer). Otherwise this is the only worker: it takes every
   * chunk in turn and returns the rows.
   */
  const embedChunks = async ({ texts, order, chunk, ctrl, out, onProgress, signal }) => {
    if (!embedder) throw recagentError('worker_failed', 'the encoder is not loaded');
    const dim = embedder.dim;
    const counter = ctrl ? new Int32Array(ctrl) : new Int32Array(2);
    const rows = out ? new Float32Array(out) : new Float32Array(texts.length * dim);
    const chunks = Math.ceil(order.length / chunk);
    for (;;) {
      await yieldToEvents();
      if (signal?.aborted || Atomics.load(counter, 1) === 1) {
        throw recagentError('aborted', 'aborted: the batch was cancelled');
      }
      const c = Atomics.add(counter, 0, 1);
      if (c >= chunks) break;
      const indices = order.slice(c * chunk, (c + 1) * chunk);
      const vectors = embedder.embedBatch(Array.from(indices, (i) => texts[i]));
      vectors.forEach((v, k) => rows.set(v, indices[k] * dim));
      onProgress?.(indices.length)?.catch?.(() => {});
    }
    return out ? null : rows;
  };

  /**
   * The page's in-page engine as the worker sees it (proxy.js engineSettings):
   * `create` runs on the page, a relayed stream becomes an async iterable again.
   */
  const pageEngine = ({ create, interrupt }) => ({
    chat: {
      completions: {
        create: async (request) => {
          const answer = await create(request);
          if (!Array.isArray(answer?.[CHUNKS])) return answer;
          return (async function* chunks() { yield* answer[CHUNKS]; })();
        },
      },
    },
    interruptGenerate: () => { interrupt().catch(() => {}); },
  });

  const run = async (method, args) => {
    await ready;
    if (method === 'create') {
      recommender = await Recommender.create(...args);
      return snapshot(recommender);
    }
    if (method === 'initEncoder') {
      embedder = await TextEmbedder.create(...args);
      return { dim: embedder.dim };
    }
    if (method === 'embedChunks') return embedChunks(...args);
    if (!recommender) throw recagentError('worker_failed', `${method}: no recommender in this worker`);
    // The allow-list: only what WORKER_METHODS names runs.
    if (!WORKER_METHODS.has(method)) throw recagentError('invalid_input', `unknown worker method ${method}`);
    if (WORKER_METHODS.get(method).engine && args[0]?.engine?.[ENGINE]) {
      args = [{ ...args[0], engine: pageEngine(args[0].engine) }, ...args.slice(1)];
    }
    if (method.startsWith(MEMORY_PREFIX)) {
      const memory = recommender.memory;
      return memory[method.slice(MEMORY_PREFIX.length)](...args);
    }
    return recommender[method](...args);
  };

  self.onmessage = async ({ data }) => {
    if (data.type === 'init') {
      provideModule(data.module);
    } else if (data.type === 'reply') {
      const waiting = replies.get(data.reply);
      replies.delete(data.reply);
      if (!waiting) return;
      if (data.ok) waiting.resolve(data.value);
      else waiting.reject(errorFromData(data.error));
    } else if (data.type === 'abort') {
      controllers.get(data.signal)?.abort();
    } else if (data.type === 'call') {
      let message;
      try {
        const value = await run(data.method, unmarshal(data.args));
        const transfer = value instanceof Float32Array ? [value.buffer] : [];
        message = { type: 'result', id: data.id, ok: true, value: value === undefined ? undefined : value };
        // Calls can change what the proxy's getters report (addItem, removeItem, memory.import,
        // forgetEverything: size and memoryBytes; loadImageModel: hasImageModel), so every result
        // carries those three; the rest of the snapshot is fixed at create.
        if (recommender) message.info = changing(recommender);
        try {
          postMessage(message, transfer);
          return;
        } catch (e) {
          message = { type: 'result', id: data.id, ok: false, error: errorData(e) };
        }
      } catch (e) {
        message = { type: 'result', id: data.id, ok: false, error: errorData(e) };
      }
      postMessage(message);
    }
  };
  postMessage({ type: 'hello', protocol: PROTOCOL });
}
