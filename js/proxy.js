// The main-thread side of recagent's worker mode and encoder pool: spawns the
// module worker (`worker.js`, bundlers follow `new URL(..., import.meta.url)`),
// sends calls, runs the callbacks the worker asks for (onProgress, onStep,
// onToken, approve, an app tool's `run`) and forwards AbortSignals. The Rust
// classes `RecommenderWorker` and `EncoderPool` (src/worker.rs, src/pool.rs) wrap the
// objects made here; see the protocol at the top of worker.js.

import { CHUNKS, ENGINE, FN, PROTOCOL, SIGNAL, WORKER_METHODS, errorData, errorFromData, recagentError } from './protocol.js';

/**
 * One module worker and its calls. `module` is the page's compiled
 * WebAssembly.Module: the worker instantiates it instead of fetching and
 * compiling the .wasm again, and shares V8's optimized code with the page
 * and the other workers.
 */
class Channel {
  constructor(module) {
    try {
      this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    } catch (e) {
      // A Content-Security-Policy without 'self' for workers, or no Worker here.
      throw recagentError('worker_failed', `cannot start a worker: ${e.message}`);
    }
    this.pending = new Map();
    this.functions = new Map();
    this.nextId = 1;
    this.dead = null;
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      this.fail(`the worker failed: ${event.message || 'its script did not load (check the worker-src / script-src policy and that the file is served)'}`);
    };
    this.worker.onmessageerror = () => this.fail('a message from the worker could not be read');
    try {
      this.worker.postMessage({ type: 'init', module });
    } catch {
      this.worker.postMessage({ type: 'init', module: null }); // not cloneable here: the worker fetches the .wasm
    }
  }

  /** Rejects every pending call and refuses later ones. */
  fail(message) {
    if (this.dead) return;
    this.dead = message;
    for (const call of this.pending.values()) call.reject(recagentError('worker_failed', message));
    this.pending.clear();
    this.worker.terminate();
  }

  terminate() {
    this.fail('the worker was terminated');
  }

  /**
   * Functions become ids (run here when the worker calls them, listed in
   * `owned`); signals forward their abort (and are listed in `signals`).
   */
  marshal(value, owned, depth = 0, signals = []) {
    if (typeof value === 'function') {
      const id = this.nextId++;
      this.functions.set(id, value);
      owned.push(id);
      return { [FN]: id };
    }
    if (value === null || typeof value !== 'object' || depth > 4 || ArrayBuffer.isView(value)) return value;
    if (value instanceof ArrayBuffer) return value;
    if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) return value;
    if (typeof AbortSignal !== 'undefined' && value instanceof AbortSignal) {
      const id = this.nextId++;
      if (!value.aborted) {
        value.addEventListener('abort', () => this.post({ type: 'abort', signal: id }), { once: true });
      }
      signals.push(value);
      return { [SIGNAL]: id, aborted: value.aborted };
    }
    if (Array.isArray(value)) return value.map((v) => this.marshal(v, owned, depth + 1, signals));
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.marshal(v, owned, depth + 1, signals)]));
  }

  post(message) {
    if (!this.dead) this.worker.postMessage(message);
  }

  /**
   * Calls `method` in the worker; resolves to its result. The functions in
   * `args` stay callable until the call settles, or for the worker's
   * lifetime when `keep` (a registered tool's `run`, a `memory.on` listener).
   * A call whose AbortSignal has fired rejects with the signal's `reason`
   * (an `AbortError` DOMException unless the app gave another), as the
   * platform's own APIs and the main thread's `Recommender` do.
   */
  call(method, args, { keep = false } = {}) {
    if (this.dead) return Promise.reject(recagentError('worker_failed', this.dead));
    const owned = [];
    const signals = [];
    let message;
    try {
      message = { type: 'call', id: this.nextId++, method, args: this.marshal(args, owned, 0, signals) };
    } catch (e) {
      return Promise.reject(e);
    }
    const reason = (e) => signals.find((s) => s.aborted)?.reason ?? e;
    return new Promise((resolve, reject) => {
      const release = () => {
        if (!keep) for (const id of owned) this.functions.delete(id);
      };
      this.pending.set(message.id, {
        resolve: (v) => { release(); resolve(v); },
        reject: (e) => { release(); reject(reason(e)); },
      });
      try {
        this.worker.postMessage(message);
      } catch (e) {
        this.pending.delete(message.id);
        release();
        reject(recagentError('invalid_input', `${method}: an argument cannot be sent to the worker (${e.message})`));
      }
    });
  }

  async receive(data) {
    if (data.type === 'hello') {
      if (data.protocol !== PROTOCOL) this.fail(`worker protocol ${data.protocol}, expected ${PROTOCOL}`);
    } else if (data.type === 'result') {
      const call = this.pending.get(data.id);
      this.pending.delete(data.id);
      if (data.info) this.onInfo?.(data.info);
      if (!call) return;
      if (data.ok) call.resolve(data.value);
      else call.reject(errorFromData(data.error));
    } else if (data.type === 'callback') {
      const fn = this.functions.get(data.fn);
      let reply;
      try {
        if (!fn) throw new Error('the callback is no longer available');
        reply = { type: 'reply', reply: data.reply, ok: true, value: await fn(...data.args) };
        this.worker.postMessage(reply);
        return;
      } catch (e) {
        reply = { type: 'reply', reply: data.reply, ok: false, error: errorData(e) };
      }
      this.post(reply);
    }
  }
}

