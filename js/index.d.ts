// Types of the package's entry point (js/index.js): everything the
// wasm-bindgen glue declares, and an `init` that is optional because every
// `create` starts the module itself.
export * from "./recagent.js";
import type { InitInput, InitOutput } from "./recagent.js";

/**
 * Instantiates the WebAssembly module once per page; later calls return the
 * same promise. Optional: `Recommender.create`, `RecommenderWorker.create`,
 * `TextEmbedder.create`, `ImageEmbedder.create`, `EncoderPool.create`,
 * `Recommender.clearCache` and `createWllamaEngine` call it. Call it first
 * only to load the `.wasm` from somewhere other than beside the glue (a
 * URL, a `Response`, bytes or a compiled `WebAssembly.Module`).
 */
export default function init(
  input?: InitInput | Promise<InitInput> | { module_or_path: InitInput | Promise<InitInput> },
): Promise<InitOutput>;

/** Whether the module is being or has been instantiated. */
export function isInitialized(): boolean;
