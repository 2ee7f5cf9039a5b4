// `Recommender.create({ items })` timed in the page (bench/items-run.mjs
// drives it): ?n=COUNT reads bench/out/products-COUNT.json (made by
// examples/shop/make-products.mjs), ?workers=N sets embedWorkers. Sets
// window.result = { ms, toFirstMs, phases, threads, size } or { error }.
import { Recommender } from '../pkg/index.js';

const params = new URLSearchParams(location.search);
const n = params.get('n');
const workers = params.get('workers');
try {
  const items = await (await fetch(`/bench/out/products-${n}.json`)).json();
  const phases = {};
  const started = performance.now();
  const rec = await Recommender.create({
    items,
    textModel: '/assets/minilm-int8.onnx',
    vocab: '/assets/vocab.txt',
    namespace: `bench-items-${n}`,
    ...(workers !== null && { embedWorkers: Number(workers) }),
    onProgress: ({ phase }) => {
      const t = Math.round(performance.now() - started);
      phases[phase] ??= { first: t, last: t };
      phases[phase].last = t;
    },
  });
  const ms = performance.now() - started;
  const list = await rec.recommend({ k: 5, query: 'something warm and waterproof for hiking in the rain' });
  window.result = {
    ms: Math.round(ms), toFirstMs: Math.round(performance.now() - started), phases, size: rec.size,
    top: list.map((r) => r.title), isolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
  document.getElementById('status').textContent = JSON.stringify(window.result);
} catch (e) {
  window.result = { error: `${e.name}: ${e.code ?? ''} ${e.message}` };
}
