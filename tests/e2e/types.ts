// Compiled with `tsc --noEmit` against the generated pkg/recagent.d.ts: the
// public API must keep these types (a changed signature fails the test run).
import init, {
  ImageEmbedder,
  TextEmbedder,
  type ImageEmbedderOptions,
  type RecagentError,
  type RecagentErrorCode,
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
