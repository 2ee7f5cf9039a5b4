// Durability of the memory in Chromium, over the built pkg/ (issue 14 §5):
// - two pages of one origin (two tabs) remember 1,000 facts between them,
//   interleaved, 8 calls in flight per page: every one is listed afterwards,
//   each with its own id;
// - 20 times, a page writes a burst of remembers (4 in flight) and its
//   renderer is killed mid-burst (CDP Page.crash): a new page opens the same
//   store (IndexedDB, not the memory fallback), and every remember whose
//   promise resolved before the crash is listed.
// Prints the figures (lost writes, remembers per second with MiniLM).
// Needs pkg/ and the assets: scripts/serve.sh --build (scripts/test.sh does it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { root, launch } from "./harness.mjs";
import { serve } from "./server.mjs";

const CRASHES = 20;
let server, browser;

before(async () => {
  for (const f of ["pkg/recagent.js", "assets/catalog/ml-100k.rcat", "assets/minilm-int8.onnx", "assets/vocab.txt"]) {
    await stat(join(root, f)).catch(() => { throw new Error(`${f} is missing: run scripts/serve.sh --build`); });
  }
  server = await serve(root);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/**
 * A page of the server's origin whose `window.mem` is the memory of
 * namespace `ns` (the text model loaded: remember embeds). The page is a
 * plain (404) document of the origin; the package is imported into it.
 */
async function openMemory(context, ns, errors) {
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.url}durability-blank`);
  await page.evaluate(async (ns) => {
    const m = await import("/pkg/recagent.js");
    await m.default();
    const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    window.rec = await m.Recommender.create({
      catalog: await bytes("/assets/catalog/ml-100k.rcat"),
      textModel: await bytes("/assets/minilm-int8.onnx"),
      vocab: await (await fetch("/assets/vocab.txt")).text(),
      namespace: ns,
    });
    window.mem = window.rec.memory;
  }, ns);
  return page;
}

const listed = async (page) => new Set(await page.evaluate(async () => (await window.mem.list()).map((f) => f.text)));

test("two pages remember 1,000 facts interleaved: every one is listed", async () => {
  const errors = [];
  const context = await browser.newContext();
  const [a, b] = await Promise.all([openMemory(context, "two-tabs", errors), openMemory(context, "two-tabs", errors)]);
  const burst = (page, tab) => page.evaluate(async (tab) => {
    const ids = [];
    let next = 0;
    const caller = async () => {
      while (next < 500) {
        const i = next++;
        ids.push((await window.mem.remember(`tab ${tab} remembers fact ${i}`)).id);
      }
    };
    await Promise.all(Array.from({ length: 8 }, caller));
    return ids;
  }, tab);
  const started = performance.now();
  const [idsA, idsB] = await Promise.all([burst(a, "A"), burst(b, "B")]);
  const seconds = (performance.now() - started) / 1000;
  const expected = [];
  for (const tab of ["A", "B"]) for (let i = 0; i < 500; i++) expected.push(`tab ${tab} remembers fact ${i}`);
  const inA = await listed(a);
  const inB = await listed(b);
  const lost = expected.filter((t) => !inA.has(t)).length;
  console.log(`two pages, 1,000 interleaved remembers: ${lost} lost; ` +
    `${(1000 / seconds).toFixed(0)} remembers/s (MiniLM included, ${seconds.toFixed(1)} s)`);
  assert.equal(lost, 0);
  assert.equal(expected.filter((t) => !inB.has(t)).length, 0, "the other page lists them too");
  assert.equal(new Set([...idsA, ...idsB]).size, 1000, "every remember got its own id");
  assert.equal(await a.evaluate(async () => (await window.mem.estimate()).corrupt), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test(`${CRASHES} renderer crashes during write bursts lose no committed write`, async () => {
  const errors = [];
  const context = await browser.newContext();
  const committed = new Set();
  await context.exposeBinding("__committed", (_source, text) => { committed.add(text); });
  let page = await openMemory(context, "crashes", errors);
  let lost = 0;
  for (let round = 0; round < CRASHES; round++) {
    // A burst that runs until the renderer dies; each resolved remember is reported at once.
    await page.evaluate((round) => {
      let i = 0;
      const caller = async () => {
        for (;;) {
          const text = `round ${round} fact ${i++}`;
          await window.mem.remember(text);
          window.__committed(text);
        }
      };
      for (let k = 0; k < 4; k++) caller();
    }, round);
    await new Promise((r) => setTimeout(r, 150 + ((round * 97) % 350)));
    const crashed = page.waitForEvent("crash");
    const cdp = await context.newCDPSession(page);
    cdp.send("Page.crash").catch(() => {}); // never answers: the renderer is gone
    await crashed;
    await page.close().catch(() => {});
    page = await openMemory(context, "crashes", errors);
    assert.equal(await page.evaluate(() => window.mem.persistent), true, `round ${round}: the store opens (IndexedDB)`);
    const now = await listed(page);
    const missing = [...committed].filter((t) => !now.has(t));
    lost += missing.length;
    assert.deepEqual(missing, [], `round ${round}: every resolved remember survived the crash`);
  }
  console.log(`${CRASHES} renderer crashes: ${committed.size} resolved remembers, ${lost} lost`);
  assert.ok(committed.size >= CRASHES, `the bursts wrote (${committed.size} remembers)`);
  assert.equal(await page.evaluate(async () => (await window.mem.estimate()).corrupt), 0);
  assert.deepEqual(errors, []);
  await context.close();
});
