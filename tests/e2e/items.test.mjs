// Catalogs built on the device from the app's own items
// (`Recommender.create({ items })`), in headless Chromium against pkg/'s
// entry point (tests/e2e/items-page): the encoder pool's workers and the
// calling thread give the same catalog; progress has one shape and the
// phases in order; abort rejects with the signal's reason; `persist: false`
// opens no database; a built catalog is read back from IndexedDB and rebuilt
// when the items change; worker mode builds the same; bad records and
// options are refused with the index; `textOptions` choose the pooling.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { serve } from "./server.mjs";
import { launch, root } from "./harness.mjs";

const PAGE = "tests/e2e/items-page/index.html";
let isolated, plain, browser;
const pageErrors = [];

before(async () => {
  for (const f of ["pkg/index.js", "assets/minilm-int8.onnx", "assets/vocab.txt"]) {
    await stat(join(root, f)).catch(() => { throw new Error(`${f} is missing: run scripts/test.sh (or scripts/serve.sh --build)`); });
  }
  isolated = await serve(root, { isolated: true });
  plain = await serve(root);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
});

/** A fresh context (empty storage) on `server`, the page ready. */
async function open(server) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  await page.goto(`${server.url}${PAGE}`);
  await page.waitForFunction(() => window.tReady === true, null, { timeout: 60_000 });
  return { page, context };
}

const phasesOf = (events) => events.map((e) => e.phase).filter((p, i, a) => p !== a[i - 1]);

test("the pool's workers and the calling thread build the same catalog; progress has one shape", async () => {
  const { page, context } = await open(isolated);
  assert.equal(await page.evaluate(() => window.t.initialized), false, "nothing started the module before create");
  const pooled = await page.evaluate(() => window.t.build({ namespace: "pool", persist: false }));
  const here = await page.evaluate(() => window.t.build({ namespace: "here", persist: false, embedWorkers: 0 }));
  await context.close();
  assert.equal(pooled.size, 200);
  assert.deepEqual(pooled.attributes, ["brand:text", "category:text", "color:text", "price:number", "tags:tags"]);
  assert.deepEqual(pooled.ids, here.ids, "same items, same model: same ranking");
  // The products with constant weights run in integers (int8MatMul): each token row is
  // quantised with its own scale, so the f32 noise of differently batched runs can move a
  // value by a quantisation step here and there: the scores agree within 2e-3.
  for (let i = 0; i < here.scores.length; i++) {
    const d = Math.abs(pooled.scores[i] - here.scores[i]);
    assert.ok(d < 2e-3, `score ${i}: ${pooled.scores[i]} vs ${here.scores[i]}`);
  }
  assert.ok(pooled.categories.slice(0, 5).filter((c) => c === "rain jackets").length >= 3, `${pooled.categories}`);
  for (const r of [pooled, here]) {
    for (const e of r.events) {
      assert.deepEqual(Object.keys(e).filter((k) => !["phase", "file", "loaded", "total"].includes(k)), [], JSON.stringify(e));
      assert.ok(["download", "compile", "embed", "ready"].includes(e.phase), e.phase);
      assert.ok(Number.isFinite(e.loaded) && Number.isFinite(e.total) && e.loaded <= e.total, JSON.stringify(e));
    }
    const embeds = r.events.filter((e) => e.phase === "embed");
    assert.deepEqual(embeds.at(-1), { phase: "embed", loaded: 200, total: 200 });
    assert.ok(embeds.every((e, i) => i === 0 || e.loaded >= embeds[i - 1].loaded), "embed progress only grows");
    assert.deepEqual(r.events.at(-1), { phase: "ready", loaded: 1, total: 1 });
  }
  // The module starts once per page: its compile event comes with the first create only.
  assert.deepEqual(phasesOf(pooled.events), ["compile", "download", "compile", "embed", "ready"]);
  assert.deepEqual(pooled.events[0], { phase: "compile", file: "recagent_bg.wasm", loaded: 0, total: 1 });
  assert.deepEqual(phasesOf(here.events), ["download", "compile", "embed", "ready"]);
  console.log(`200 items built in the page: ${pooled.ms} ms with the encoder pool (crossOriginIsolated), ` +
    `${here.ms} ms on the calling thread (files from the Cache API)`);
});

