#!/usr/bin/env node
// Ranking kernels benchmark in headless Chromium (one page, one core, one user).
//
//   node bench/rank-run.mjs [--quick] [--native bench/out/rank-native.json]
//
// Needs bench/rank-wasm/pkg (wasm-pack build of bench/rank-wasm) and
// bench/node_modules; `scripts/bench.sh rank` does all of that and runs the
// native example first. Prints a table to stdout and writes the figures (with
// the native ones, when given) to bench/out/rank-latest.json; progress goes to
// stderr. Exits non-zero only on real failures (page error, wrong results),
// never because something is slow: the goals are printed, not asserted.

import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const OUT = path.join(BENCH, 'out', 'rank-latest.json');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const QUICK = process.argv.includes('--quick');
const nativeArg = process.argv.indexOf('--native');
const NATIVE = nativeArg > 0 ? process.argv[nativeArg + 1] : null;
// Also time the kernel variants of bench/rank-wasm/src/exp.rs (how the library's were chosen).
const VARIANTS = process.argv.includes('--variants');

const DATA = { rows: 100_000, bigRows: 1_000_000, dim: 384, seed: 42 };
const K = 10;
const EXACT_C = 10;
const PLAN = QUICK
  ? { warmup: 3, rounds: 2, perRound: 3, users: 5 }
  : { warmup: 10, rounds: 5, perRound: 6, users: 20 };
const ROWS = ['stream', 'f32Scan', 'f32', 'i8', 'exact', 'i8Big', 'js'];
// Issue 3, section 3 (Chromium, one core).
const GOALS = { f32Roofline: 0.8, i8Speedup: 2.5, i8Ms: 2.5, i8BigMs: 25 };

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

