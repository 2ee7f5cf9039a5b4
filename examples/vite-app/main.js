// The whole integration: create a Recommender (the package starts its wasm
// module on first use; no init() to call) from URLs (downloaded with progress, cached in the Cache API), recommend.
// The files default to ./data/… next to the page (copy or symlink the repo's
// assets/ folder to public/data); ?catalog=, ?model= and ?vocab= override them.
// ?mode=worker runs the same API in a Web Worker (RecommenderWorker: like
// Recommender, its methods return Promises); Vite bundles the worker script by itself.
import { Recommender, RecommenderWorker } from "recagent";

const params = new URLSearchParams(location.search);
const files = {
  catalog: params.get("catalog") ?? "./data/catalog/ml-100k.rcat",
  textModel: params.get("model") ?? "./data/minilm-int8.onnx",
  vocab: params.get("vocab") ?? "./data/vocab.txt",
};
const inWorker = params.get("mode") === "worker";
const $ = (id) => document.getElementById(id);

// One event shape for every phase: {phase: 'download'|'compile'|'embed'|'ready', file?, loaded, total}.
function showProgress({ phase, file, loaded, total }) {
  $("phase").textContent = `${phase}${file ? ` ${file}` : ""}: ${loaded} / ${total || "?"}`;
  if (phase !== "download") return;
  const id = `progress-${file}`;
  let li = document.getElementById(id);
  if (!li) {
    li = document.createElement("li");
    li.id = id;
    $("progress").append(li);
  }
  li.dataset.loaded = String(loaded);
  li.dataset.total = String(total);
  li.textContent = `${file}: ${loaded} / ${total || "?"} bytes`;
}

async function showResults(recommender) {
  // The same for both: Recommender and RecommenderWorker return a Promise of the list.
  const list = await recommender.recommend({ k: 5, query: $("query").value });
  $("results").replaceChildren(...list.map((r) => {
    const li = document.createElement("li");
    li.dataset.id = r.id;
    li.textContent = `${r.title} — ${r.explanation.summary}`;
    return li;
  }));
}

try {
  const started = performance.now();
  const recommender = await (inWorker ? RecommenderWorker : Recommender)
    .create({ ...files, onProgress: showProgress, namespace: "vite-app" });
  $("status").textContent =
    `Ready in ${Math.round(performance.now() - started)} ms: ${recommender.size} items on the device` +
    `${inWorker ? " (in a Web Worker)" : ""}.`;
  await showResults(recommender);
  $("search").addEventListener("submit", async (e) => {
    e.preventDefault();
    await showResults(recommender);
    document.body.dataset.shown = $("query").value;
  });
  document.body.dataset.ready = "true";
} catch (e) {
  $("status").textContent = `Failed: ${e.code ?? e.name}: ${e.message}`;
  document.body.dataset.error = e.code ?? e.name;
  throw e;
}
