// Compiled with `tsc --noEmit` against the generated pkg/index.d.ts (the package entry, over pkg/recagent.d.ts): the
// public API must keep these types (a changed signature fails the test run).
import init, {
  isInitialized,
  createWllamaEngine,
  type ChatEngine,
  type ChatCompletionRequest,
  type ChatCompletion,
  type ChatCompletionChunk,
  type InPageLlmSettings,
  type WllamaEngine,
  type WllamaEngineOptions,
  ImageEmbedder,
  Recommender,
  TextEmbedder,
  isRecagentError,
  type AttributeInfo,
  type ConsolidationReport,
  Memory,
  type MemoryEstimate,
  type MemoryEventType,
  type MemoryExport,
  type MemoryFact,
  type RecalledFact,
  type RememberInput,
  type Explanation,
  type ImageEmbedderOptions,
  type ItemRecord,
  type Predicate,
  type RecagentError,
  type RecagentErrorCode,
  type RecagentEvent,
  type Recommendation,
  type RecommenderOptions,
  type RecommendOptions,
  type RecordedStatement,
  type AppTool,
  type ApprovalRequest,
  type AskOptions,
  type AskResult,
  type LedgerEntry,
  type LlmSettings,
  type PrivacyPolicy,
  type ShareLevel,
  type TraceStep,
  type RecagentDownloadProgress,
  type RecagentProgress,
  type ItemInput,
  type InteractionInput,
  type NewItem,
  type LoadImageModelOptions,
  type ExportedItem,
  RecommenderWorker,
  WorkerMemory,
  EncoderPool,
  type EncoderPoolOptions,
  type EmbedBatchOptions,
  type EncoderPoolThreads,
} from "../../pkg/index.js";

export async function usage(model: Uint8Array, vocab: string, image: Uint8Array, pixels: ImageData) {
  await init();
  const text: TextEmbedder = await TextEmbedder.create(model, vocab);
  const one: Float32Array = text.embed("a cozy mystery");
  const many: Float32Array[] = text.embedBatch(["a", "b"]);
  const tracked: Float32Array[] = text.embedBatch(["c"], (p: RecagentProgress) => console.log(p.phase, p.loaded / p.total));
  const ids: Uint32Array = text.tokenize("hello");
  const dim: number = text.dim;

  const options: ImageEmbedderOptions = { embeddingOutput: "embedding", crop: 224, maxSide: 4096 };
  const images: ImageEmbedder = await ImageEmbedder.create(image, options);
  const fromPixels: Float32Array = images.embedImageData(pixels);
  const fromBytes: Float32Array = await images.embedEncoded(image);
  const top: Uint32Array = await images.topClasses(image, 5);
  text.free();
  images.free();
  return { one, many, tracked, ids, dim, fromPixels, fromBytes, top };
}

export function describe(e: unknown): string {
  const err = e as RecagentError;
  const code: RecagentErrorCode = err.code;
  return err.name === "RecagentError" ? `${code}: ${err.message}` : String(e);
}

export function narrow(e: unknown): RecagentErrorCode | null {
  // the type guard narrows `e` from unknown to RecagentError
  return isRecagentError(e) ? e.code : null;
}

