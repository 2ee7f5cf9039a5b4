// What recagent's main-thread proxy (proxy.js) and its worker (worker.js)
// share: the message protocol version, the worker's API (one list: the
// proxy forwards and the worker runs only what it names), how functions,
// signals and errors travel, and the one JS function that builds a
// RecagentError. No import of the package's glue here: the page loads this file.

/** Version of the message protocol; the worker announces it, the proxy checks it. */
export const PROTOCOL = 1;

/** Marks a function argument: `{ [FN]: id }` (the worker calls it back by id). */
export const FN = '__recagentFunction';

/** Marks an AbortSignal argument: `{ [SIGNAL]: id, aborted }`. */
export const SIGNAL = '__recagentSignal';

/**
 * Marks an in-page engine given to `setLlm` in worker mode:
 * `{ [ENGINE]: true, create, interrupt }` (two functions the worker calls back).
 * The engine stays on the page; the worker calls it by message.
 */
export const ENGINE = '__recagentEngine';

/** Marks a streamed engine answer relayed whole: `{ [CHUNKS]: chunk[] }` (an async iterable cannot be posted). */
export const CHUNKS = '__recagentChunks';

/**
 * The worker's API: every method of `RecommenderWorker`, and of its `memory`
 * as `"memory.<name>"`, that the proxy forwards and the worker runs (the
 * worker's allow-list; its set-up methods `create`, `initEncoder` and
 * `embedChunks` are the protocol's own). What each entry says:
 * `keep`: the function arguments stay callable for the worker's lifetime
 * (a registered tool's `run`, a `memory.on` listener, an in-page engine),
 * not only until the call settles; `pageUrl`: a string first argument is a
 * URL the proxy resolves against the page; `engine`: the first argument's
 * `engine` (an in-page model) stays on the page and is called by message.
 */
export const WORKER_METHODS = new Map(Object.entries({
  recommend: {}, observe: {}, item: {}, profile: {}, restoreProfile: {}, resetProfile: {}, saveProfile: {},
  setLlm: { keep: true, engine: true }, setPolicy: {}, policy: {}, registerTool: { keep: true }, unregisterTool: {}, ask: {},
  ledger: {}, clearLedger: {}, resetConversation: {}, addItem: {}, removeItem: {}, addedItems: {},
  itemPhoto: {}, searchByPhoto: {}, loadImageModel: { pageUrl: true },
  'memory.remember': {}, 'memory.recall': {}, 'memory.list': {}, 'memory.correct': {}, 'memory.forget': {},
  'memory.consolidate': {}, 'memory.export': {}, 'memory.import': {}, 'memory.forgetEverything': {},
  'memory.estimate': {}, 'memory.on': { keep: true },
}));

/** The prefix of the worker methods that run on the recommender's `memory`. */
export const MEMORY_PREFIX = 'memory.';

/**
 * A JS error shaped like every recagent error (`name` "RecagentError" and a
 * stable `code`): the one place the JS side builds one (Rust's is
 * `interop::js_error`).
 */
export function recagentError(code, message) {
  const e = new Error(message);
  e.name = 'RecagentError';
  e.code = code;
  return e;
}

/** An error as plain data (name, code, message) for postMessage. */
export function errorData(e) {
  if (e && typeof e === 'object') {
    return { name: String(e.name ?? 'Error'), code: e.code, message: String(e.message ?? e) };
  }
  return { name: 'Error', code: undefined, message: String(e) };
}

/**
 * The error `errorData` described, rebuilt on the receiving side: a
 * RecagentError with its code, a built-in error kind as that kind, any
 * other as an Error with its name.
 */
export function errorFromData(data) {
  if (data.name === 'RecagentError') return recagentError(data.code, data.message);
  const Kind = { TypeError, RangeError, SyntaxError, ReferenceError }[data.name] ?? Error;
  const e = new Kind(data.message);
  if (Kind === Error && data.name) e.name = data.name;
  return e;
}
