#!/usr/bin/env node
// The application benchmark: recagent as an app uses it, in headless Chromium.
//
//   node bench/app-run.mjs --llm http://127.0.0.1:PORT [--quick]
//
// Needs pkg/ (wasm-pack --target web), assets/ with the ML-100K catalog,
// bench/out/synthetic-100k.rcat and -int8.rcat (examples/synthetic_catalog.rs),
// bench/node_modules and the scripted LLM server (crates/testkit) at
// --llm (default $RECAGENT_LLM_SERVER); `scripts/bench.sh app` does all that.
// Measures .wasm sizes, cold start (uncached and from the Cache API) against
// onnxruntime-web, recommend on 100k items and ask's overhead without the LLM.
// Prints a table to stdout, writes bench/out/app-latest.json; progress goes to
// stderr. Exits non-zero only on real failures (a page error, a failed request,
// wrong results), never because something is slow.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';
import { SINGLE_TEXT } from './texts.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const OUT = path.join(BENCH, 'out', 'app-latest.json');
const ORT_DIST_PATH = '/bench/node_modules/onnxruntime-web/dist/';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const QUICK = process.argv.includes('--quick');
const llmArg = process.argv.indexOf('--llm');
const LLM = llmArg > 0 ? process.argv[llmArg + 1] : process.env.RECAGENT_LLM_SERVER;
const MIN_COSINE = 0.999;
const CATALOGS = [
  { label: 'f32', file: 'bench/out/synthetic-100k.rcat' },
  { label: 'int8', file: 'bench/out/synthetic-100k-int8.rcat' },
];
/** Files recagent's cold start downloads (and then reads from the Cache API). */
const RECAGENT_FILES = ['/assets/catalog/ml-100k.rcat', '/assets/minilm-int8.onnx', '/assets/vocab.txt'];

const PLAN = QUICK
  ? { cold: 1, big: { loads: 1, warmup: 1, runs: 3 }, ask: { warmup: 1, runs: 3 } }
  : { cold: 7, big: { loads: 3, warmup: 3, runs: 20 }, ask: { warmup: 3, runs: 15 } };

const LAUNCH_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const progress = (...args) => console.error('[bench app]', ...args);
const loads = [];
const noteLoad = (step) => loads.push({ step, load1: Math.round(loadavg()[0] * 100) / 100 });
const BUSY_LOAD = 2.5;
const failures = [];
/** Requests the page aborted after a successful response head (noted, not failures). */
const abortedAfterResponse = [];
const fail = (message) => {
  failures.push(message);
  console.error(`[bench app] FAILURE: ${message}`);
};

function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function summary(xs) {
  return {
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    n: xs.length,
    samples: xs.map((x) => Math.round(x * 100) / 100),
  };
}

function sizes(file) {
  const bytes = readFileSync(file);
  return {
    file: path.relative(ROOT, file),
    raw: bytes.length,
    gzip9: gzipSync(bytes, { level: zlibConstants.Z_BEST_COMPRESSION }).length,
  };
}

function cosine(a, b) {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return a.length === b.length && a.length > 0 ? ab / Math.sqrt(aa * bb) : NaN;
}

/** A fresh browser context (empty Cache API, IndexedDB and HTTP cache) that records failures and requests. */
async function newContext(browser, label) {
  const context = await browser.newContext();
  const requests = [];
  context.on('request', (req) => requests.push(new URL(req.url()).pathname));
  context.on('requestfailed', async (req) => {
    // The agent stops reading a stream once the answer is complete (the fetch is
    // then aborted after a 200): not a failure. Anything else is.
    const error = req.failure()?.errorText ?? '';
    const response = await req.response().catch(() => null);
    if (error.includes('ERR_ABORTED') && response && response.status() < 400) abortedAfterResponse.push(`${label}: ${req.url()}`);
    else fail(`${label}: request failed: ${req.url()} (${error})`);
  });
  context.on('response', (res) => {
    if (res.status() >= 400) fail(`${label}: HTTP ${res.status()} for ${res.url()}`);
  });
  return { context, requests };
}

async function openPage(context, label, url) {
  const page = await context.newPage();
  page.on('console', (msg) => console.error(`[${label}:${msg.type()}] ${msg.text()}`));
  page.on('pageerror', (err) => fail(`${label}: page error: ${err.stack || err.message}`));
  page.on('crash', () => fail(`${label}: page crashed`));
  await page.goto(url);
  return page;
}

