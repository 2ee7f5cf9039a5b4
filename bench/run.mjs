#!/usr/bin/env node
// recagent vs onnxruntime-web, in headless Chromium, on the same ONNX files.
//
//   node bench/run.mjs [--quick] [--pool] [--rows single,batch,image,imageData,pool,threads2,cold]
//
// Needs pkg/ (wasm-pack --target web), assets/ (scripts/setup.sh) and
// bench/node_modules (npm ci in bench/); scripts/bench.sh does all of that.
// Prints a table to stdout and writes the same figures to bench/out/latest.json;
// progress goes to stderr. Exits non-zero only on real failures (a page
// error, embeddings that disagree), never because something is slow.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');

const ORT_DIST_PATH = '/bench/node_modules/onnxruntime-web/dist/';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const QUICK = process.argv.includes('--quick');
// Only the encoder pool rows (and onnxruntime-web 1 vs 2 threads on the same texts).
const POOL_ONLY = process.argv.includes('--pool');
// Only some rows (while working on one lever): `--rows single,batch,cold`.
const ROWS_ARG = process.argv.indexOf('--rows');
const ALL_ROWS = ['single', 'batch', 'image', 'imageData', 'pool', 'threads2', 'cold'];
const ROWS = new Set(ROWS_ARG >= 0 ? (process.argv[ROWS_ARG + 1] ?? '').split(',') : POOL_ONLY ? ['pool', 'threads2'] : ALL_ROWS);
for (const r of ROWS) if (!ALL_ROWS.includes(r)) throw new Error(`--rows: unknown row ${r} (rows: ${ALL_ROWS.join(', ')})`);
const SOME_ROWS = ROWS_ARG >= 0;
const OUT = path.join(BENCH, 'out', POOL_ONLY ? 'pool-latest.json' : SOME_ROWS ? 'rows-latest.json' : 'latest.json');
const MIN_COSINE = 0.999;
const BATCH = 64;
// The encoder pool rows: a catalog-sized batch, so start-up and chunking amortize.
const POOL_BATCH = 256;

// Warm-up and sampling per row. Each runtime does `warmup` untimed runs, then
// `rounds` rounds of `perRound` timed runs, alternating the runtimes.
const PLAN = QUICK
  ? {
      single: { warmup: 3, rounds: 2, perRound: 3 },
      batch: { warmup: 1, rounds: 2, perRound: 1 },
      image: { warmup: 2, rounds: 2, perRound: 2 },
      imageData: { warmup: 1, rounds: 2, perRound: 2 },
      pool: { warmup: 1, rounds: 2, perRound: 1 },
      cold: 1,
    }
  : {
      single: { warmup: 20, rounds: 5, perRound: 10 },
      batch: { warmup: 15, rounds: 5, perRound: 2 },
      image: { warmup: 15, rounds: 5, perRound: 5 },
      imageData: { warmup: 5, rounds: 5, perRound: 5 },
      pool: { warmup: 2, rounds: 5, perRound: 1 },
      cold: 3,
    };

const LAUNCH_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const progress = (...args) => console.error('[bench]', ...args);
// 1-minute load average after each step: the benchmark itself keeps it near 1
// (2 in the 2-thread rows); well above that, something else was running.
const loads = [];
const noteLoad = (step) => loads.push({ step, load1: Math.round(loadavg()[0] * 100) / 100 });
const BUSY_LOAD = 2.5;
const failures = [];
const fail = (message) => {
  failures.push(message);
  console.error(`[bench] FAILURE: ${message}`);
};

function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

function summary(samples, divisor = 1) {
  const xs = samples.map((x) => x / divisor);
  return {
    median: median(xs),
    p25: quantile(xs, 0.25),
    p75: quantile(xs, 0.75),
    min: Math.min(...xs),
    n: xs.length,
    samples: xs.map((x) => Math.round(x * 1000) / 1000),
  };
}

