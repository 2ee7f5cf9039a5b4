// What recagent's main-thread proxy (proxy.js) and its worker (worker.js)
// share: the message protocol version and how functions, signals and errors
// travel. No import of the package's glue here: the page loads this file.

/** Version of the message protocol; the worker announces it, the proxy checks it. */
export const PROTOCOL = 1;

/** Marks a function argument: `{ [FN]: id }` (the worker calls it back by id). */
export const FN = '__recagentFunction';

/** Marks an AbortSignal argument: `{ [SIGNAL]: id, aborted }`. */
export const SIGNAL = '__recagentSignal';

/** An error as plain data (name, code, message) for postMessage. */
export function errorData(e) {
  if (e && typeof e === 'object') {
    return { name: String(e.name ?? 'Error'), code: e.code, message: String(e.message ?? e) };
  }
  return { name: 'Error', code: undefined, message: String(e) };
}