/** One cold start in `context`: navigates, waits for the page's result. */
async function coldRun(context, requests, label, url) {
  const from = requests.length;
  const page = await openPage(context, label, url);
  await page.waitForFunction(() => window.benchResult || window.benchError, null, { timeout: 120_000 });
  const { result, error } = await page.evaluate(() => ({ result: window.benchResult, error: window.benchError }));
  await page.close();
  if (error) throw new Error(`${label}: ${error}`);
  return { ...result, requests: requests.slice(from) };
}

/** Waits until the Cache API cache `name` holds `count` entries (the loader's put is awaited, so at once). */
async function cacheEntries(context, origin, name) {
  const page = await context.newPage();
  await page.goto(`${origin}/bench/app-page.html?mode=lab`);
  const keys = await page.evaluate(async (n) => (await (await caches.open(n)).keys()).map((r) => new URL(r.url).pathname), name);
  await page.close();
  return keys;
}

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(x >= 100 ? 0 : digits) : '—');
const kib = (n) => `${Math.round(n / 1024).toLocaleString('en-US')} KiB`;
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

function table(rows, headers) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function coldStarts(browser, origin, probe, result) {
  const runs = { recagent: { uncached: [], cached: [] }, ort: { uncached: [], cached: [] } };
  let ortWasm = null;
  const ortUrl = `${origin}/bench/app-page.html?mode=ort&ids=${probe.ids.join(',')}`;
  const urls = { recagent: `${origin}/bench/app-page.html?mode=recagent`, ort: ortUrl };
  for (let i = 0; i < PLAN.cold; i++) {
    for (const rt of i % 2 === 0 ? ['recagent', 'ort'] : ['ort', 'recagent']) {
      const label = `cold-${rt}-${i + 1}`;
      const { context, requests } = await newContext(browser, label);
      try {
        const first = await coldRun(context, requests, `${label}-uncached`, urls[rt]);
        const cacheName = rt === 'recagent' ? 'recagent-v1' : 'ort-bench-v1';
        const expected = rt === 'recagent' ? RECAGENT_FILES : ['/assets/minilm-int8.onnx'];
        const keys = await cacheEntries(context, origin, cacheName);
        if (expected.some((f) => !keys.includes(f))) fail(`${label}: cache ${cacheName} holds ${JSON.stringify(keys)}, expected ${JSON.stringify(expected)}`);
        const second = await coldRun(context, requests, `${label}-cached`, urls[rt]);
        const refetched = second.requests.filter((p) => expected.includes(p));
        if (refetched.length) fail(`${label}: the cached run downloaded ${refetched.join(', ')} again`);
        for (const [kind, r] of [['uncached', first], ['cached', second]]) {
          if (rt === 'recagent') {
            if (r.items?.length !== 10) fail(`${label}-${kind}: first list has ${r.items?.length} items`);
            const fromCache = Object.values(r.files).every((f) => f.events === 1);
            if (kind === 'cached' && !fromCache) fail(`${label}: cached run reported download progress`);
            // Every file arrived whole (a request Chromium reports aborted after its 200 included).
            for (const file of RECAGENT_FILES) {
              const f = r.files[file], size = statSync(path.join(ROOT, file)).size;
              if (!f || f.loaded !== size || f.total !== size) fail(`${label}-${kind}: ${file}: progress ${JSON.stringify(f)}, file has ${size} bytes`);
            }
          } else {
            const cos = cosine(r.embedding, probe.embedding);
            if (!(cos >= MIN_COSINE)) fail(`${label}-${kind}: onnxruntime-web embedding cosine ${cos} < ${MIN_COSINE} vs recagent`);
            r.cosine = cos;
            delete r.embedding;
            if (r.cached !== (kind === 'cached')) fail(`${label}-${kind}: model read ${r.cached ? 'from' : 'without'} the cache`);
            const wasm = [...new Set(r.requests.filter((p) => p.startsWith(ORT_DIST_PATH) && p.endsWith('.wasm')))];
            if (wasm.length !== 1) fail(`${label}: onnxruntime-web requested ${JSON.stringify(wasm)}, expected one .wasm`);
            ortWasm ??= wasm[0];
          }
          runs[rt][kind].push(r);
        }
        const total = (r) => r.marks.rendered;
        progress(`${label}: uncached ${fmt(total(first))} ms, cached ${fmt(total(second))} ms`);
      } finally {
        await context.close();
      }
      noteLoad(label);
    }
  }
  result.cold = runs;
  return ortWasm;
}