const nothing = () => {};

/** Most texts per chunk a worker pulls. */
const CHUNK = 16;

/**
 * Starts a worker and creates a Recommender in it. `urlKeys` names the
 * options holding URLs (decided by Rust): they are resolved against the
 * page here, since the worker would resolve them against its own script,
 * and progress events report them as the app wrote them.
 */
export async function createRecommenderWorker(options, urlKeys, module) {
  const opts = { ...options };
  const names = new Map();
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  for (const key of urlKeys) {
    const absolute = new URL(opts[key], base).href;
    names.set(absolute, opts[key]);
    opts[key] = absolute;
  }
  if (typeof opts.onProgress === 'function') {
    const onProgress = opts.onProgress;
    opts.onProgress = (event) => onProgress(event.file === undefined ? event : { ...event, file: names.get(event.file) ?? event.file });
  }
  const channel = new Channel(module);
  try {
    const info = await channel.call('create', [opts], { keep: true });
    return new RecommenderClient(channel, info);
  } catch (e) {
    channel.terminate();
    throw e;
  }
}

/**
 * `(url, options)` arguments (`loadImageModel`'s) with the URL resolved
 * against the page (the worker would resolve it against its own script) and
 * progress events naming it as the app wrote it.
 */
function resolvePageUrl([url, options]) {
  const base = globalThis.document?.baseURI ?? globalThis.location?.href;
  const absolute = new URL(url, base).href;
  if (typeof options?.onProgress !== 'function') return [absolute, options];
  const onProgress = options.onProgress;
  return [absolute, { ...options, onProgress: (event) => onProgress(event.file === absolute ? { ...event, file: url } : event) }];
}

/**
 * `setLlm` settings whose `engine` (an in-page model: WebLLM's MLCEngine,
 * createWllamaEngine's result) stays on the page: the worker gets two
 * functions it calls by message, `create` and `interrupt`. A streamed answer
 * (an async iterable) is read here and relayed whole: in worker mode the
 * tokens reach `onToken` at the end of each model call.
 */
function engineSettings(settings) {
  const { engine } = settings;
  const completions = engine?.chat?.completions;
  if (typeof completions?.create !== 'function') return settings; // the worker's setLlm says what is wrong
  const create = async (request) => {
    const answer = await completions.create(request);
    if (answer && typeof answer[Symbol.asyncIterator] === 'function') {
      const chunks = [];
      for await (const chunk of answer) chunks.push(chunk);
      return { [CHUNKS]: chunks };
    }
    return answer;
  };
  const interrupt = () => engine.interruptGenerate?.();
  return { ...settings, engine: { [ENGINE]: true, create, interrupt } };
}

/** The main-thread handle of a Recommender living in a worker. */
export class RecommenderClient {
  constructor(channel, info) {
    this.channel = channel;
    this.snapshot = info;
    // Every call's result carries size, memoryBytes, hasImageModel and lastCandidates, so they follow addItem & co.
    channel.onInfo = (fresh) => { this.snapshot = { ...this.snapshot, ...fresh }; };
  }

