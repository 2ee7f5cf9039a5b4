// Benchmark page: recagent (tract compiled to wasm) vs onnxruntime-web (wasm
// execution provider) on the same ONNX files. Driven by bench/run.mjs through
// `window.bench`; every function returns plain JSON-able data.
//
// Served from the repository root by run.mjs, so /pkg, /assets and
// /bench/node_modules/onnxruntime-web/dist are all same-origin.

import init, { EncoderPool, TextEmbedder, ImageEmbedder } from '/pkg/recagent.js';
import * as ort from '/bench/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { SINGLE_TEXT, itemTexts } from './texts.mjs';

const ORT_DIST = new URL('/bench/node_modules/onnxruntime-web/dist/', location.href).href;
// The Emscripten glue that ort.wasm.min.mjs imports; it names the .wasm it loads.
const ORT_GLUE = ORT_DIST + 'ort-wasm-simd-threaded.mjs';
const RECAGENT_WASM = '/pkg/recagent_bg.wasm';
const ASSETS = {
  textModel: '/assets/minilm-int8.onnx',
  vocab: '/assets/vocab.txt',
  imageModel: '/assets/mobilenetv2-embedding.onnx',
  png: '/assets/fixtures/image/chelsea.png',
  tensor: '/assets/fixtures/image/chelsea.input.f32',
};
const SESSION_OPTIONS = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };

const log = (...args) => console.log('[page]', ...args);
const status = (text) => {
  document.getElementById('status').textContent = text;
};
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function fetchText(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.text();
}

function configureOrt(threads) {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = ORT_DIST;
  ort.env.logLevel = 'warning';
}

// ---------------------------------------------------------------- maths

function l2normalize(v) {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n) || 1;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n;
  return out;
}

function cosine(a, b) {
  if (a.length !== b.length) throw new Error(`cosine of lengths ${a.length} and ${b.length}`);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

// ---------------------------------------------------- onnxruntime-web text

/**
 * Sentence embeddings with onnxruntime-web, the way recagent computes them:
 * token ids padded to the longest sequence (pad id 0, mask 0), token types 0,
 * one session.run, mean of last_hidden_state over the mask, L2-normalised.
 * Tokenisation is not part of it: `idsList` are recagent's token ids.
 */
async function ortEmbedText(session, idsList) {
  const b = idsList.length;
  let s = 0;
  for (const ids of idsList) s = Math.max(s, ids.length);
  const inputIds = new BigInt64Array(b * s);
  const mask = new BigInt64Array(b * s);
  const types = new BigInt64Array(b * s);
  for (let row = 0; row < b; row++) {
    const ids = idsList[row];
    for (let col = 0; col < ids.length; col++) {
      inputIds[row * s + col] = BigInt(ids[col]);
      mask[row * s + col] = 1n;
    }
  }
  const feeds = {};
  for (const name of session.inputNames) {
    if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', inputIds, [b, s]);
    else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', mask, [b, s]);
    else if (name === 'token_type_ids') feeds[name] = new ort.Tensor('int64', types, [b, s]);
    else throw new Error(`unexpected text model input ${name}`);
  }
  const outputs = await session.run(feeds);
  const hidden = outputs.last_hidden_state ?? outputs[session.outputNames[0]];
  const [ob, os, d] = hidden.dims;
  if (ob !== b || os !== s) throw new Error(`unexpected output shape ${hidden.dims}`);
  const data = hidden.data;
  const out = [];
  for (let row = 0; row < b; row++) {
    const acc = new Float32Array(d);
    let n = 0;
    for (let col = 0; col < s; col++) {
      if (mask[row * s + col] !== 1n) continue;
      const base = (row * s + col) * d;
      for (let k = 0; k < d; k++) acc[k] += data[base + k];
      n++;
    }
    for (let k = 0; k < d; k++) acc[k] /= Math.max(n, 1);
    out.push(l2normalize(acc));
  }
  for (const t of Object.values(outputs)) t.dispose?.();
  return out;
}

/** MobileNetV2 with onnxruntime-web on an already preprocessed 1x3x224x224 tensor (all outputs). */
async function ortEmbedImage(session, tensorData) {
  const outputs = await session.run({
    [session.inputNames[0]]: new ort.Tensor('float32', tensorData, [1, 3, 224, 224]),
  });
  const embedding = (outputs.embedding ?? outputs[session.outputNames[0]]).data.slice();
  for (const t of Object.values(outputs)) t.dispose?.();
  return embedding;
}

// ---------------------------------------------------------------- timing

async function timeOnce(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/**
 * Warms every runtime up (`warmup` runs each, one runtime after the other,
 * so V8 has tiered the hot wasm functions up), then `rounds` rounds in
 * which each runtime does `perRound` timed runs; the order alternates
 * between rounds (A B, B A, A B, …). Returns every sample, in ms.
 */
async function compare(label, fns, { warmup, rounds, perRound }) {
  const names = Object.keys(fns);
  for (const name of names) {
    status(`${label}: warming up ${name}`);
    const t0 = performance.now();
    for (let i = 0; i < warmup; i++) await fns[name]();
    log(`${label}: ${name} warm-up ${warmup} runs in ${(performance.now() - t0).toFixed(0)} ms`);
    await nextTask();
  }
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      status(`${label}: round ${r + 1}/${rounds}, ${name}`);
      for (let k = 0; k < perRound; k++) samples[name].push(await timeOnce(fns[name]));
      await nextTask();
    }
  }
  return samples;
}