async function main() {
  const started = Date.now();
  const recagentWasm = path.join(ROOT, 'pkg', 'recagent_bg.wasm');
  for (const needed of [
    recagentWasm,
    path.join(ROOT, 'pkg', 'recagent.js'),
    ...RECAGENT_FILES.map((f) => path.join(ROOT, f)),
    ...CATALOGS.map((c) => path.join(ROOT, c.file)),
    path.join(ROOT, ORT_DIST_PATH, 'ort.wasm.min.mjs'),
  ]) {
    if (!existsSync(needed)) throw new Error(`missing ${path.relative(ROOT, needed)} (run scripts/bench.sh app)`);
  }
  if (!LLM) throw new Error('no scripted LLM server: pass --llm URL or set RECAGENT_LLM_SERVER (scripts/bench.sh app starts one)');
  const stamp = (f) => `${statSync(f).size}:${statSync(f).mtimeMs}`;
  const wasmStamp = stamp(recagentWasm);
  const ortPackage = JSON.parse(readFileSync(path.join(ROOT, 'bench/node_modules/onnxruntime-web/package.json')));
  const result = {
    date: new Date().toISOString(),
    quick: QUICK,
    onnxruntimeWeb: ortPackage.version,
    node: process.version,
    loadAverageAtStart: loadavg(),
    plan: PLAN,
    llm: LLM,
  };
  if (result.loadAverageAtStart[0] > 1.5) progress(`warning: load average ${result.loadAverageAtStart[0].toFixed(2)} before the run`);

  const { server, origin } = await serve(ROOT);
  progress(`serving ${ROOT} at ${origin}; scripted LLM at ${LLM}`);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
    result.chromium = browser.version();
    progress(`Chromium ${result.chromium}${QUICK ? ' (quick mode: few samples, figures are rough)' : ''}`);

    // recagent's token ids and embedding of one text: the peer's input and its cross-check.
    let lab = await newContext(browser, 'probe');
    let page = await openPage(lab.context, 'probe', `${origin}/bench/app-page.html?mode=lab`);
    await page.waitForFunction(() => window.labReady === true);
    const probe = await page.evaluate((t) => window.lab.embed(t), SINGLE_TEXT);
    result.hardwareConcurrency = await page.evaluate(() => navigator.hardwareConcurrency);
    await lab.context.close();

    progress(`cold starts: ${PLAN.cold} fresh contexts per runtime, each loaded twice (uncached, then Cache API)`);
    const ortWasm = await coldStarts(browser, origin, probe, result);
    result.files = {
      recagentWasm: sizes(recagentWasm),
      ortWasm: sizes(path.join(ROOT, ortWasm ?? `${ORT_DIST_PATH}ort-wasm-simd-threaded.wasm`)),
    };

    result.big = {};
    for (const { label, file } of QUICK ? CATALOGS.slice(0, 1) : CATALOGS) {
      progress(`100k catalog (${label}): ${file}`);
      lab = await newContext(browser, `big-${label}`);
      page = await openPage(lab.context, `big-${label}`, `${origin}/bench/app-page.html?mode=lab`);
      await page.waitForFunction(() => window.labReady === true);
      const r = await page.evaluate(([u, p]) => window.lab.big(u, p), [`/${file}`, PLAN.big]);
      await lab.context.close();
      result.big[label] = r;
      noteLoad(`big-${label}`);
      progress(`  load ${fmt(median(r.loadMs))} ms, memoryBytes ${mb(r.memoryBytes)}, wasm memory after the loads ${mb(r.wasmMemoryBytes)}, recommend ${fmt(median(r.history), 2)} ms, with query ${fmt(median(r.query), 2)} ms`);
    }

    progress(`ask: autonomy 0 and autonomy 2 against ${LLM}`);
    lab = await newContext(browser, 'ask');
    page = await openPage(lab.context, 'ask', `${origin}/bench/app-page.html?mode=lab`);
    await page.waitForFunction(() => window.labReady === true);
    const ask = await page.evaluate(([u, p]) => window.lab.ask(u, p), [LLM, PLAN.ask]);
    await lab.context.close();
    noteLoad('ask');
    for (const r of ask.device) {
      if (r.requests !== 0) fail(`ask at autonomy 0 sent ${r.requests} request(s)`);
      if (r.items === 0) fail('ask at autonomy 0 returned no items');
    }
    for (const r of [...ask.llm, ...ask.llmJson]) {
      if (r.fallback) fail(`ask at autonomy 2 fell back: ${r.fallback}`);
      if (r.requests !== 2 || r.statuses.some((s) => s !== 200)) fail(`ask at autonomy 2: requests ${JSON.stringify(r.statuses)}, expected two 200s`);
      if (!r.tools.includes('recommend:ok')) fail(`ask at autonomy 2: tool steps ${JSON.stringify(r.tools)}, expected recommend:ok`);
      if (r.items === 0) fail('ask at autonomy 2 returned no items');
    }
    for (const r of ask.llmJson) {
      if (r.resourceEntries !== r.requests) progress(`warning: ${r.resourceEntries} Resource Timing entries for ${r.requests} LLM requests in one ask`);
    }
    result.ask = ask;
  } finally {
    await browser?.close().catch(() => {});
    server.closeAllConnections?.();
    server.close();
  }
  if (stamp(recagentWasm) !== wasmStamp) fail('pkg/recagent_bg.wasm changed during the run (a build was writing pkg/): run again');
  result.abortedAfterResponse = abortedAfterResponse;
  result.loadAverageAtEnd = loadavg();
  result.loadAfterEachStep = loads;
  const busiest = loads.reduce((a, b) => (b.load1 > a.load1 ? b : a), { step: 'start', load1: result.loadAverageAtStart[0] });
  await report(result, busiest, started);
}

