// The first page of the recagent demo: embeds a typed sentence and a dropped
// image on the device and shows nearest neighbours. Imports the package built
// by wasm-pack into ../pkg (served here as ./pkg).
import init, { TextEmbedder, ImageEmbedder } from "./pkg/recagent.js";

const $ = (id) => document.getElementById(id);

// A tiny module using a SIMD instruction: recagent is built with wasm simd128.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10,
  10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

/** Fetches `url` as bytes, reporting (loaded, total) as it streams. */
async function fetchBytes(url, onProgress) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length")) || 0;
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

function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function cosine(a, b) {
  return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
}

function topK(query, rows, k, score) {
  return rows.map((r) => ({ ...r, score: score(query, r.vector) }))
    .sort((x, y) => y.score - x.score).slice(0, k);
}

const state = { text: null, image: null, items: [], gallery: [] };

async function load() {
  if (!WebAssembly.validate(SIMD_PROBE)) {
    status("This browser does not support WebAssembly SIMD (simd128), which recagent needs. " +
      "Use Chrome/Edge 91+, Firefox 89+ or Safari 16.4+.", true);
    return;
  }
  const t0 = performance.now();
  await init();
  const files = [
    ["text model", "./assets/minilm-int8.onnx"],
    ["vocabulary", "./assets/vocab.txt"],
    ["image model", "./assets/mobilenetv2-embedding.onnx"],
  ];
  const bytes = [];
  for (const [name, url] of files) {
    bytes.push(await fetchBytes(url, (loaded, total) => {
      status(`Downloading ${name}: ${(loaded / 1e6).toFixed(1)}${total ? ` / ${(total / 1e6).toFixed(1)}` : ""} MB`);
      $("progress").value = total ? loaded / total : 0;
    }));
  }
  status("Loading the text model…");
  const vocab = new TextDecoder().decode(bytes[1]);
  state.text = await TextEmbedder.create(bytes[0], vocab);
  status("Embedding the catalog…");
  const items = await (await fetch("./sample-items.json")).json();
  const t1 = performance.now();
  const vectors = state.text.embedBatch(items.map((it) => `${it.title}. ${it.text}`));
  const batchMs = performance.now() - t1;
  state.items = items.map((it, i) => ({ ...it, vector: vectors[i] }));

  status("Loading the image model…");
  state.image = await ImageEmbedder.create(bytes[2]);
  for (const name of ["chelsea.png", "coffee.png"]) {
    const png = await fetchBytes(`./assets/fixtures/image/${name}`, () => {});
    state.gallery.push({ id: name, url: URL.createObjectURL(new Blob([png], { type: "image/png" })),
      vector: state.image.embedEncoded(png) });
  }
  $("progress").value = 1;
  status(`Ready in ${((performance.now() - t0) / 1000).toFixed(1)} s — ${state.items.length} items embedded ` +
    `in ${batchMs.toFixed(0)} ms (${(batchMs / state.items.length).toFixed(1)} ms each), ` +
    `${state.text.dim}-d text and ${state.image.dim}-d image embeddings.`);
  for (const el of [$("query"), $("search")]) el.disabled = false;
  document.body.dataset.ready = "true";
  search();
}

function search() {
  const q = $("query").value.trim();
  if (!q || !state.text) return;
  const t = performance.now();
  const v = state.text.embed(q);
  const ms = performance.now() - t;
  const best = topK(v, state.items, 5, dot);
  $("text-timing").textContent = `Embedded in ${ms.toFixed(1)} ms on this device.`;
  $("text-results").replaceChildren(...best.map((it) => {
    const li = document.createElement("li");
    li.dataset.id = it.id;
    const title = document.createElement("strong");
    title.textContent = it.title;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = it.score.toFixed(3);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = it.text;
    li.append(title, score, text);
    return li;
  }));
}

async function embedFile(file) {
  if (!state.image) return;
  try {
    const bitmap = await createImageBitmap(file);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext("2d");
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    const t = performance.now();
    const v = state.image.embedImageData(data);
    const ms = performance.now() - t;
    const best = topK(v, state.gallery, 6, cosine);
    $("image-timing").textContent = `${file.name}: embedded in ${ms.toFixed(0)} ms. Most similar images so far:`;
    $("image-results").replaceChildren(...best.map((g) => {
      const li = document.createElement("li");
      const img = document.createElement("img");
      img.src = g.url;
      img.alt = g.id;
      const cap = document.createElement("span");
      cap.className = "score";
      cap.textContent = `${g.id} · ${g.score.toFixed(3)}`;
      li.append(img, cap);
      return li;
    }));
    state.gallery.push({ id: file.name, url: URL.createObjectURL(file), vector: v });
  } catch (e) {
    $("image-timing").textContent = `${file.name}: ${e.name === "RecagentError" ? `[${e.code}] ` : ""}${e.message}`;
    $("image-timing").classList.add("error");
  }
}

$("text-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
const drop = $("drop");
drop.addEventListener("click", () => $("file").click());
drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); } });
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  for (const f of e.dataTransfer.files) embedFile(f);
});
$("file").addEventListener("change", (e) => { for (const f of e.target.files) embedFile(f); });

load().catch((e) => status(`Could not start: ${e.name === "RecagentError" ? `[${e.code}] ` : ""}${e.message}`, true));