export async function recommenderUsage(catalog: Uint8Array, textModel: Uint8Array, vocab: string) {
  await init();
  const options: RecommenderOptions = { catalog, textModel, vocab, namespace: "alice" };
  const rec: Recommender = await Recommender.create(options);
  const events: RecagentEvent[] = [
    { item: "1", type: "view", dwellMs: 1200 },
    { item: "1", type: "like", time: Date.now() },
    { item: "2", type: "rating", value: 4 },
    { item: "3", type: "add_to_cart" },
  ];
  for (const e of events) await rec.observe(e);
  const said: RecordedStatement | undefined = await rec.observe({ type: "statement", text: "no horror" });
  if (said?.type === "exclude") console.log(said.attribute, said.value, said.source);
  const where: Predicate[] = [{ attribute: "release_year", min: 1990, max: 1995 }, { attribute: "class", has: "Comedy" }];
  const ask: RecommendOptions = { k: 5, query: "space adventure", filters: { where, excludeIds: ["4"], includeSeen: false }, diversity: 0.3, explore: 0.1, seed: 42 };
  const list: Recommendation[] = await rec.recommend(ask);
  const first: Recommendation | undefined = (await rec.recommend())[0];
  const why: Explanation | undefined = list[0]?.explanation;
  const summary: string | undefined = why?.summary;
  const titles: string[] = list.map((r) => `${r.title} ${r.score.toFixed(2)} ${r.explanation.because.map((b) => b.title).join(", ")}`);
  const signals: number | undefined = why && why.signals.history + why.signals.query + why.signals.popularity - why.signals.penalty;
  const snapshot: Uint8Array = await rec.profile();
  await rec.restoreProfile(snapshot);
  await rec.resetProfile();
  const item: ItemRecord | undefined = await rec.item("1");
  const genres = item?.attributes["class"];
  const size: number = rec.size;
  const bytes: number = rec.memoryBytes;
  const ns: string = rec.namespace;
  const attrs: AttributeInfo[] = rec.attributes;
  const image: boolean = rec.hasImageModel;
  const codes: RecagentErrorCode[] = ["invalid_catalog", "invalid_profile", "unknown_item"];
  rec.free();
  return { first, summary, titles, signals, item, genres, size, bytes, ns, attrs, image, codes };
}

export async function memoryUsage(catalog: Uint8Array, textModel: Uint8Array, vocab: string) {
  await init();
  const onMemoryEvent = (type: MemoryEventType) => console.log("memory event", type);
  const rec: Recommender = await Recommender.create({ catalog, textModel, vocab, namespace: "alice", onMemoryEvent });
  const memory: Memory = rec.memory;
  memory.on("versionchange", () => location.reload());
  memory.on("blocked", (type: MemoryEventType) => console.warn(type));
  const fact: MemoryFact = await memory.remember("I am vegetarian");
  const input: RememberInput = { text: "I hate horror movies", kind: "aversion", importance: 0.9, confidence: 0.8 };
  await memory.remember(input);
  const found: RecalledFact[] = await memory.recall("what should I cook", 3);
  const top: string | undefined = found[0]?.fact.text;
  const aversions: MemoryFact[] = await memory.list({ kind: "aversion" });
  const all: MemoryFact[] = await memory.list();
  const fixed: MemoryFact = await memory.correct(fact.id, "I am vegan");
  const removed: number = await memory.forget(fixed.id);
  const report: ConsolidationReport = await memory.consolidate();
  const doc: MemoryExport = await memory.export();
  const counts: { episodes: number; facts: number } = await memory.import(doc);
  const estimate: MemoryEstimate = await memory.estimate();
  const persistent: boolean = memory.persistent && estimate.persistent;
  const why: string | undefined = memory.fallbackReason;
  const db: string | undefined = memory.databaseName;
  await rec.saveProfile();
  const left: number = await memory.forgetEverything();
  const codes: RecagentErrorCode[] = ["quota_exceeded", "storage_error"];
  return { top, aversions, all, removed, report, counts, estimate, persistent, why, db, left, codes };
}