function report(result, busiest, started) {
  const C = result.cold;
  const m = (runs, key) => median(runs.map((r) => r.marks[key]));
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '—');
  const cold = (kind) => [
    `cold start, ${kind === 'uncached' ? 'not cached (fresh context)' : 'cached (Cache API, 2nd load)'}, ms`,
    fmt(m(C.recagent[kind], 'rendered')),
    fmt(m(C.ort[kind], 'rendered')),
    ratio(m(C.recagent[kind], 'rendered'), m(C.ort[kind], 'rendered')),
    `recagent: to first list; ort: to first embedding; n=${C.recagent[kind].length}`,
  ];
  const F = result.files;
  const lines = [
    ['.wasm raw', kib(F.recagentWasm.raw), kib(F.ortWasm.raw), ratio(F.recagentWasm.raw, F.ortWasm.raw), `ort: ${path.basename(F.ortWasm.file)}`],
    ['.wasm gzip -9', kib(F.recagentWasm.gzip9), kib(F.ortWasm.gzip9), ratio(F.recagentWasm.gzip9, F.ortWasm.gzip9), ''],
    cold('uncached'),
    cold('cached'),
  ];
  const phases = (runs, keys) => keys.map((k) => `${k} ${fmt(m(runs, k))}`).join(', ');
  const big = Object.entries(result.big).map(([label, r]) => [
    [`100k ${label}: bundle / memoryBytes`, `${mb(r.bytes)} / ${mb(r.memoryBytes)}`, '', '', `${r.size} items; wasm linear memory after the loads (the peak) ${mb(r.wasmMemoryBytes)}`],
    [`100k ${label}: catalog load (create from bytes), ms`, fmt(median(r.loadMs)), '', '', `n=${r.loadMs.length}; download ${fmt(r.downloadMs)} ms not incl.; with MiniLM ${fmt(r.createWithModelMs)} ms`],
    [`100k ${label}: recommend k=10, no history, ms`, fmt(median(r.plain), 2), '', '', `first call ${fmt(r.firstMs, 2)} ms; n=${r.plain.length}`],
    [`100k ${label}: recommend k=10 after 3 likes, ms`, fmt(median(r.history), 2), '', '', `n=${r.history.length}`],
    [`100k ${label}: recommend k=10 + text query, ms`, fmt(median(r.query), 2), '', '', 'MiniLM inference included'],
  ]).flat();
  const A = result.ask;
  const med = (runs, f) => median(runs.map(f));
  const askLines = [
    ['ask, autonomy 0 (on device, no request), ms', fmt(med(A.device, (r) => r.totalMs)), '', '', `n=${A.device.length}`],
    ['ask, autonomy 2, streamed (default): total, ms', fmt(med(A.llm, (r) => r.totalMs)), '', '', `2 LLM requests + recommend tool; n=${A.llm.length}`],
    ['  time in the LLM requests (ledger), ms', fmt(med(A.llm, (r) => r.ledgerMs)), '', '', 'Σ durationMs: fetch start to the body read'],
    ['  overhead = total − LLM, ms', fmt(med(A.llm, (r) => r.totalMs - r.ledgerMs)), '', '', 'median of per-ask differences'],
    ['ask, autonomy 2, not streamed: total, ms', fmt(med(A.llmJson, (r) => r.totalMs)), '', '', `stream: false; n=${A.llmJson.length}`],
    ['  time in the LLM requests (ledger), ms', fmt(med(A.llmJson, (r) => r.ledgerMs)), '', '', ''],
    ['  overhead = total − LLM (ledger), ms', fmt(med(A.llmJson, (r) => r.totalMs - r.ledgerMs)), '', '', ''],
    ['  time in the LLM requests (Resource Timing), ms', fmt(med(A.llmJson, (r) => r.resourceMs)), '', '', 'Σ responseEnd − startTime'],
    ['  overhead = total − LLM (Resource Timing), ms', fmt(med(A.llmJson, (r) => r.totalMs - r.resourceMs)), '', '', ''],
  ];
  const text = [
    `recagent application benchmark — Chromium ${result.chromium}, headless, ${result.hardwareConcurrency} cores; onnxruntime-web ${result.onnxruntimeWeb} (wasm EP, 1 thread)`,
    `medians; ratio = recagent / onnxruntime-web${result.quick ? '; QUICK MODE: few samples' : ''}`,
    '',
    table([...lines, ...big, ...askLines], ['row', 'recagent', 'ort-web', 'ratio', 'notes']),
    '',
    `cold start phases, recagent (ms since navigation, median): not cached: ${phases(C.recagent.uncached, ['moduleStart', 'imported', 'init', 'created', 'recommended', 'rendered'])}; cached: ${phases(C.recagent.cached, ['init', 'created', 'recommended', 'rendered'])}`,
    `cold start phases, ort (ms since navigation, median): not cached: ${phases(C.ort.uncached, ['moduleStart', 'imported', 'modelBytes', 'created', 'embedded', 'rendered'])}; cached: ${phases(C.ort.cached, ['modelBytes', 'created', 'embedded', 'rendered'])}`,
    `recagent's cold start loads the ML-100K catalog (3.7 MB), MiniLM (22.9 MB) and the vocab, ranks and renders 10 items; ort's loads MiniLM and embeds one text (ids given; no tokenizer, no catalog). Server: Cache-Control no-store (no HTTP cache); both read their files from the Cache API on the 2nd load, both fetch their .wasm and JS every time.`,
    `ask: the scripted server's planner mode (1st completion calls recommend, 2nd answers); autonomy 0 and 2 alternate on the same 4 texts. Streamed, the agent stops reading (aborts) the last stream once its answer is complete, so Resource Timing's responseEnd is the abort: only the ledger is used there.`,
    `cosine ort vs recagent (first embedding): min ${Math.min(...C.ort.uncached.concat(C.ort.cached).map((r) => r.cosine)).toFixed(6)}`,
    `top after 3 likes (100k ${Object.keys(result.big)[0]}): ${Object.values(result.big)[0].top.slice(0, 5).join(' | ')}`,
    `load average (1 min) at start ${result.loadAverageAtStart[0].toFixed(2)}, highest ${busiest.load1.toFixed(2)} (after ${busiest.step}), at end ${result.loadAverageAtEnd[0].toFixed(2)}` +
      (busiest.load1 > BUSY_LOAD ? ' — WARNING: load > 2.5, other work was running on this machine; the figures are skewed' : ''),
    `total time ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n');
  result.seconds = (Date.now() - started) / 1000;
  result.failures = failures;
  console.log(text);
  return mkdir(path.dirname(OUT), { recursive: true })
    .then(() => writeFile(OUT, `${JSON.stringify(result, null, 2)}\n`))
    .then(() => progress(`wrote ${path.relative(ROOT, OUT)}`));
}

const watchdog = setTimeout(() => {
  console.error('[bench app] FAILURE: timed out after 12 minutes');
  process.exit(2);
}, 12 * 60_000);
watchdog.unref();

main()
  .catch((err) => fail(err.stack || String(err)))
  .finally(() => {
    if (failures.length) console.error(`[bench app] ${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
    process.exit(failures.length ? 1 : 0);
  });