  /** Forwards `method` (one of `WORKER_METHODS`, whose entry says how) with `args` to the worker. */
  call(method, args) {
    const how = WORKER_METHODS.get(method);
    if (!how) return Promise.reject(recagentError('invalid_input', `unknown worker method ${method}`));
    if (how.pageUrl && typeof args[0] === 'string') args = resolvePageUrl(args);
    if (how.engine && args[0]?.engine) args = [engineSettings(args[0]), ...args.slice(1)];
    return this.channel.call(method, args, { keep: how.keep === true });
  }

  /** A value `create` reported (size, namespace, …; `memory.persistent` as "memory.persistent"). */
  info(key) {
    return key.split('.').reduce((v, k) => v?.[k], this.snapshot);
  }

  terminate() {
    this.channel.terminate();
  }
}

/** Why the pool runs one worker, or null. */
function singleReason(requested, isolated) {
  if (requested <= 1 || isolated) return null;
  return `EncoderPool: ${requested} workers were asked for but the page is not crossOriginIsolated, ` +
    'so the pool runs 1 worker (encoding still leaves the main thread). Several workers share one ' +
    'SharedArrayBuffer, which browsers allow only on crossOriginIsolated pages: serve the page with ' +
    '"Cross-Origin-Opener-Policy: same-origin" and "Cross-Origin-Embedder-Policy: require-corp" ' +
    '(or "credentialless").';
}

/** Starts the pool's workers, each loading the text model. */
export async function createEncoderPool(model, vocab, requested, module, textOptions) {
  const hardware = Math.max(1, Number(globalThis.navigator?.hardwareConcurrency) || 1);
  const want = Math.max(1, Math.floor(requested ?? hardware));
  const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
  const reason = singleReason(want, isolated);
  if (reason) console.warn(`recagent: ${reason}`);
  const size = reason ? 1 : want;
  const channels = Array.from({ length: size }, () => new Channel(module));
  try {
    const dims = await Promise.all(channels.map((c) => c.call('initEncoder', [model, vocab, textOptions])));
    const threads = { requested: want, workers: size, hardwareConcurrency: hardware, crossOriginIsolated: isolated, sharedMemory: isolated, reason };
    return new PoolClient(channels, dims[0].dim, threads);
  } catch (e) {
    for (const c of channels) c.terminate();
    throw e;
  }
}

/** The main-thread handle of the encoder pool. */
export class PoolClient {
  constructor(channels, dim, threads) {
    this.channels = channels;
    this.dim = dim;
    this.threads = threads;
    this.queue = Promise.resolve();
  }

  get size() {
    return this.channels.length;
  }

  /** Embeds `texts` (a non-empty array, checked by Rust); one batch at a time. */
  embedBatch(texts, options = {}) {
    const run = this.queue.then(() => this.run(texts, options ?? {}));
    this.queue = run.catch(nothing);
    return run;
  }

  async run(texts, { onProgress, signal }) {
    if (signal?.aborted) throw signal.reason;
    const n = texts.length;
    const dim = this.dim;
    // Longest first, so the last chunks (pulled when the others are done) are the shortest.
    const order = Int32Array.from(texts.keys()).sort((a, b) => texts[b].length - texts[a].length || a - b);
    // The same chunk size whatever the worker count (tract is faster on small padded batches,
    // so pools of different sizes compare fairly), smaller for small batches so every worker gets work.
    const chunk = Math.max(1, Math.min(CHUNK, Math.ceil(n / (this.channels.length * 4))));
    let done = 0;
    const progress = onProgress ? (k) => { done += k; onProgress({ phase: 'embed', loaded: done, total: n }); } : undefined;
    if (!this.threads.sharedMemory) {
      return this.channels[0].call('embedChunks', [{ texts, order, chunk, onProgress: progress, signal }]);
    }
    const ctrl = new SharedArrayBuffer(8);
    const out = new SharedArrayBuffer(n * dim * 4);
    const stop = () => Atomics.store(new Int32Array(ctrl), 1, 1);
    signal?.addEventListener('abort', stop, { once: true });
    try {
      await Promise.all(this.channels.map((c) =>
        c.call('embedChunks', [{ texts, order, chunk, ctrl, out, onProgress: progress, signal }])));
    } catch (e) {
      stop();
      throw signal?.aborted ? signal.reason : e;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
    // A plain Float32Array for the app (a SharedArrayBuffer view surprises some APIs).
    return new Float32Array(new Float32Array(out));
  }

  terminate() {
    for (const c of this.channels) c.terminate();
  }
}
