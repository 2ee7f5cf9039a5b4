// Ranking kernels benchmark page: recagent's scoring kernels compiled to wasm
// (bench/rank-wasm, simd128) and a plain JS loop as a peer, one core, one
// user. Driven by bench/rank-run.mjs through `window.rankBench`; every
// function returns plain JSON-able data.

import init, { RankBench, kernelInfo } from '/bench/rank-wasm/pkg/recagent_rank_bench.js';

const WASM = '/bench/rank-wasm/pkg/recagent_rank_bench_bg.wasm';
const status = (text) => {
  document.getElementById('status').textContent = text;
};
const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
const state = {};

/** Instantiates the module and generates the seeded catalogs (same data as natively). */
async function setup({ rows, bigRows, dim, seed }) {
  status('instantiating');
  state.wasm = await init({ module_or_path: WASM });
  Object.assign(state, { rows, bigRows, dim });
  status('generating catalogs');
  let t0 = performance.now();
  state.bench = new RankBench(rows, dim, seed);
  const genMs = performance.now() - t0;
  t0 = performance.now();
  if (bigRows) state.bench.addBig(bigRows, seed);
  const bigGenMs = performance.now() - t0;
  state.scores = new Float32Array(rows);
  status('ready');
  return {
    kernel: kernelInfo(),
    userAgent: navigator.userAgent,
    crossOriginIsolated: self.crossOriginIsolated,
    memoryMiB: state.wasm.memory.buffer.byteLength / 2 ** 20,
    genMs,
    bigGenMs,
  };
}

/** The plain JS peer: the same f32 bytes (a view of wasm memory), dot products in a loop, top-k by insertion. */
function jsRank(k) {
  const { rows, dim } = state;
  const m = new Float32Array(state.wasm.memory.buffer, state.bench.f32Ptr(), state.bench.f32Len());
  const q = state.query;
  const scores = state.scores;
  for (let r = 0, base = 0; r < rows; r++, base += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += m[base + j] * q[j];
    scores[r] = s;
  }
  const best = [];
  for (let r = 0; r < rows; r++) {
    const s = scores[r];
    if (best.length === k && s <= best[k - 1][1]) continue;
    let i = best.length < k ? best.length : k - 1;
    best[i] = [r, s];
    while (i > 0 && best[i - 1][1] < s) {
      [best[i - 1], best[i]] = [best[i], best[i - 1]];
      i--;
    }
  }
  return best.map((b) => b[0]);
}

function setUser(user) {
  state.bench.setUser(user);
  state.query = new Float32Array(state.bench.query());
}

const runners = (k, c) => ({
  stream: () => state.bench.stream(),
  f32Scan: () => state.bench.scanF32(),
  f32: () => state.bench.rankF32(k),
  i8: () => state.bench.rankI8(k),
  exact: () => state.bench.rankExact(k, c),
  i8Big: () => state.bench.rankI8Big(k),
  js: () => jsRank(k),
});

/**
 * Warms every row up (`warmup` runs each: V8 tiers wasm up late), then
 * `rounds` rounds in which each row does `perRound` timed runs, the row
 * order reversed every other round. Returns every sample (ms) per row.
 */
async function measure({ k, c, warmup, rounds, perRound, rows: names }) {
  setUser(0);
  const fns = runners(k, c);
  for (const name of names) {
    status(`warming up ${name}`);
    for (let i = 0; i < warmup; i++) fns[name]();
    await nextTask();
  }
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      status(`round ${r + 1}/${rounds}: ${name}`);
      for (let i = 0; i < perRound; i++) {
        const t0 = performance.now();
        fns[name]();
        samples[name].push(performance.now() - t0);
      }
      await nextTask();
    }
  }
  return samples;
}

/** Recall@k of int8 and of int8 + f32 re-scoring against exact f32, over `users` queries; JS peer agreement. */
function recall({ k, c, users }) {
  const hit = (got, want) => want.filter((w) => got.includes(w)).length / want.length;
  let i8 = 0, exact = 0, jsAgree = 0, i8Min = 1, exactMin = 1;
  for (let u = 0; u < users; u++) {
    setUser(u);
    const want = Array.from(state.bench.rankF32(k));
    const a = hit(Array.from(state.bench.rankI8(k)), want);
    const e = hit(Array.from(state.bench.rankExact(k, c)), want);
    i8 += a; exact += e;
    i8Min = Math.min(i8Min, a); exactMin = Math.min(exactMin, e);
    if (u < 3) jsAgree += hit(jsRank(k), want) / 3;
  }
  setUser(0);
  return { users, i8: i8 / users, exact: exact / users, i8Min, exactMin, jsAgree, top0: Array.from(state.bench.rankF32(k)) };
}

window.rankBench = { setup, measure, recall };
window.benchReady = true;
status('loaded');

/** Kernel variants (bench/rank-wasm/src/exp.rs): median ms per variant, and checksums. */
async function variants({ warmup, runs }) {
  setUser(0);
  const out = {};
  for (const [kind, n] of [['f32', 6], ['i8', 12]]) {
    const fn = kind === 'f32' ? (v) => state.bench.expF32(v) : (v) => state.bench.expI8(v);
    for (let v = 0; v < n; v++) for (let i = 0; i < warmup; i++) fn(v);
    const samples = Array.from({ length: n }, () => []);
    const sums = [];
    for (let r = 0; r < runs; r++) {
      for (let v = 0; v < n; v++) {
        const t0 = performance.now();
        sums[v] = fn(v);
        samples[v].push(performance.now() - t0);
      }
      await nextTask();
    }
    out[kind] = samples.map((xs, v) => ({ variant: v, ms: xs.sort((a, b) => a - b)[xs.length >> 1], checksum: sums[v] }));
  }
  return out;
}
window.rankBench.variants = variants;