function sizes(file) {
  const bytes = readFileSync(file);
  return {
    file: path.relative(ROOT, file),
    raw: bytes.length,
    gzip9: gzipSync(bytes, { level: zlibConstants.Z_BEST_COMPRESSION }).length,
    brotli11: brotliCompressSync(bytes, {
      params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

async function openPage(browser, origin, label, requests) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (msg) => {
    const type = msg.type();
    console.error(`[${label}:${type}] ${msg.text()}`);
  });
  page.on('pageerror', (err) => fail(`${label}: page error: ${err.stack || err.message}`));
  page.on('crash', () => fail(`${label}: page crashed`));
  page.on('requestfailed', (req) => fail(`${label}: request failed: ${req.url()} (${req.failure()?.errorText})`));
  page.on('response', (res) => {
    if (res.status() >= 400) fail(`${label}: HTTP ${res.status()} for ${res.url()}`);
    if (requests) requests.push(new URL(res.url()).pathname);
  });
  await page.goto(`${origin}/bench/page.html`);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
  return { context, page };
}

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(x >= 100 ? 0 : digits) : '—');
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;

function table(rows, headers) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main() {
  const started = Date.now();
  const recagentWasm = path.join(ROOT, 'pkg', 'recagent_bg.wasm');
  for (const needed of [
    recagentWasm,
    path.join(ROOT, 'pkg', 'recagent.js'),
    path.join(ROOT, 'assets', 'minilm-int8.onnx'),
    path.join(ROOT, 'assets', 'mobilenetv2-embedding.onnx'),
    path.join(ROOT, ORT_DIST_PATH, 'ort.wasm.min.mjs'),
  ]) {
    if (!existsSync(needed)) throw new Error(`missing ${path.relative(ROOT, needed)} (run scripts/bench.sh)`);
  }
  // A build running next to the benchmark (2 cores) skews every figure, and one
  // that rewrites pkg/ mid-run mixes two builds: note the first, fail on the second.
  const stamp = (f) => {
    const st = statSync(f);
    return `${st.size}:${st.mtimeMs}`;
  };
  const wasmStamp = stamp(recagentWasm);
  const load = loadavg()[0];
  if (load > 1.5) progress(`warning: load average ${load.toFixed(2)} before the run; other work on this machine will skew the figures`);
  const ortPackage = JSON.parse(readFileSync(path.join(ROOT, 'bench/node_modules/onnxruntime-web/package.json')));

  const result = {
    date: new Date().toISOString(),
    quick: QUICK,
    chromium: null,
    onnxruntimeWeb: ortPackage.version,
    node: process.version,
    loadAverageAtStart: loadavg(),
    plan: PLAN,
    rows: {},
  };

  const { server, origin } = await serve(ROOT);
  progress(`serving ${ROOT} at ${origin}`);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
    result.chromium = browser.version();
    progress(`Chromium ${result.chromium}${QUICK ? ' (quick mode: few samples, figures are rough)' : ''}`);

    // ---- main page: both runtimes, 1 thread each
    const mainRequests = [];
    const main = await openPage(browser, origin, 'page', mainRequests);
    progress('setting up both runtimes (1 thread each)');
    const info = await main.page.evaluate(() => window.bench.setup({ threads: 1 }));
    result.page = info;
    progress(
      `crossOriginIsolated=${info.crossOriginIsolated}, tokens: single ${info.singleTokens}, ` +
        `batch ${info.batchTokens.min}-${info.batchTokens.max} (mean ${info.batchTokens.mean.toFixed(1)})`,
    );
    if (!info.crossOriginIsolated) progress('warning: page is not crossOriginIsolated; the 2-thread row will fall back');

    const cos = await main.page.evaluate(() => window.bench.checks());
    result.cosine = cos;
    progress(
      `cosine recagent vs onnxruntime-web: single ${cos.single.toFixed(6)}, batch min ${cos.batchMin.toFixed(6)}, ` +
        `image ${cos.image.toFixed(6)} (embedImageData ${cos.imageData.toFixed(6)})`,
    );
    if (!(cos.single >= MIN_COSINE)) fail(`single-text cosine ${cos.single} < ${MIN_COSINE}`);
    if (!(cos.batchMin >= MIN_COSINE)) fail(`batch cosine (min over ${BATCH}) ${cos.batchMin} < ${MIN_COSINE}`);
    if (!(cos.image >= MIN_COSINE)) fail(`image cosine ${cos.image} < ${MIN_COSINE}`);

    for (const row of ['single', 'batch', 'image', 'imageData'].filter((r) => ROWS.has(r))) {
      progress(`measuring ${row} (${JSON.stringify(PLAN[row])})`);
      const t0 = Date.now();
      const samples = await main.page.evaluate(([r, p]) => window.bench.measure(r, p), [row, PLAN[row]]);
      const div = row === 'batch' ? BATCH : 1;
      result.rows[row] = { recagent: summary(samples.recagent, div), ort: summary(samples.ort, div) };
      noteLoad(row);
      progress(
        `  ${row}: recagent ${fmt(result.rows[row].recagent.median, 2)} ms, ` +
          `onnxruntime-web ${fmt(result.rows[row].ort.median, 2)} ms (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }

    // ---- the encoder pool: 1, 2 (and hardwareConcurrency) workers, same texts, same page
    if (ROWS.has('pool')) {
      const poolSizes = [...new Set([1, 2, info.hardwareConcurrency])].sort((a, b) => a - b);
      progress(`encoder pool: ${POOL_BATCH} texts, workers ${poolSizes.join(', ')}`);
      result.pool = await main.page.evaluate((x) => window.bench.setupPool(x), { n: POOL_BATCH, sizes: poolSizes });
      for (const [w, p] of Object.entries(result.pool)) {
        progress(`  pool ${w}: ${p.threads.workers} worker(s), shared memory ${p.threads.sharedMemory}, created in ${fmt(p.createMs)} ms, min cosine vs embedBatch ${p.minCos.toFixed(7)}`);
        if (!(p.minCos >= 0.9999)) fail(`pool of ${w}: cosine ${p.minCos} < 0.9999 against TextEmbedder.embedBatch`);
        if (p.threads.workers !== Number(w)) fail(`pool of ${w} runs ${p.threads.workers} worker(s): ${p.threads.reason}`);
      }
      {
        const samples = await main.page.evaluate(([r, p]) => window.bench.measure(r, p), ['pool', PLAN.pool]);
        result.rows.pool = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v, POOL_BATCH)]));
        noteLoad('pool');
        progress(`  pool: ${Object.entries(result.rows.pool).map(([k, v]) => `${k} ${fmt(v.median, 2)}`).join(', ')} ms/item`);
      }
    }
    const ids = await main.page.evaluate(() => window.bench.getIds());
    await main.context.close();

    const ortWasmPaths = [...new Set(mainRequests.filter((p) => p.startsWith(ORT_DIST_PATH) && p.endsWith('.wasm')))];
    if (ortWasmPaths.length !== 1) fail(`expected onnxruntime-web to load one .wasm, saw ${JSON.stringify(ortWasmPaths)}`);
    const ortWasmFile = path.basename(ortWasmPaths[0] ?? 'ort-wasm-simd-threaded.wasm');
    const ortModules = [...new Set(mainRequests.filter((p) => p.startsWith(ORT_DIST_PATH) && p.endsWith('.mjs')))];
    result.files = {
      recagentWasm: sizes(recagentWasm),
      recagentJs: sizes(path.join(ROOT, 'pkg', 'recagent.js')),
      ortWasm: sizes(path.join(ROOT, ORT_DIST_PATH, ortWasmFile)),
      ortJs: ortModules.map((p) => sizes(path.join(ROOT, p))),
    };
    progress(`onnxruntime-web loaded ${ortWasmFile} and ${ortModules.map((p) => path.basename(p)).join(', ')}`);

    // ---- onnxruntime-web with 2 threads (needs crossOriginIsolated), fresh page
    if (ROWS.has('threads2')) {
      progress('onnxruntime-web with numThreads = 2');
      const threaded = await openPage(browser, origin, 'page-2t');
      const tinfo = await threaded.page.evaluate(() => window.bench.setup({ threads: 2, recagent: false }));
      result.threads2 = { crossOriginIsolated: tinfo.crossOriginIsolated, ortThreads: tinfo.ortThreads };
      if (tinfo.ortThreads !== 2) progress(`warning: onnxruntime-web runs with ${tinfo.ortThreads} thread(s), not 2`);
      await threaded.page.evaluate((x) => window.bench.setIds(x), ids);
      for (const row of ['single', 'batch', 'pool'].filter((r) => ROWS.has(r))) {
        progress(`measuring ${row}, onnxruntime-web 2 threads`);
        const samples = await threaded.page.evaluate(([r, p]) => window.bench.measure(r, p, ['ort']), [row, PLAN[row]]);
        result.threads2[row] = summary(samples.ort, { batch: BATCH, pool: POOL_BATCH }[row] ?? 1);
        noteLoad(`${row}-2threads`);
        progress(`  ${row}: onnxruntime-web 2 threads ${fmt(result.threads2[row].median, 2)} ms`);
      }
      await threaded.context.close();
    }

    // ---- cold start: a fresh browser context (empty caches) per measurement, alternating
    const cold = { recagent: [], ort: [] };
    for (let i = 0; i < (ROWS.has('cold') ? PLAN.cold : 0); i++) {
      for (const rt of i % 2 === 0 ? ['recagent', 'ort'] : ['ort', 'recagent']) {
        const fresh = await openPage(browser, origin, `cold-${rt}`);
        const r =
          rt === 'recagent'
            ? await fresh.page.evaluate(() => window.bench.coldRecagent())
            : await fresh.page.evaluate((x) => window.bench.coldOrt(x), { ids: ids.singleIds, wasmFile: ortWasmFile });
        await fresh.context.close();
        cold[rt].push(r);
        noteLoad(`cold-${rt}-${i + 1}`);
        progress(`cold start ${i + 1}/${PLAN.cold} ${rt}: ${fmt(r.total)} ms (${JSON.stringify(r, (k, v) => (typeof v === 'number' ? Math.round(v) : v))})`);
      }
    }
    if (ROWS.has('cold')) result.rows.cold = {
      recagent: { ...summary(cold.recagent.map((r) => r.total)), runs: cold.recagent },
      ort: { ...summary(cold.ort.map((r) => r.total)), runs: cold.ort },
    };
  } finally {
    await browser?.close().catch(() => {});
    server.closeAllConnections?.();
    server.close();
  }

  if (stamp(recagentWasm) !== wasmStamp) {
    fail('pkg/recagent_bg.wasm changed during the run (a build was writing pkg/): figures mix two builds, run again');
  }
  result.loadAverageAtEnd = loadavg();
  result.loadAfterEachStep = loads;
  const busiest = loads.reduce((a, b) => (b.load1 > a.load1 ? b : a), { step: 'start', load1: result.loadAverageAtStart[0] });

  // ---- report
  const R = result.rows;
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '—');
  const row = (label, a, b, note) => [label, fmt(a, 2), fmt(b, 2), ratio(a, b), note];
  const T2 = result.threads2 ?? {};
  const poolLines = !R.pool || !result.pool ? [] : [
    row(`text, ${POOL_BATCH} texts, main thread (ms/item)`, R.pool.recagent.median, R.pool.ort.median, 'recagent embedBatch vs ort 1 thread, padded runs of 64'),
    ...Object.keys(result.pool).map((w) =>
      row(`text, ${POOL_BATCH} texts, EncoderPool ${w} worker${w === '1' ? '' : 's'} (ms/item)`, R.pool[`pool${w}`].median,
        w === '1' ? R.pool.ort.median : T2.pool?.median, w === '1' ? 'vs ort 1 thread' : `vs ort ${result.threads2.ortThreads} threads`)),
  ];
  const speedup = !R.pool || !result.pool ? '' :
    `speed-up of 2 over 1 on ${POOL_BATCH} texts (same run): EncoderPool 2 vs 1 worker x${ratio(R.pool.pool1.median, R.pool.pool2.median)}, ` +
    `onnxruntime-web ${result.threads2.ortThreads} vs 1 thread x${ratio(R.pool.ort.median, T2.pool?.median)}; ` +
    `EncoderPool 2 workers vs recagent on the main thread x${ratio(R.pool.recagent.median, R.pool.pool2.median)}` +
    (R.pool[`pool${result.page.hardwareConcurrency}`] && result.page.hardwareConcurrency > 2
      ? `; ${result.page.hardwareConcurrency} workers x${ratio(R.pool.pool1.median, R.pool[`pool${result.page.hardwareConcurrency}`].median)}`
      : '');
  const loadLine =
    `load average (1 min) at start ${result.loadAverageAtStart[0].toFixed(2)}, highest ${busiest.load1.toFixed(2)} (after ${busiest.step}), at end ${result.loadAverageAtEnd[0].toFixed(2)}` +
    (busiest.load1 > BUSY_LOAD
      ? ` — WARNING: other work was running on this machine, the figures are skewed; run again on an idle machine`
      : ' (figures need an otherwise idle machine)');
  // A row is printed when its figures were measured (`--rows` can leave some out).
  const when = (cond, make) => (cond ? [make()] : []);
  const lines = POOL_ONLY ? poolLines : [
    ...when(R.single, () => row('text, single ~32 tok (ms/text)', R.single.recagent.median, R.single.ort.median, 'ort: tokenisation excluded')),
    ...when(R.batch, () => row(`text, batch of ${BATCH} (ms/item)`, R.batch.recagent.median, R.batch.ort.median, 'ort: one run, padded to longest')),
    ...when(R.image, () => row('image, recagent embedEncoded (ms)', R.image.recagent.median, R.image.ort.median, 'recagent: PNG decode+resize+net; ort: tensor only')),
    ...when(R.imageData, () => row('image, recagent embedImageData (ms)', R.imageData.recagent.median, R.imageData.ort.median, 'recagent: crop+normalise+net; ort: tensor only')),
    ...when(R.cold, () => row('cold start, text (ms, median of fresh pages)', R.cold.recagent.median, R.cold.ort.median, `init+create+first embed, n=${R.cold.ort.n}`)),
    ...when(R.single && T2.single, () => row('text, single, ort 2 threads (ms/text)', R.single.recagent.median, T2.single.median, `recagent 1 thread vs ort ${T2.ortThreads} threads`)),
    ...when(R.batch && T2.batch, () => row(`text, batch, ort 2 threads (ms/item)`, R.batch.recagent.median, T2.batch.median, `recagent 1 thread vs ort ${T2.ortThreads} threads`)),
    ...poolLines,
  ];
  const F = result.files;
  const sizeLines = [
    ['.wasm raw', kib(F.recagentWasm.raw), kib(F.ortWasm.raw), ratio(F.recagentWasm.raw, F.ortWasm.raw), `ort: ${path.basename(F.ortWasm.file)}`],
    ['.wasm gzip -9', kib(F.recagentWasm.gzip9), kib(F.ortWasm.gzip9), ratio(F.recagentWasm.gzip9, F.ortWasm.gzip9), ''],
    ['.wasm brotli -11', kib(F.recagentWasm.brotli11), kib(F.ortWasm.brotli11), ratio(F.recagentWasm.brotli11, F.ortWasm.brotli11), 'what a server sends with Content-Encoding: br'],
    [
      'JS glue gzip -9',
      kib(F.recagentJs.gzip9),
      kib(F.ortJs.reduce((a, f) => a + f.gzip9, 0)),
      ratio(F.recagentJs.gzip9, F.ortJs.reduce((a, f) => a + f.gzip9, 0)),
      `ort: ${F.ortJs.map((f) => path.basename(f.file)).join(' + ')}`,
    ],
  ];
  const cos = result.cosine;
  const text = POOL_ONLY ? [
    `EncoderPool vs onnxruntime-web ${result.onnxruntimeWeb} on ${POOL_BATCH} texts — Chromium ${result.chromium}, headless, ${result.page.hardwareConcurrency} cores, ` +
      `crossOriginIsolated ${result.page.crossOriginIsolated}; medians, ms per item${QUICK ? '; QUICK MODE: few samples' : ''}`,
    '',
    table(poolLines, ['row', 'recagent', 'ort-web', 'ratio', 'notes']),
    '',
    speedup,
    loadLine,
    `samples: pool ${R.pool?.pool1.n} batches per runtime; total time ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n') : [
    `recagent vs onnxruntime-web ${result.onnxruntimeWeb} (wasm EP, 1 thread unless noted) — Chromium ${result.chromium}, headless, ${result.page.hardwareConcurrency} cores`,
    `medians; ratio = recagent / onnxruntime-web (lower is better for recagent)${QUICK ? '; QUICK MODE: few samples' : ''}`,
    '',
    table([...lines, ...sizeLines], ['row', 'recagent', 'ort-web', 'ratio', 'notes']),
    '',
    `cosine recagent vs ort: single ${cos.single.toFixed(6)}, batch min ${cos.batchMin.toFixed(6)}, image (embedEncoded vs ort on chelsea.input.f32) ${cos.image.toFixed(6)}, image embedImageData ${cos.imageData.toFixed(6)} (browser-resized pixels, not checked)`,
    `tokens: single ${result.page.singleTokens}, batch ${result.page.batchTokens.min}-${result.page.batchTokens.max} (mean ${result.page.batchTokens.mean.toFixed(1)}); ` +
      `crossOriginIsolated ${result.page.crossOriginIsolated}`,
    ...when(R.cold, () => `cold start recagent (ms, each run): ${R.cold.recagent.runs.map((r) => `${fmt(r.total)} [instantiate ${fmt(r.instantiate)}, create ${fmt(r.create)}, first ${fmt(r.first)}]`).join('; ')}`),
    ...when(R.cold, () => `cold start ort      (ms, each run): ${R.cold.ort.runs.map((r) => `${fmt(r.total)} [create incl. wasm init ${fmt(r.create)}, first ${fmt(r.first)}]`).join('; ')}`),
    `recagent's text rows include its own tokenisation; recagent's batch sorts by length and chunks; ort's batch is one padded run.`,
    speedup,
    loadLine,
    `samples: single ${R.single?.ort.n}/runtime, batch ${R.batch?.ort.n}, image ${R.image?.ort.n}; total time ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n');
  result.seconds = (Date.now() - started) / 1000;
  result.failures = failures;
  await mkdir(path.dirname(OUT), { recursive: true });
  await writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`);
  console.log(text);
  progress(`wrote ${path.relative(ROOT, OUT)}`);
}

const watchdog = setTimeout(() => {
  console.error('[bench] FAILURE: timed out after 30 minutes');
  process.exit(2);
}, 30 * 60_000);
watchdog.unref();

main()
  .catch((err) => fail(err.stack || String(err)))
  .finally(() => {
    if (failures.length) {
      console.error(`[bench] ${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
    }
    // Nothing should be left running, but never hang on a stray handle either.
    process.exit(failures.length ? 1 : 0);
  });