test("persist: false opens nothing durable; persisted builds are read back, changed items rebuilt", async () => {
  const { page, context } = await open(plain);
  const volatile = await page.evaluate(() => window.t.build({ namespace: "volatile", persist: false }));
  assert.equal(volatile.persistent, false);
  assert.deepEqual(volatile.databases.filter((d) => d.includes("volatile")), [], `${volatile.databases}`);

  const first = await page.evaluate(() => window.t.build({ namespace: "kept" }));
  assert.equal(first.persistent, true);
  assert.ok(first.databases.includes("recagent-catalog:kept") && first.databases.includes("recagent:kept"), `${first.databases}`);
  const second = await page.evaluate(() => window.t.build({ namespace: "kept" }));
  assert.deepEqual(second.events.filter((e) => e.phase === "embed"), [], "read from IndexedDB: nothing embedded");
  assert.deepEqual(second.ids, first.ids);
  const changed = await page.evaluate(() => window.t.build({
    namespace: "kept",
    items: [{ id: "new", title: "Storm shell", text: "A waterproof hiking jacket for rain." }],
  }));
  assert.deepEqual(changed.events.filter((e) => e.phase === "embed").at(-1), { phase: "embed", loaded: 1, total: 1 });
  assert.deepEqual(changed.ids, ["new"]);
  await context.close();
  console.log(`200 items: first visit ${first.ms} ms, second (IndexedDB) ${second.ms} ms`);
});

test("abort rejects with the signal's reason, an AbortError DOMException by default", async () => {
  const { page, context } = await open(isolated);
  const plainAbort = await page.evaluate(() => window.t.aborted({ namespace: "a1" }));
  assert.equal(plainAbort.name, "AbortError");
  assert.equal(plainAbort.isDom, true);
  const own = await page.evaluate(() => window.t.aborted({ namespace: "a2", abortWith: "the user left" }));
  assert.equal(own.message, "the user left");
  assert.equal(own.isDom, false);
  const here = await page.evaluate(() => window.t.aborted({ namespace: "a3", when: "download" }));
  assert.equal(here.name, "AbortError");
  await context.close();
});

test("worker mode builds the same catalog from items", async () => {
  const { page, context } = await open(isolated);
  const main = await page.evaluate(() => window.t.build({ namespace: "m", persist: false }));
  const worker = await page.evaluate(() => window.t.build({ namespace: "w", persist: false, worker: true }));
  await context.close();
  assert.equal(worker.size, 200);
  assert.deepEqual(worker.ids, main.ids);
  assert.deepEqual(worker.events.filter((e) => e.phase === "embed").at(-1), { phase: "embed", loaded: 200, total: 200 });
});

test("bad records and options are refused, naming what is wrong", async () => {
  const { page, context } = await open(plain);
  const cases = await page.evaluate(async () => ({
    noTitle: await window.t.rejected({ items: [{ id: "a", title: "A" }, { id: "b" }] }),
    duplicate: await window.t.rejected({ items: [{ id: 7, title: "A" }, { id: "7", title: "B" }] }),
    notArray: await window.t.rejected({ items: { id: "a" } }),
    both: await window.t.rejected({ items: [], catalog: "/x.rcat" }),
    interactionsAlone: await window.t.rejected({ catalog: "/x.rcat", interactions: [] }),
    workers: await window.t.rejected({ items: [{ id: "a", title: "A" }], embedWorkers: 1.5 }),
    pooling: await window.t.rejected({ items: [{ id: "a", title: "A" }], textOptions: { pooling: "max" } }),
    unknownItem: await window.t.rejected({ items: [{ id: "a", title: "A" }], interactions: [{ user: 1, item: "a", when: 3 }] }),
  }));
  await context.close();
  for (const [name, e] of Object.entries(cases)) assert.equal(e.code, "invalid_input", `${name}: ${JSON.stringify(e)}`);
  assert.match(cases.noTitle.message, /items\[1\]/);
  assert.match(cases.duplicate.message, /items\[1\]/);
  assert.match(cases.workers.message, /embedWorkers/);
  assert.match(cases.pooling.message, /pooling/);
  assert.match(cases.unknownItem.message, /interactions\[0\]/);
});

test("textOptions: [CLS] pooling and no normalisation change the embedding; shape plans do not", async () => {
  const { page, context } = await open(plain);
  const r = await page.evaluate(async () => ({
    mean: await window.t.embedding(undefined),
    cls: await window.t.embedding({ pooling: "cls" }),
    raw: await window.t.embedding({ normalize: false }),
    bad: await window.t.embedding({ maxLength: 1 }),
    shaped: await window.t.embedding({ shapePlans: true }),
    badShape: await window.t.embedding({ shapePlans: "yes" }),
  }));
  await context.close();
  assert.ok(Math.abs(r.mean.norm - 1) < 1e-4 && Math.abs(r.cls.norm - 1) < 1e-4);
  assert.notDeepEqual(r.cls.head, r.mean.head);
  assert.ok(Math.abs(r.raw.norm - 1) > 1e-3, `unnormalised norm ${r.raw.norm}`);
  assert.equal(r.bad.code, "invalid_input");
  // a plan compiled for the text's shape bucket embeds as the one plan for every shape
  r.shaped.head.forEach((x, i) => assert.ok(Math.abs(x - r.mean.head[i]) < 1e-3, `shapePlans: ${r.shaped.head} vs ${r.mean.head}`));
  assert.equal(r.badShape.code, "invalid_input");
  assert.match(r.badShape.message, /shapePlans/);
});

test("no page errors", () => {
  assert.deepEqual(pageErrors, []);
});