export async function agentUsage(rec: Recommender, signal: AbortSignal) {
  const llm: LlmSettings = { endpoint: "http://127.0.0.1:8080", model: "smollm2", apiKey: "sk-x", toolMode: "json", stream: true, timeoutMs: 15000, maxRetries: 2 };
  await rec.setLlm(llm);
  await rec.setLlm(null);
  const level: ShareLevel = "public_items";
  const policy: PrivacyPolicy = { share: level, endpoints: { "http://127.0.0.1:8080": "request_text" }, onlyListedEndpoints: true };
  await rec.setPolicy(policy);
  const inUse: Required<PrivacyPolicy> = await rec.policy();
  const tool: AppTool = {
    name: "add_to_watchlist",
    description: "Adds an item to the watchlist",
    parameters: { type: "object", properties: { id: { type: "string" } }, required: ["id"] },
    sideEffects: true,
    resultClass: "public_items",
    run: async (args: { id: string }) => ({ added: args.id }),
  };
  await rec.registerTool(tool);
  const removed: boolean = await rec.unregisterTool("add_to_watchlist");
  const options: AskOptions = {
    autonomy: 3,
    k: 5,
    signal,
    budgets: { maxSteps: 4, maxToolCalls: 3, maxTokens: 2000, maxWallMs: 30000 },
    onStep: (step: TraceStep) => console.log(step.kind, step.status, step.tool, step.reason),
    onToken: (text: string) => console.log(text),
    approve: async (request: ApprovalRequest) => request.tool === "add_to_watchlist",
  };
  const result: AskResult = await rec.ask("something light to watch with my kids", options);
  const plain: AskResult = await rec.ask("more like that");
  const fallback: string | undefined = result.fallback?.code;
  const question: string | undefined = result.question;
  const firstTitle: string | undefined = result.items[0]?.title;
  const sent: LedgerEntry[] = await rec.ledger();
  const bytes: number = sent.reduce((n, e) => n + e.bytes, 0);
  const statuses: (number | null)[] = sent.map((e) => e.status);
  await rec.clearLedger();
  await rec.resetConversation();
  return { inUse, removed, result, plain, fallback, question, firstTitle, bytes, statuses };
}

export async function fromUrls() {
  await init();
  const seen: RecagentDownloadProgress[] = [];
  const options: RecommenderOptions = {
    catalog: "/assets/catalog/ml-100k.rcat",
    textModel: "https://cdn.example/minilm-int8.onnx",
    vocab: "./assets/vocab.txt",
    imageModel: new Uint8Array(4),
    onProgress: (p: RecagentProgress) => seen.push({ phase: p.phase, file: p.file, loaded: p.loaded, total: p.total }),
    cache: true,
    cacheVersion: "2026-11",
    signal: new AbortController().signal,
  };
  const rec: Recommender = await Recommender.create(options);
  const cleared: boolean = await Recommender.clearCache();
  return { rec, cleared, seen };
}

export async function itemsUsage(catalog: Uint8Array, textModel: Uint8Array, vocab: string, photo: Uint8Array, signal: AbortSignal) {
  await init();
  const rec: Recommender = await Recommender.create({ catalog, textModel, vocab, namespace: "alice" });
  const load: LoadImageModelOptions = { onProgress: (p) => console.log(p.file, p.loaded, p.total), cache: true, cacheVersion: "1", signal };
  await rec.loadImageModel("/assets/mobilenetv2-embedding.onnx", load);
  await rec.loadImageModel(photo);
  const loaded: boolean = rec.hasImageModel;
  const input: NewItem = { id: "mine-1", title: "My cat", text: "asleep", image: "https://example.com/cat.png",
                           attributes: { class: ["Comedy"], release_year: 2024, note: null }, photo };
  const added: ItemRecord = await rec.addItem(input);
  const flags: boolean = added.userAdded && added.hasPhoto;
  const mine: ItemRecord[] = await rec.addedItems();
  const found: Recommendation[] = await rec.searchByPhoto(photo, { k: 5, query: "cat", filters: { excludeIds: ["2"] } });
  const plain: Recommendation[] = await rec.searchByPhoto(photo);
  const similarity: number | undefined = found[0]?.explanation.photoSimilarity;
  const photoSignal: number | undefined = found[0]?.explanation.signals.photo;
  const bytes: Uint8Array | undefined = await rec.itemPhoto("mine-1");
  const removed: boolean = await rec.removeItem("mine-1");
  const doc: MemoryExport = await rec.memory.export();
  const items: ExportedItem[] = doc.items ?? [];
  const firstPhoto: string | null | undefined = items[0]?.photo;
  rec.free();
  return { loaded, flags, mine, plain, similarity, photoSignal, bytes, removed, firstPhoto };
}

