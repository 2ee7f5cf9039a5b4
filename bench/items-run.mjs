#!/usr/bin/env node
// A catalog built in the browser from the app's own items
// (`Recommender.create({ items })`), in headless Chromium on a
// crossOriginIsolated page (bench/server.mjs): for each count, a fresh
// browser profile loads the page twice — the first visit embeds every item
// (encoder pool workers) and keeps the catalog in IndexedDB, the second reads
// it from there. Prints medians of `create` and of page load to the first
// recommendation, with the machine's load average; writes
// bench/out/items-latest.json. Figures, not asserts: exits non-zero only when
// a run fails.
//
//   node bench/items-run.mjs [--counts 1000,10000] [--runs 3] [--workers N]
//
// Needs pkg/, assets/ and bench/out/products-COUNT.json (scripts/bench.sh items).
import { mkdir, rm, writeFile, mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './server.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const COUNTS = arg('--counts', '1000,10000').split(',').map(Number);
const RUNS = Number(arg('--runs', '3'));
const WORKERS = arg('--workers', null);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const log = (...a) => console.error('[bench items]', ...a);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const load1 = () => Math.round(loadavg()[0] * 100) / 100;

async function visit(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const started = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 1_800_000 });
  const result = await page.evaluate(() => window.result);
  result.pageMs = Date.now() - started;
  await page.close();
  if (result.error || errors.length) throw new Error(`${url}: ${result.error ?? errors.join('; ')}`);
  return result;
}

const { server, origin } = await serve(ROOT);
const out = { date: new Date().toISOString(), loadAverageAtStart: loadavg(), runs: RUNS, counts: {} };
let failed = false;
try {
  for (const n of COUNTS) {
    const first = [];
    const second = [];
    for (let r = 0; r < RUNS; r++) {
      const dir = await mkdtemp(path.join(tmpdir(), 'recagent-items-'));
      const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: ARGS });
      try {
        const url = `${origin}/bench/items-page.html?n=${n}${WORKERS !== null ? `&workers=${WORKERS}` : ''}`;
        const a = await visit(context, url);
        a.load1 = load1();
        const b = await visit(context, url);
        b.load1 = load1();
        first.push(a);
        second.push(b);
        log(`${n} items, run ${r + 1}/${RUNS}: build ${a.ms} ms (embed ${a.phases.embed ? a.phases.embed.last - a.phases.embed.first : '?'} ms), ` +
          `second load ${b.ms} ms; isolated ${a.isolated}, load ${a.load1}`);
      } finally {
        await context.close();
        await rm(dir, { recursive: true, force: true });
      }
    }
    out.counts[n] = { first, second };
  }
} catch (e) {
  failed = true;
  log(`FAILURE: ${e.message}`);
} finally {
  await server.close?.();
}
await mkdir(path.join(BENCH, 'out'), { recursive: true });
await writeFile(path.join(BENCH, 'out', 'items-latest.json'), JSON.stringify(out, null, 2));
console.log(`Recommender.create({ items }) in Chromium (crossOriginIsolated page, ${RUNS} runs, medians; ` +
  `load average at start ${out.loadAverageAtStart.map((x) => x.toFixed(2)).join(' ')})`);
console.log('items     | first visit: create | to first result | second visit (IndexedDB): create | to first result | load');
for (const [n, { first, second }] of Object.entries(out.counts)) {
  if (!first.length) continue;
  const f = (xs, k) => `${median(xs.map((x) => x[k]))} ms`;
  console.log(`${String(n).padEnd(9)} | ${f(first, 'ms').padStart(19)} | ${f(first, 'toFirstMs').padStart(15)} | ` +
    `${f(second, 'ms').padStart(32)} | ${f(second, 'toFirstMs').padStart(15)} | ${median(first.map((x) => x.load1))}`);
}
process.exit(failed ? 1 : 0);
