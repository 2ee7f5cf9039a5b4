// Compiled with `tsc --noEmit` against the generated pkg/recagent.d.ts: the
// public API must keep these types (a changed signature fails the test run).
import init, {
  ImageEmbedder,
  Recommender,
  TextEmbedder,
  type AttributeInfo,
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