// ------------------------------------------------------------ main page

const state = {};

async function setup({ threads = 1, recagent = true } = {}) {
  status('fetching assets');
  const [textModel, vocab, imageModel, png, tensorBytes] = await Promise.all([
    fetchBytes(ASSETS.textModel),
    fetchText(ASSETS.vocab),
    fetchBytes(ASSETS.imageModel),
    fetchBytes(ASSETS.png),
    fetchBytes(ASSETS.tensor),
  ]);
  if (tensorBytes.byteLength !== 4 * 3 * 224 * 224) {
    throw new Error(`chelsea.input.f32 has ${tensorBytes.byteLength} bytes`);
  }
  state.tensor = new Float32Array(tensorBytes.buffer, tensorBytes.byteOffset, 3 * 224 * 224);
  state.png = png;
  state.items = itemTexts(64);
  state.textModelBytes = textModel;
  state.vocab = vocab;

  configureOrt(threads);
  status('creating onnxruntime-web sessions');
  state.ortText = await ort.InferenceSession.create(textModel, SESSION_OPTIONS);
  state.ortImage = await ort.InferenceSession.create(imageModel, SESSION_OPTIONS);
  const info = {
    crossOriginIsolated: self.crossOriginIsolated,
    userAgent: navigator.userAgent,
    hardwareConcurrency: navigator.hardwareConcurrency,
    ortVersion: ort.env.versions?.web ?? ort.env.versions?.common,
    ortThreads: ort.env.wasm.numThreads,
    ortTextInputs: state.ortText.inputNames,
    ortTextOutputs: state.ortText.outputNames,
    ortImageInputs: state.ortImage.inputNames,
    ortImageOutputs: state.ortImage.outputNames,
  };

  if (recagent) {
    status('initialising recagent');
    await init({ module_or_path: RECAGENT_WASM });
    state.text = await TextEmbedder.create(textModel, vocab);
    state.image = await ImageEmbedder.create(imageModel);
    state.singleIds = Array.from(state.text.tokenize(SINGLE_TEXT));
    state.batchIds = state.items.map((t) => Array.from(state.text.tokenize(t)));
    // Decoded and already resized pixels (shorter side 256, as recagent's
    // default preprocessing wants), so embedImageData skips decode and resize.
    const bitmap = await createImageBitmap(new Blob([png], { type: 'image/png' }));
    const scale = 256 / Math.min(bitmap.width, bitmap.height);
    const w = Math.round(bitmap.width * scale), h = Math.round(bitmap.height * scale);
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, 0, 0, w, h);
    state.imageData = ctx.getImageData(0, 0, w, h);
    const lengths = state.batchIds.map((ids) => ids.length);
    Object.assign(info, {
      textDim: state.text.dim,
      imageDim: state.image.dim,
      singleTokens: state.singleIds.length,
      batchTokens: {
        min: Math.min(...lengths),
        max: Math.max(...lengths),
        mean: lengths.reduce((a, b) => a + b, 0) / lengths.length,
      },
      pngSize: [bitmap.width, bitmap.height],
      imageDataSize: [w, h],
    });
  }
  status('ready');
  return info;
}

/** Ids for onnxruntime-web when recagent is not loaded in this page (2-thread page). */
function setIds({ singleIds, batchIds, poolIds }) {
  state.singleIds = singleIds;
  state.batchIds = batchIds;
  state.poolIds = poolIds;
}

function getIds() {
  return { singleIds: state.singleIds, batchIds: state.batchIds, poolIds: state.poolIds };
}

/** Same inputs through both runtimes; cosine similarities of the results. */
async function checks() {
  const single = cosine(state.text.embed(SINGLE_TEXT), (await ortEmbedText(state.ortText, [state.singleIds]))[0]);
  const rb = state.text.embedBatch(state.items);
  const ob = await ortEmbedText(state.ortText, state.batchIds);
  let batchMin = Infinity;
  for (let i = 0; i < rb.length; i++) batchMin = Math.min(batchMin, cosine(rb[i], ob[i]));
  const ortImage = await ortEmbedImage(state.ortImage, state.tensor);
  const image = cosine(await state.image.embedEncoded(state.png), ortImage);
  const imageData = cosine(state.image.embedImageData(state.imageData), ortImage);
  return { single, batchMin, image, imageData };
}

