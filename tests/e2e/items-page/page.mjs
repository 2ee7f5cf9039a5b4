// Driven by tests/e2e/items.test.mjs through `window.t`: `Recommender.create({ items })`
// (the shop example's products) with the encoder pool and on the calling
// thread, progress phases, abort, `persist: false`, the IndexedDB cache of
// built catalogs, worker mode and `textOptions`. Served from the repository
// root; imports the package entry, so nothing calls init().
import { Recommender, RecommenderWorker, TextEmbedder, isInitialized } from "/pkg/index.js";

const MODEL = { textModel: "/assets/minilm-int8.onnx", vocab: "/assets/vocab.txt" };
const QUERY = "something warm and waterproof for hiking in the rain";
const products = await (await fetch("/examples/shop/products.json")).json();
const errorOf = (e) => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e), isDom: e instanceof DOMException });
const databases = async () => (await indexedDB.databases()).map((d) => d.name).sort();

/** Creates from `items` (default: the products); resolves to what a test compares. */
async function build({ items = products, worker = false, ...options } = {}) {
  const events = [];
  const started = performance.now();
  const rec = await (worker ? RecommenderWorker : Recommender).create({
    items, ...MODEL, ...options, onProgress: (e) => events.push({ ...e }),
  });
  const ms = Math.round(performance.now() - started);
  const list = await rec.recommend({ k: 10, query: QUERY });
  const out = {
    ms, size: rec.size, ids: list.map((r) => r.id), scores: list.map((r) => r.score),
    categories: list.map((r) => products.find((p) => p.id === r.id)?.attributes.category),
    events, attributes: rec.attributes.map((a) => `${a.name}:${a.kind}`),
    persistent: rec.memory.persistent, databases: await databases(),
  };
  if (worker) rec.terminate?.();
  return out;
}

/** Rejects how? `abortWith`: the reason given to abort(), or none. */
async function aborted({ abortWith, namespace, when = "embed" }) {
  const controller = new AbortController();
  const events = [];
  try {
    await Recommender.create({
      items: products, ...MODEL, namespace, persist: false,
      signal: controller.signal,
      onProgress: (e) => {
        events.push(e.phase);
        if (e.phase === when && !controller.signal.aborted) {
          if (abortWith === undefined) controller.abort();
          else controller.abort(new Error(abortWith));
        }
      },
    });
    return { resolved: true, events };
  } catch (e) {
    return { ...errorOf(e), events };
  }
}

async function rejected(options) {
  try {
    await Recommender.create({ ...MODEL, persist: false, ...options });
    return "resolved";
  } catch (e) {
    return errorOf(e);
  }
}

/** The first values of one text's embedding with `options` (TextModelOptions). */
async function embedding(options) {
  const [model, vocab] = await Promise.all([
    fetch(MODEL.textModel).then((r) => r.arrayBuffer()).then((b) => new Uint8Array(b)),
    fetch(MODEL.vocab).then((r) => r.text()),
  ]);
  try {
    const e = await TextEmbedder.create(model, vocab, options);
    const v = e.embed(QUERY);
    return { head: Array.from(v.slice(0, 4)), norm: Math.hypot(...v) };
  } catch (e) {
    return errorOf(e);
  }
}

window.t = { build, aborted, rejected, embedding, databases, products: products.length, initialized: isInitialized() };
window.tReady = true;
document.getElementById("status").textContent = "ready";