export async function workerUsage(signal: AbortSignal) {
  await init();
  const seen: RecagentDownloadProgress[] = [];
  const rec: RecommenderWorker = await RecommenderWorker.create({
    catalog: "/assets/catalog/ml-100k.rcat", textModel: "/assets/minilm-int8.onnx", vocab: "/assets/vocab.txt",
    namespace: "alice", onProgress: (p: RecagentDownloadProgress) => seen.push(p), signal,
  });
  const said: RecordedStatement | undefined = await rec.observe({ type: "statement", text: "no horror" });
  await rec.observe({ item: "1", type: "like" });
  const list: Recommendation[] = await rec.recommend({ k: 5, query: "space adventure" });
  const cold: Recommendation[] = await rec.recommend();
  const item: ItemRecord | undefined = await rec.item("1");
  const snapshot: Uint8Array = await rec.profile();
  await rec.restoreProfile(snapshot);
  await rec.resetProfile();
  await rec.saveProfile();
  await rec.setLlm({ endpoint: "http://127.0.0.1:8080" });
  await rec.setLlm(null);
  await rec.setPolicy({ share: "request_text" });
  const policy: Required<PrivacyPolicy> = await rec.policy();
  await rec.registerTool({ name: "t", description: "d", parameters: { type: "object" }, run: (args: unknown) => args });
  const removed: boolean = await rec.unregisterTool("t");
  const result: AskResult = await rec.ask("hi", { autonomy: 0, onStep: (s: TraceStep) => console.log(s.kind), signal });
  const plain: AskResult = await rec.ask("more");
  const sent: LedgerEntry[] = await rec.ledger();
  await rec.clearLedger();
  await rec.resetConversation();
  const memory: WorkerMemory = rec.memory;
  const fact: MemoryFact = await memory.remember("I am vegetarian");
  const found: RecalledFact[] = await memory.recall("cook", 3);
  const facts: MemoryFact[] = await memory.list({ kind: "fact" });
  const fixed: MemoryFact = await memory.correct(fact.id, "I am vegan");
  const forgotten: number = await memory.forget(fixed.id);
  const report: ConsolidationReport = await memory.consolidate();
  const doc: MemoryExport = await memory.export();
  const counts: { episodes: number; facts: number } = await memory.import(doc);
  const estimate: MemoryEstimate = await memory.estimate();
  await memory.on("versionchange", (type: MemoryEventType) => console.log(type));
  const left: number = await memory.forgetEverything();
  const info: [boolean, string | undefined, string | undefined] = [memory.persistent, memory.fallbackReason, memory.databaseName];
  const meta: [number, number, string, boolean, AttributeInfo[]] = [rec.size, rec.memoryBytes, rec.namespace, rec.hasImageModel, rec.attributes];
  const photo = new Uint8Array(await (await fetch("/cat.png")).arrayBuffer());
  await rec.loadImageModel("/assets/mobilenetv2-embedding.onnx", { onProgress: (p: RecagentDownloadProgress) => seen.push(p) });
  const mine: ItemRecord = await rec.addItem({ id: "mine", title: "My cat", photo });
  const byPhoto: Recommendation[] = await rec.searchByPhoto(photo, { k: 3 });
  const added: ItemRecord[] = await rec.addedItems();
  const stored: Uint8Array | undefined = await rec.itemPhoto("mine");
  const gone: boolean = await rec.removeItem("mine");
  rec.terminate();
  const code: RecagentErrorCode = "worker_failed";
  return { said, list, cold, item, policy, removed, result, plain, sent, found, facts, forgotten, report, counts, estimate, left, info, meta, code, seen, mine, byPhoto, added, stored, gone };
}

/** `A` and `B` are assignable to each other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Methods `Recommender` and `RecommenderWorker` share: on both they return the same Promise. */
type SharedMethod =
  | "observe" | "recommend" | "item" | "profile" | "restoreProfile" | "resetProfile" | "saveProfile"
  | "setLlm" | "setPolicy" | "policy" | "registerTool" | "unregisterTool" | "ask" | "ledger" | "clearLedger"
  | "resetConversation" | "addItem" | "removeItem" | "addedItems" | "itemPhoto" | "searchByPhoto" | "loadImageModel";
