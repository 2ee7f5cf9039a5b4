// The recagent demo: downloads the catalog and the text model with progress,
// creates the Recommender (namespace "demo") and wires the four parts of the
// page: browse (browse.js), your items and search by photo (items.js), chat
// (chat.js), memory (memory.js), privacy ledger (ledger.js). Plain ES modules, everything from this origin.
import init, { Recommender } from "../pkg/index.js";
import { $, describeError, formatBytes } from "./dom.js";
import { setupBrowse } from "./browse.js";
import { setupChat } from "./chat.js";
import { setupMemory } from "./memory.js";
import { setupLedger } from "./ledger.js";
import { setupTabs } from "./tabs.js";
import { setupItems } from "./items.js";

// A tiny module using a SIMD instruction: recagent is built with wasm simd128.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10,
  10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

const ASSETS = {
  catalog: "./assets/catalog/ml-100k.rcat",
  textModel: "./assets/minilm-int8.onnx",
  vocab: "./assets/vocab.txt",
};

/** Sets the status line (an aria-live region). */
export function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

/** Fetches `url` as bytes, calling `onProgress(loaded, total)` as chunks arrive. */
async function fetchBytes(url, onProgress) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length")) || 0;
  onProgress(0, total);
  const reader = res.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const out = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) { out.set(c, offset); offset += c.length; }
  return out;
}

/** Downloads every asset in parallel with one combined progress bar. */
async function downloadAssets() {
  const progress = { loaded: {}, total: {} };
  const bar = $("progress");
  const report = (name) => (loaded, total) => {
    progress.loaded[name] = loaded;
    progress.total[name] = total;
    const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
    const t = sum(progress.total);
    if (t > 0) bar.value = Math.min(1, sum(progress.loaded) / t);
    status(`Downloading the catalog and the text model… ${formatBytes(sum(progress.loaded))}` +
      (t > 0 ? ` of ${formatBytes(t)}` : ""));
  };
  const [catalog, textModel, vocabBytes] = await Promise.all(
    Object.entries(ASSETS).map(([name, url]) => fetchBytes(url, report(name))));
  return { catalog, textModel, vocab: new TextDecoder().decode(vocabBytes) };
}

async function main() {
  if (!WebAssembly.validate(SIMD_PROBE)) {
    status("This browser does not support WebAssembly SIMD (simd128), which recagent needs. " +
      "Use Chrome/Edge 91+, Firefox 89+ or Safari 16.4+.", true);
    return;
  }
  const started = performance.now();
  await init();
  const assets = await downloadAssets();
  status("Preparing the recommender on this device…");
  const rec = await Recommender.create({ ...assets, namespace: "demo" });
  const ms = Math.round(performance.now() - started);

  const memoryNote = rec.memory.persistent
    ? "memory kept in this browser (IndexedDB)"
    : `memory kept for this page only (${rec.memory.fallbackReason ?? "no IndexedDB"})`;
  $("storage-note").textContent = memoryNote;

  // The parts talk through these callbacks, not through globals.
  const app = { rec, status, onProfileChanged: async () => {}, onMemoryChanged: async () => {}, onAsked: async () => {} };
  setupTabs();
  const ledger = await setupLedger(app);
  const memory = await setupMemory(app);
  const browse = await setupBrowse(app);
  const chat = await setupChat(app);
  const items = await setupItems(app, browse);
  app.onProfileChanged = browse.refresh;
  app.onMemoryChanged = memory.refresh;
  app.onAsked = ledger.refresh;
  app.onForgotten = async () => { await chat.forgotten(); await items.forgotten(); await browse.forgotten(); };

  $("loading").classList.add("done");
  const mine = (await rec.addedItems()).length;
  status(`Ready in ${(ms / 1000).toFixed(1)} s: ${(rec.size - mine).toLocaleString("en")} films` +
    `${mine ? ` and ${mine} of your items` : ""}, ranked on this device.`);
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  console.error(e);
  status(`Could not start: ${describeError(e)}`, true);
  document.body.dataset.ready = "error";
});