const progress = (...args) => console.error('[bench-rank]', ...args);
const failures = [];
const fail = (message) => {
  failures.push(message);
  console.error(`[bench-rank] FAILURE: ${message}`);
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// What each row reads: bytes per run and items per run.
function rowSize(name) {
  const { rows, bigRows, dim } = DATA;
  if (name === 'i8' || name === 'exact') return { bytes: rows * dim, items: rows };
  if (name === 'i8Big') return { bytes: bigRows * dim, items: bigRows };
  return { bytes: rows * dim * 4, items: rows };
}

const LABELS = {
  stream: 'stream-read f32 100k x 384 (roofline)',
  f32Scan: 'f32 scan only 100k',
  f32: 'f32 rank 100k top-10',
  i8: 'int8 rank 100k top-10',
  exact: `int8 top-${EXACT_C * K} + f32 rescore 100k`,
  i8Big: 'int8 rank 1M top-10',
  js: 'plain JS loop f32 100k top-10',
};

function derive(ms, roofline) {
  const out = {};
  for (const [name, t] of Object.entries(ms)) {
    const { bytes, items } = rowSize(name);
    const gbs = bytes / t / 1e6;
    out[name] = { ms: t, mItemsPerS: items / t / 1e3, gbs, roofline: gbs / roofline };
  }
  return out;
}

const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');

function table(title, rows, extra) {
  const head = ['row', 'ms', 'M items/s', 'GB/s', 'of roofline'];
  const body = ROWS.filter((n) => rows[n]).map((n) => [
    LABELS[n], f(rows[n].ms, 3), f(rows[n].mItemsPerS, 1), f(rows[n].gbs), `${(rows[n].roofline * 100).toFixed(0)} %`,
  ]);
  const all = [head, ...body];
  const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [title, line(head), w.map((x) => '-'.repeat(x)).join('  '), ...body.map(line), ...extra].join('\n');
}

async function main() {
  const wasm = path.join(BENCH, 'rank-wasm', 'pkg', 'recagent_rank_bench_bg.wasm');
  if (!existsSync(wasm)) throw new Error('missing bench/rank-wasm/pkg (run scripts/bench.sh rank)');
  const load = loadavg()[0];
  if (load > 1.5) progress(`warning: load average ${load.toFixed(2)}; other work on this machine skews the figures`);
  const result = {
    date: new Date().toISOString(),
    quick: QUICK,
    data: DATA,
    k: K,
    exactC: EXACT_C,
    plan: PLAN,
    loadAverageAtStart: loadavg(),
    goals: GOALS,
  };
  const { server, origin } = await serve(ROOT);
  let browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
    result.chromium = browser.version();
    progress(`Chromium ${result.chromium}${QUICK ? ' (quick: few samples)' : ''}`);
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (msg) => console.error(`[page:${msg.type()}] ${msg.text()}`));
    page.on('pageerror', (err) => fail(`page error: ${err.stack || err.message}`));
    page.on('crash', () => fail('page crashed'));
    page.on('response', (res) => {
      if (res.status() >= 400) fail(`HTTP ${res.status()} for ${res.url()}`);
    });
    await page.goto(`${origin}/bench/rank-page.html`);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    progress('generating the catalogs in the page (100k f32 + int8, 1M int8)');
    result.page = await page.evaluate((d) => window.rankBench.setup(d), DATA);
    progress(`kernels: ${result.page.kernel}; wasm memory ${result.page.memoryMiB.toFixed(0)} MiB`);
    if (!result.page.kernel.includes('simd128 at compile time: true')) fail(`not a simd128 build: ${result.page.kernel}`);

    progress(`measuring ${ROWS.join(', ')} (${JSON.stringify(PLAN)})`);
    const samples = await page.evaluate(
      (p) => window.rankBench.measure(p),
      { k: K, c: EXACT_C, ...PLAN, rows: ROWS },
    );
    result.samples = Object.fromEntries(Object.entries(samples).map(([n, xs]) => [n, xs.map((x) => Math.round(x * 1000) / 1000)]));
    const ms = Object.fromEntries(Object.entries(samples).map(([n, xs]) => [n, median(xs)]));
    if (VARIANTS) {
      progress('kernel variants');
      result.variants = await page.evaluate((p) => window.rankBench.variants(p), { warmup: PLAN.warmup, runs: PLAN.rounds * PLAN.perRound });
      for (const [kind, vs] of Object.entries(result.variants)) {
        for (const v of vs) progress(`  ${kind} variant ${v.variant}: ${v.ms.toFixed(3)} ms (checksum ${v.checksum})`);
      }
    }
    progress('recall');
    result.recall = await page.evaluate((p) => window.rankBench.recall(p), { k: K, c: EXACT_C, users: PLAN.users });
    await context.close();

    const roofline = rowSize('stream').bytes / ms.stream / 1e6;
    result.browser = { rooflineGBs: roofline, rows: derive(ms, roofline) };
    result.browser.i8Speedup = ms.f32 / ms.i8;
    result.browser.exactSpeedup = ms.f32 / ms.exact;
    result.browser.jsOverF32 = ms.js / ms.f32;
    if (result.recall.jsAgree < 0.9) fail(`wasm f32 top-${K} and the JS loop's disagree (${result.recall.jsAgree})`);
  } finally {
    await browser?.close().catch(() => {});
    server.closeAllConnections?.();
    server.close();
  }
  result.loadAverageAtEnd = loadavg();

  if (NATIVE && existsSync(NATIVE)) {
    const n = JSON.parse(readFileSync(NATIVE, 'utf8'));
    const roofline = rowSize('stream').bytes / n.ms.stream / 1e6;
    result.native = { ...n, rows: derive(n.ms, roofline) };
  }

  const B = result.browser, R = result.recall;
  const goal = (ok) => (ok ? 'met' : 'NOT met');
  const lines = [
    table(`Chromium ${result.chromium}, ${result.page.kernel}, one core, median of ${PLAN.rounds * PLAN.perRound}`, B.rows, [
      '',
      `int8 speed-up over f32: ${f(B.i8Speedup)}x (int8 + rescore: ${f(B.exactSpeedup)}x); plain JS loop is ${f(B.jsOverF32, 1)}x the f32 kernel`,
      `recall@${K} vs exact f32 over ${R.users} users: int8 ${f(R.i8, 3)} (worst ${f(R.i8Min, 1)}), ` +
        `int8 top-${EXACT_C * K} + f32 rescore ${f(R.exact, 3)} (worst ${f(R.exactMin, 1)}); JS loop agreement ${f(R.jsAgree, 3)}`,
      '',
      'goals (issue 3, Chromium):',
      `  f32 >= ${GOALS.f32Roofline * 100} % of stream-read: ${f(B.rows.f32.roofline * 100, 0)} % (scan only ${f(B.rows.f32Scan.roofline * 100, 0)} %) -> ${goal(B.rows.f32.roofline >= GOALS.f32Roofline)}`,
      `  int8 >= ${GOALS.i8Speedup}x faster than f32: ${f(B.i8Speedup)}x -> ${goal(B.i8Speedup >= GOALS.i8Speedup)}`,
      `  100k int8 <= ${GOALS.i8Ms} ms: ${f(B.rows.i8.ms, 3)} ms -> ${goal(B.rows.i8.ms <= GOALS.i8Ms)}`,
      `  1M int8 <= ${GOALS.i8BigMs} ms: ${f(B.rows.i8Big.ms, 2)} ms -> ${goal(B.rows.i8Big.ms <= GOALS.i8BigMs)}`,
      `  exact results: int8 alone recall ${f(R.i8, 3)}; int8 + rescore ${f(R.exact, 3)} at ${f(B.rows.exact.ms, 3)} ms -> ${goal(R.exact === 1)}`,
    ]),
  ];
  if (result.native) {
    const N = result.native;
    lines.push(
      '',
      table(`native (${N.implementation}, one thread, median of ${N.runs})`, N.rows, [
        '',
        `int8 speed-up over f32: ${f(N.ms.f32 / N.ms.i8)}x; recall@${K}: int8 ${f(N.recall.i8, 3)}, int8 + rescore ${f(N.recall.exact, 3)}`,
      ]),
    );
  }
  if (Math.max(...result.loadAverageAtEnd) > 2.5) lines.push('', `warning: load average ${result.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' ')}: figures may be skewed`);
  console.log(lines.join('\n'));
  await mkdir(path.dirname(OUT), { recursive: true });
  await writeFile(OUT, JSON.stringify(result, null, 2));
  progress(`wrote ${path.relative(ROOT, OUT)}`);
}

main()
  .catch((err) => fail(err.stack || String(err)))
  .finally(() => {
    if (failures.length) console.error(`[bench-rank] ${failures.length} failure(s):\n  ${failures.join('\n  ')}`);
    process.exit(failures.length ? 1 : 0);
  });