type AllTrue<T extends Record<SharedMethod, true>> = T;
// A type error here names the method whose return type is not a Promise or differs between the two classes
// (`await` alone would accept a plain value).
export type SameReturnTypes = AllTrue<{
  [M in SharedMethod]: ReturnType<Recommender[M]> extends Promise<unknown>
    ? Same<ReturnType<Recommender[M]>, ReturnType<RecommenderWorker[M]>>
    : false;
}>;

export async function poolUsage(model: Uint8Array, texts: string[], signal: AbortSignal) {
  await init();
  const options: EncoderPoolOptions = {
    model, vocab: "/assets/vocab.txt", workers: navigator.hardwareConcurrency,
    onProgress: (p: RecagentDownloadProgress) => console.log(p.file), cache: true, cacheVersion: "1", signal,
  };
  const pool: EncoderPool = await EncoderPool.create(options);
  const fromUrl: EncoderPool = await EncoderPool.create({ model: "/assets/minilm-int8.onnx", vocab: "/assets/vocab.txt" });
  const batch: EmbedBatchOptions = { onProgress: (p: RecagentProgress) => console.log(p.phase, p.loaded / p.total), signal };
  const matrix: Float32Array = await pool.embedBatch(texts, batch);
  const plain: Float32Array = await fromUrl.embedBatch(texts);
  const threads: EncoderPoolThreads = pool.threads;
  const why: string | null = threads.reason;
  const shape: [number, number, boolean, number, number] = [pool.dim, pool.workers, threads.sharedMemory, threads.requested, threads.hardwareConcurrency];
  pool.terminate();
  fromUrl.free();
  return { matrix, plain, why, shape, isolated: threads.crossOriginIsolated };
}

/** An in-page engine: WebLLM's shape, the wllama adapter, the trace's `engine`. */
export async function inPageUsage(rec: Recommender, Wllama: new (paths: { default: string }, config?: object) => unknown) {
  const engine: ChatEngine = {
    chat: { completions: { create: async (request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> => {
      const first: string = request.messages[0].content;
      return { choices: [{ message: { role: "assistant", content: first }, finish_reason: "stop" }] };
    } } },
  };
  const settings: InPageLlmSettings = { engine, toolMode: "json", stream: false, timeoutMs: 30000 };
  await rec.setLlm(settings);
  const options: WllamaEngineOptions = { Wllama, modelUrl: "/m.gguf", wasmPath: "/wllama.wasm", nCtx: 2048, maxTokens: 64,
    onProgress: ({ loaded, total }) => console.log(loaded, total), useCache: false };
  const wllama: WllamaEngine = await createWllamaEngine(options);
  await rec.setLlm({ engine: wllama });
  const result: AskResult = await rec.ask("hi", { autonomy: 1 });
  const inPage: "in-page" | undefined = result.trace[0]?.engine;
  const loadMs: number = wllama.loadMs;
  await wllama.unload();
  return { inPage, loadMs };
}

/** The app's own items, built on the device; every progress phase; storage options. */
export async function ownItemsUsage(textModel: Uint8Array, vocab: string, signal: AbortSignal) {
  const items: ItemInput[] = [
    { id: "p1", title: "Rain jacket", text: "Waterproof.", attributes: { price: 80, tags: ["outdoor"], color: "red" } },
    { id: 2, title: "Mug", attributes: { price: null } },
  ];
  const interactions: InteractionInput[] = [{ user: "u1", item: "p1", timestamp: 1 }, { user: 7, item: 2, rating: 4 }];
  const phases: RecagentProgress["phase"][] = [];
  const rec = await Recommender.create({
    items, interactions, textModel, vocab, embedWorkers: 0, persist: false, requestPersistence: false,
    onProgress: ({ phase, file, loaded, total }: RecagentProgress) => {
      phases.push(phase);
      console.log(file ?? "", loaded / total);
    },
    signal, wasm: new URL("./recagent_bg.wasm", import.meta.url),
  });
  const list: Recommendation[] = await rec.recommend({ k: 1 });
  return { phases, list, started: isInitialized() };
}
