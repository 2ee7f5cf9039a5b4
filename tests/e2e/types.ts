// Compiled with `tsc --noEmit` against the generated pkg/recagent.d.ts: the
// public API must keep these types (a changed signature fails the test run).
import init, {
  ImageEmbedder,
  Recommender,
  TextEmbedder,
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
} from "../../pkg/recagent.js";

export async function usage(model: Uint8Array, vocab: string, image: Uint8Array, pixels: ImageData) {
  await init();
  const text: TextEmbedder = await TextEmbedder.create(model, vocab);
  const one: Float32Array = text.embed("a cozy mystery");
  const many: Float32Array[] = text.embedBatch(["a", "b"]);
  const tracked: Float32Array[] = text.embedBatch(["c"], (done: number, total: number) => console.log(done / total));
  const ids: Uint32Array = text.tokenize("hello");
  const dim: number = text.dim;

  const options: ImageEmbedderOptions = { embeddingOutput: "embedding", crop: 224, maxSide: 4096 };
  const images: ImageEmbedder = await ImageEmbedder.create(image, options);
  const fromPixels: Float32Array = images.embedImageData(pixels);
  const fromBytes: Float32Array = images.embedEncoded(image);
  const top: Uint32Array = images.topClasses(image, 5);
  text.free();
  images.free();
  return { one, many, tracked, ids, dim, fromPixels, fromBytes, top };
}

export function describe(e: unknown): string {
  const err = e as RecagentError;
  const code: RecagentErrorCode = err.code;
  return err.name === "RecagentError" ? `${code}: ${err.message}` : String(e);
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
  for (const e of events) rec.observe(e);
  const said: RecordedStatement | undefined = rec.observe({ type: "statement", text: "no horror" });
  if (said?.type === "exclude") console.log(said.attribute, said.value, said.source);
  const where: Predicate[] = [{ attribute: "release_year", min: 1990, max: 1995 }, { attribute: "class", has: "Comedy" }];
  const ask: RecommendOptions = { k: 5, query: "space adventure", filters: { where, excludeIds: ["4"], includeSeen: false }, diversity: 0.3, explore: 0.1, seed: 42 };
  const list: Recommendation[] = rec.recommend(ask);
  const first: Recommendation | undefined = rec.recommend()[0];
  const why: Explanation | undefined = list[0]?.explanation;
  const summary: string | undefined = why?.summary;
  const titles: string[] = list.map((r) => `${r.title} ${r.score.toFixed(2)} ${r.explanation.because.map((b) => b.title).join(", ")}`);
  const signals: number | undefined = why && why.signals.history + why.signals.query + why.signals.popularity - why.signals.penalty;
  const snapshot: Uint8Array = rec.profile();
  rec.restoreProfile(snapshot);
  rec.resetProfile();
  const item: ItemRecord | undefined = rec.item("1");
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
