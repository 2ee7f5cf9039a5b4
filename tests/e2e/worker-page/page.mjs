// Driven by tests/e2e/worker.test.mjs through `window.t`: worker mode against
// the main-thread Recommender, the encoder pool against TextEmbedder, the
// main thread's responsiveness, the fallback without crossOriginIsolated,
// and error codes. Served from the repository root (pkg/, assets/).
import init, { EncoderPool, Recommender, RecommenderWorker, TextEmbedder } from "/pkg/recagent.js";

const FILES = {
  catalog: "../../../assets/catalog/ml-100k.rcat", // relative: the worker must resolve it against the page
  textModel: "/assets/minilm-int8.onnx",
  vocab: "/assets/vocab.txt",
};
const T0 = 1_764_000_000_000;

const warnings = [];
const warn = console.warn.bind(console);
console.warn = (...args) => { warnings.push(args.join(" ")); warn(...args); };

await init();
const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
const text = async (url) => (await fetch(url)).text();

/** `n` catalog-like texts of varied length (deterministic). */
function texts(n) {
  const words = "space western comedy about a lonely robot who learns to cook for a family of detectives in paris during the rain".split(" ");
  return Array.from({ length: n }, (_, i) => {
    const len = 4 + ((i * 37) % 40);
    return Array.from({ length: len }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ") + ` #${i}`;
  });
}

const code = async (promise) => {
  try { await promise; return "resolved"; } catch (e) { return `${e.name}:${e.code}`; }
};
const codeSync = (fn) => {
  try { fn(); return "returned"; } catch (e) { return `${e.name}:${e.code}`; }
};
/** Like `code(fn())`, but a synchronous throw is reported as such: these calls must reject, never throw. */
const codeAsync = async (fn) => {
  let promise;
  try { promise = fn(); } catch (e) { return `threw synchronously ${e.name}:${e.code}`; }
  return code(promise);
};

/** The same calls on a main-thread Recommender and a RecommenderWorker. */
async function compare() {
  const progress = [];
  const main = await Recommender.create({ ...FILES, namespace: "wt-main" });
  const worker = await RecommenderWorker.create({
    ...FILES, namespace: "wt-worker", onProgress: (e) => progress.push(e),
  });
  const out = { progress, main: {}, worker: {} };
  for (const [name, rec] of [["main", main], ["worker", worker]]) {
    const r = out[name];
    await rec.resetProfile();
    r.size = rec.size;
    r.namespace = rec.namespace;
    r.attributes = rec.attributes;
    r.hasImageModel = rec.hasImageModel;
    r.memoryBytes = rec.memoryBytes;
    r.persistent = rec.memory.persistent;
    r.cold = await rec.recommend({ k: 10 });
    for (const [i, item] of ["1", "71", "95"].entries()) await rec.observe({ item, type: "like", time: T0 + i * 1000 });
    await rec.observe({ item: "50", type: "rating", value: 5, time: T0 + 5000 });
    r.statement = await rec.observe({ type: "statement", text: "no horror" });
    r.after = await rec.recommend({ k: 10 });
    r.query = await rec.recommend({ k: 10, query: "space adventure", filters: { where: [{ attribute: "release_year", min: 1970, max: 1999 }] }, diversity: 0.3 });
    r.item = await rec.item("1");
    r.missing = await rec.item("no-such-id");
    r.profile = Array.from(await rec.profile());
    const steps = [];
    const ask = await rec.ask("something light to watch with my kids, not animated", { autonomy: 0, onStep: (s) => steps.push(s.kind) });
    r.ask = { answer: ask.answer, items: ask.items, fallback: ask.fallback, autonomy: ask.autonomy, steps };
    const fact = await rec.memory.remember("I am vegetarian");
    r.recall = (await rec.memory.recall("what should I cook", 1)).map((x) => x.fact.text);
    r.forgot = await rec.memory.forget(fact.id);
    r.policy = await rec.policy();
    r.ledger = await rec.ledger();
    await rec.registerTool({ name: "add_to_watchlist", description: "adds", parameters: { type: "object", properties: {} }, sideEffects: true, run: () => true });
    r.unregister = await rec.unregisterTool("add_to_watchlist");
    await rec.restoreProfile(new Uint8Array(r.profile));
    r.restored = (await rec.recommend({ k: 5 })).map((x) => x.id);
    await rec.memory.forgetEverything();
  }
  main.free();
  worker.terminate();
  return out;
}

/** Errors through the worker keep their code. */
async function errors() {
  const worker = await RecommenderWorker.create({ ...FILES, namespace: "wt-errors" });
  const out = {
    unknownItem: await code(worker.observe({ item: "no-such-id", type: "like" })),
    badEvent: await code(worker.observe({ item: "1", type: "like", bogus: 1 })),
    badOptions: await code(worker.recommend({ k: 5, nope: true })),
    noText: await code(worker.memory.remember("")),
    badProfile: await code(worker.restoreProfile(new Uint8Array([1, 2, 3]))),
    badPolicy: await code(worker.setPolicy({ share: "everything" })),
  };
  const main = await Recommender.create({ ...FILES, namespace: "wt-errors-main" });
  out.mainUnknownItem = await codeAsync(() => main.observe({ item: "no-such-id", type: "like" }));
  out.mainBadOptions = await codeAsync(() => main.recommend({ k: 5, nope: true }));
  main.free();
  const pending = worker.recommend({ k: 5, query: "a long query to keep the worker busy for a moment" });
  worker.terminate();
  out.terminatedPending = await code(pending);
  out.terminatedLater = await code(worker.item("1"));
  out.badCatalog = await code(RecommenderWorker.create({ catalog: new Uint8Array([1, 2, 3, 4]) }));
  out.unknownOption = await code(RecommenderWorker.create({ ...FILES, catalogue: "x" }));
  out.missingFile = await code(RecommenderWorker.create({ ...FILES, catalog: "/assets/catalog/missing.rcat" }));
  const model = await bytes(FILES.textModel);
  out.poolBadModel = await code(EncoderPool.create({ model: new Uint8Array([1, 2, 3]), vocab: FILES.vocab, workers: 1 }));
  out.poolBadWorkers = await code(EncoderPool.create({ model, vocab: FILES.vocab, workers: 0 }));
  const pool = await EncoderPool.create({ model, vocab: FILES.vocab, workers: 1 });
  out.poolEmpty = await codeAsync(() => pool.embedBatch([]));
  out.poolBadOption = await codeAsync(() => pool.embedBatch(["a"], { progress: () => {} }));
  const controller = new AbortController();
  const running = pool.embedBatch(texts(64), { signal: controller.signal });
  setTimeout(() => controller.abort(), 30);
  out.poolAborted = await code(running);
  out.poolAfterAbort = (await pool.embedBatch(["still works"])).length;
  pool.terminate();
  out.poolTerminated = await code(pool.embedBatch(["x"]));
  return out;
}

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

/** The pool's output against TextEmbedder.embedBatch on the main thread. */
async function pool({ workers, n }) {
  const [model, vocab] = await Promise.all([bytes(FILES.textModel), text(FILES.vocab)]);
  const inputs = texts(n);
  const single = await TextEmbedder.create(model, vocab);
  const reference = single.embedBatch(inputs);
  single.free();
  warnings.length = 0;
  const p = await EncoderPool.create({ model: FILES.textModel, vocab: FILES.vocab, workers });
  const progress = [];
  const started = performance.now();
  const out = await p.embedBatch(inputs, { onProgress: ({ phase, loaded, total }) => progress.push([loaded, total, phase]) });
  const ms = performance.now() - started;
  let minCos = 1, maxAbs = 0, identical = 0;
  for (let i = 0; i < n; i++) {
    const row = out.subarray(i * p.dim, (i + 1) * p.dim);
    minCos = Math.min(minCos, cosine(row, reference[i]));
    let same = true;
    for (let k = 0; k < p.dim; k++) {
      maxAbs = Math.max(maxAbs, Math.abs(row[k] - reference[i][k]));
      if (row[k] !== reference[i][k]) same = false;
    }
    identical += same;
  }
  const result = {
    isolated: globalThis.crossOriginIsolated, threads: p.threads, workers: p.workers, dim: p.dim,
    length: out.length, shared: out.buffer instanceof ArrayBuffer ? "ArrayBuffer" : "other",
    minCos, maxAbs, identical, progress, ms, warnings: [...warnings],
  };
  p.terminate();
  return result;
}

/** Longest gap between setTimeout ticks while `work()` runs. */
async function maxGap(work) {
  let last = performance.now(), gap = 0, running = true;
  const tick = () => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    if (running) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  await new Promise((r) => setTimeout(r, 20));
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  running = false;
  const now = performance.now();
  return { gap: Math.max(gap, now - last), ms };
}

/** The main thread's longest stall: a batch on the main thread vs in the pool, vs recommend in a worker. */
async function responsiveness({ n }) {
  const [model, vocab] = await Promise.all([bytes(FILES.textModel), text(FILES.vocab)]);
  const inputs = texts(n);
  const single = await TextEmbedder.create(model, vocab);
  const p = await EncoderPool.create({ model, vocab, workers: 1 });
  await p.embedBatch(inputs.slice(0, 8));
  single.embedBatch(inputs.slice(0, 8));
  const mainThread = await maxGap(async () => single.embedBatch(inputs));
  const inWorker = await maxGap(() => p.embedBatch(inputs));
  single.free();
  p.terminate();
  const main = await Recommender.create({ ...FILES, namespace: "wt-gap-main" });
  const worker = await RecommenderWorker.create({ ...FILES, namespace: "wt-gap-worker" });
  const queries = Array.from({ length: 8 }, (_, i) => inputs[i]);
  const recommendMain = await maxGap(async () => { for (const q of queries) await main.recommend({ k: 10, query: q }); });
  const recommendWorker = await maxGap(async () => { for (const q of queries) await worker.recommend({ k: 10, query: q }); });
  main.free();
  worker.terminate();
  return { mainThread, inWorker, recommendMain, recommendWorker };
}

/** An app tool's `run` and `approve` on the main thread, with the worker's agent against an LLM endpoint. */
async function agentTool({ endpoint }) {
  const worker = await RecommenderWorker.create({ ...FILES, namespace: "wt-agent" });
  const calls = [];
  const approvals = [];
  await worker.setLlm({ endpoint, model: "scripted", stream: true });
  await worker.setPolicy({ share: "public_items" });
  await worker.registerTool({
    name: "add_to_watchlist", description: "Adds a film to the user's watchlist",
    parameters: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
    sideEffects: true,
    run: async (args) => { calls.push({ args, mainThread: typeof document !== "undefined" }); return { added: args.id }; },
  });
  const tokens = [];
  const steps = [];
  const result = await worker.ask("add Toy Story to my watchlist", {
    autonomy: 3,
    onToken: (t) => tokens.push(t),
    onStep: (s) => steps.push({ kind: s.kind, tool: s.tool, status: s.status }),
    approve: async (req) => { approvals.push(req.tool); return true; },
  });
  const ledger = await worker.ledger();
  worker.terminate();
  return { calls, approvals, tokens: tokens.join(""), steps, answer: result.answer, fallback: result.fallback ?? null, ledger: ledger.length };
}

/**
 * Items with photos in worker mode against the main thread: the image model
 * loaded after create (URL resolved against the page), addItem with a photo,
 * searchByPhoto, addedItems, itemPhoto, removeItem; the getters follow.
 */
async function items() {
  const photo = await bytes("/assets/fixtures/image/chelsea.png");
  const main = await Recommender.create({ ...FILES, namespace: "wt-items-main" });
  const worker = await RecommenderWorker.create({ ...FILES, namespace: "wt-items-worker" });
  const out = { main: {}, worker: {} };
  for (const [name, rec] of [["main", main], ["worker", worker]]) {
    const r = out[name];
    await rec.memory.forgetEverything();
    r.sizeBefore = rec.size;
    r.imageBefore = rec.hasImageModel;
    const files = [];
    await rec.loadImageModel("../../../assets/mobilenetv2-embedding.onnx", { onProgress: (e) => files.push(e.file) });
    r.files = [...new Set(files)];
    r.imageAfter = rec.hasImageModel;
    const added = await rec.addItem({ id: "my-cat", title: "My cat", text: "a tabby cat asleep on the sofa", photo });
    r.added = { id: added.id, userAdded: added.userAdded, hasPhoto: added.hasPhoto };
    r.sizeAdded = rec.size;
    r.byPhoto = (await rec.searchByPhoto(photo, { k: 3 })).map((x) => [x.id, Math.round(x.score * 1e4)]);
    r.byText = (await rec.recommend({ k: 3, query: "tabby cat asleep" })).map((x) => x.id);
    r.listed = (await rec.addedItems()).map((x) => x.id);
    r.photoBytes = (await rec.itemPhoto("my-cat"))?.length;
    r.duplicate = await code(rec.addItem({ id: "my-cat", title: "Again" }));
    r.badPhoto = await codeAsync(() => rec.searchByPhoto(new Uint8Array([1, 2, 3])));
    r.removed = await rec.removeItem("my-cat");
    r.sizeRemoved = rec.size;
    await rec.memory.forgetEverything();
  }
  main.free();
  worker.terminate();
  return out;
}

window.t = { compare, errors, pool, responsiveness, agentTool, items, texts, RecommenderWorker, EncoderPool };
window.tReady = true;
document.getElementById("status").textContent = `ready (crossOriginIsolated ${globalThis.crossOriginIsolated})`;
