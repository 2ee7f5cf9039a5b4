// The package's entry point (`"exports": { ".": … }`): everything the
// wasm-bindgen glue (`recagent.js`) exports, with the module initialised on
// demand. `Recommender.create`, `RecommenderWorker.create`,
// `TextEmbedder.create`, `ImageEmbedder.create`, `EncoderPool.create`,
// `Recommender.clearCache` and `createWllamaEngine` first instantiate the
// `.wasm` (once per page; by default the file beside the glue, found with
// `new URL("recagent_bg.wasm", import.meta.url)`, which bundlers follow), so
// an app never calls `init()` itself. To load the `.wasm` from elsewhere,
// call `init(urlOrModule)` before anything else, or give
// `Recommender.create` the `wasm` option.
//
// `package.json` lists this file in `sideEffects`: its only statements
// outside functions attach the initialisation to those static methods.
import initGlue, * as glue from './recagent.js';

export * from './recagent.js';

let started = null;

/**
 * Instantiates the module once; later calls return the same promise (a
 * failed start may be retried). `input` is what the glue's init takes: a
 * URL, a `Response`, bytes or a compiled `WebAssembly.Module`, optionally as
 * `{ module_or_path }`.
 */
export default function init(input) {
  if (started === null) {
    const arg = input === undefined || input === null || (typeof input === 'object' && 'module_or_path' in input)
      ? input ?? undefined
      : { module_or_path: input };
    started = initGlue(arg).catch((error) => {
      started = null;
      throw error;
    });
  }
  return started;
}

/** Whether the module is being or has been instantiated. */
export function isInitialized() {
  return started !== null;
}

/** Reports `{ phase: 'compile', file, loaded, total }` around the module's start, once. */
async function start(wasm, onProgress) {
  const first = started === null;
  const report = (loaded) => {
    if (first && typeof onProgress === 'function') {
      try {
        onProgress({ phase: 'compile', file: 'recagent_bg.wasm', loaded, total: 1 });
      } catch {
        // A throwing progress callback must not fail the start.
      }
    }
  };
  report(0);
  await init(wasm);
  report(1);
}

/** `cls[name]` instantiates the module before it runs; `options` is argument 0 when `withOptions`. */
function initialiseBefore(cls, name, withOptions) {
  const original = cls[name];
  if (typeof original !== 'function') return;
  Object.defineProperty(cls, name, {
    configurable: true,
    writable: true,
    value: async function (...args) {
      let options = args[0];
      if (withOptions && options !== null && typeof options === 'object' && 'wasm' in options) {
        const { wasm, ...rest } = options;
        await start(wasm, rest.onProgress);
        options = rest;
        args = [rest, ...args.slice(1)];
      } else {
        await start(undefined, withOptions ? options?.onProgress : undefined);
      }
      return original.apply(this, args);
    },
  });
}

initialiseBefore(glue.Recommender, 'create', true);
initialiseBefore(glue.Recommender, 'clearCache', false);
initialiseBefore(glue.RecommenderWorker, 'create', true);
initialiseBefore(glue.TextEmbedder, 'create', false);
initialiseBefore(glue.ImageEmbedder, 'create', false);
initialiseBefore(glue.EncoderPool, 'create', true);

/** Like the glue's `createWllamaEngine`, with the module started first. */
export async function createWllamaEngine(options) {
  await init();
  return glue.createWllamaEngine(options);
}