const RUNNERS = {
  single: {
    recagent: () => state.text.embed(SINGLE_TEXT),
    ort: () => ortEmbedText(state.ortText, [state.singleIds]),
  },
  batch: {
    recagent: () => state.text.embedBatch(state.items),
    ort: () => ortEmbedText(state.ortText, state.batchIds),
  },
  image: {
    recagent: () => state.image.embedEncoded(state.png),
    ort: () => ortEmbedImage(state.ortImage, state.tensor),
  },
  imageData: {
    recagent: () => state.image.embedImageData(state.imageData),
    ort: () => ortEmbedImage(state.ortImage, state.tensor),
  },
};

// ------------------------------------------------------------ encoder pool

/** onnxruntime-web on many texts the way an app batches them: padded runs of 64. */
async function ortChunks(idsList) {
  const out = [];
  for (let k = 0; k < idsList.length; k += 64) out.push(...(await ortEmbedText(state.ortText, idsList.slice(k, k + 64))));
  return out;
}

RUNNERS.pool = {
  recagent: () => state.text.embedBatch(state.poolTexts),
  ort: () => ortChunks(state.poolIds),
};

/**
 * The encoder pool (`EncoderPool`: module workers, one TextEmbedder each) on
 * `n` catalog texts for every worker count in `sizes`, each checked against
 * `TextEmbedder.embedBatch` on this thread (minimum cosine over the rows).
 * Adds the runners `pool<workers>` to the `pool` row.
 */
async function setupPool({ n, sizes }) {
  status('starting the encoder pools');
  state.poolTexts = itemTexts(n);
  state.poolIds = state.poolTexts.map((t) => Array.from(state.text.tokenize(t)));
  const reference = state.text.embedBatch(state.poolTexts);
  const info = {};
  for (const workers of sizes) {
    const t0 = performance.now();
    const pool = await EncoderPool.create({ model: state.textModelBytes, vocab: state.vocab, workers });
    const createMs = performance.now() - t0;
    const out = await pool.embedBatch(state.poolTexts);
    let minCos = 1;
    for (let i = 0; i < n; i++) minCos = Math.min(minCos, cosine(out.subarray(i * pool.dim, (i + 1) * pool.dim), reference[i]));
    RUNNERS.pool[`pool${workers}`] = () => pool.embedBatch(state.poolTexts);
    info[workers] = { threads: pool.threads, minCos, createMs };
  }
  return info;
}

/** Times one row; `only` restricts it to some runtimes (e.g. ['ort']). */
async function measure(row, options, only) {
  const all = RUNNERS[row];
  if (!all) throw new Error(`no row ${row}`);
  const fns = Object.fromEntries(Object.entries(all).filter(([n]) => !only || only.includes(n)));
  return compare(row, fns, options);
}

// ------------------------------------------------------------ cold start

/**
 * recagent cold start in a fresh page: wasm bytes, model and vocabulary are
 * already in memory; timed from instantiation to the first embedding.
 */
async function coldRecagent() {
  const [wasmBytes, textModel, vocab] = await Promise.all([
    fetchBytes(RECAGENT_WASM),
    fetchBytes(ASSETS.textModel),
    fetchText(ASSETS.vocab),
  ]);
  await nextTask();
  const t0 = performance.now();
  await init({ module_or_path: wasmBytes });
  const t1 = performance.now();
  const embedder = await TextEmbedder.create(textModel, vocab);
  const t2 = performance.now();
  const embedding = embedder.embed(SINGLE_TEXT);
  const t3 = performance.now();
  return { total: t3 - t0, instantiate: t1 - t0, create: t2 - t1, first: t3 - t2, dim: embedding.length };
}

/**
 * onnxruntime-web cold start in a fresh page: its .wasm bytes (passed as
 * env.wasm.wasmBinary), its glue module (imported beforehand) and the model
 * are already in memory; timed from InferenceSession.create (which
 * instantiates the wasm) to the first embedding. Token ids come from
 * recagent's tokenizer in the main page (tokenisation not timed).
 */
async function coldOrt({ ids, wasmFile }) {
  const [wasmBytes, textModel] = await Promise.all([fetchBytes(ORT_DIST + wasmFile), fetchBytes(ASSETS.textModel)]);
  await import(ORT_GLUE); // same URL as ort's own dynamic import: served from the module map
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: ORT_GLUE };
  ort.env.wasm.wasmBinary = wasmBytes;
  await nextTask();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(textModel, SESSION_OPTIONS);
  const t1 = performance.now();
  const [embedding] = await ortEmbedText(session, [ids]);
  const t2 = performance.now();
  return { total: t2 - t0, create: t1 - t0, first: t2 - t1, dim: embedding.length };
}

window.bench = { setup, setIds, getIds, checks, measure, setupPool, coldRecagent, coldOrt };
window.benchReady = true;
status('loaded');
log('module loaded, crossOriginIsolated =', self.crossOriginIsolated);
