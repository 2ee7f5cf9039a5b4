// Worker mode and the encoder pool over the built pkg/, in headless Chromium
// (tests/e2e/worker-page/page.mjs does the work through `window.t`):
// - RecommenderWorker gives the same results as the main-thread Recommender
//   (recommend, observe, item, ask at autonomy 0, profile, memory, policy);
//   an app tool's `run` and `approve` run on the main thread (scripted LLM);
// - errors from the worker arrive as RecagentError with the same code;
// - EncoderPool output equals TextEmbedder.embedBatch, with 1 and 2 workers;
// - on a page that is not crossOriginIsolated the pool runs 1 worker and says why;
// - the main thread keeps ticking while the worker encodes (and does not on the main thread).
// The isolated page is served with COOP/COEP and the demo's strict CSP.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serve, demoCsp } from "./server.mjs";
import { root, startLlmServer } from "./harness.mjs";

const PAGE = "tests/e2e/worker-page/index.html";
let isolated, plain, noWorkers, browser, llm;
const pageErrors = [];

before(async () => {
  for (const f of ["pkg/recagent.js", "assets/catalog/ml-100k.rcat", "assets/minilm-int8.onnx"]) {
    await stat(join(root, f)).catch(() => { throw new Error(`${f} is missing: run scripts/test.sh (or scripts/serve.sh --build)`); });
  }
  llm = await startLlmServer();
  isolated = await serve(root, { isolated: true, csp: demoCsp(llm.url) });
  plain = await serve(root);
  noWorkers = await serve(root, { csp: "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'none'" });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
  await noWorkers?.close();
  llm?.stop();
});

/** A fresh page on `server`, ready; page errors, unhandled rejections and CSP violations are collected. */
async function open(server, errors = pageErrors) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requests = [];
  context.on("request", (r) => requests.push(new URL(r.url()).pathname));
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.addInitScript(() => {
    addEventListener("unhandledrejection", (e) => console.error(`unhandled rejection: ${e.reason}`));
    addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  await page.goto(server.url + PAGE);
  await page.waitForFunction(() => window.tReady === true, null, { timeout: 60_000 });
  return { page, requests, close: () => context.close() };
}

test("RecommenderWorker gives the main-thread Recommender's results", async () => {
  const { page, close } = await open(isolated);
  const r = await page.evaluate(() => window.t.compare());
  await close();
  assert.equal(r.worker.size, 1682);
  for (const key of ["size", "attributes", "hasImageModel", "memoryBytes", "persistent", "cold", "statement", "after", "query",
    "item", "missing", "profile", "ask", "recall", "forgot", "policy", "ledger", "unregister", "restored"]) {
    assert.deepEqual(r.worker[key], r.main[key], key);
  }
  assert.equal(r.worker.namespace, "wt-worker");
  assert.equal(r.worker.query.length, 10);
  assert.notDeepEqual(r.worker.after.map((x) => x.id), r.worker.cold.map((x) => x.id), "the likes changed the list");
  assert.deepEqual(r.worker.statement, { type: "exclude", attribute: "class", value: "Horror", source: "no horror" });
  assert.ok(r.worker.ask.items.length > 0 && r.worker.ask.steps.length > 0, JSON.stringify(r.worker.ask));
  assert.equal(r.worker.recall[0], "I am vegetarian");
  // Progress crossed over, each file named as the app wrote it and finished at its size.
  const files = new Map(r.progress.filter((e) => e.phase === "download").map((e) => [e.file, e]));
  assert.deepEqual([...files.keys()].sort(), ["../../../assets/catalog/ml-100k.rcat", "/assets/minilm-int8.onnx", "/assets/vocab.txt"].sort());
  for (const e of files.values()) assert.equal(e.loaded, e.total, JSON.stringify(e));
  // The other phases of the worker's start, in the one event shape; the last is "ready".
  const phases = r.progress.map((e) => e.phase).filter((p, i, a) => p !== a[i - 1]);
  assert.deepEqual(phases.filter((p) => p !== "download"), ["compile", "ready"], JSON.stringify(phases));
  assert.deepEqual(r.progress.at(-1), { phase: "ready", loaded: 1, total: 1 });
});

test("items with photos work the same in the worker, and its getters follow", async () => {
  const { page, close } = await open(isolated);
  const r = await page.evaluate(() => window.t.items());
  await close();
  for (const key of ["sizeBefore", "imageBefore", "imageAfter", "added", "sizeAdded", "byPhoto", "byText", "listed",
    "photoBytes", "duplicate", "badPhoto", "removed", "sizeRemoved", "files"]) {
    assert.deepEqual(r.worker[key], r.main[key], key);
  }
  assert.equal(r.worker.sizeAdded, r.worker.sizeBefore + 1);
  assert.equal(r.worker.sizeRemoved, r.worker.sizeBefore);
  assert.equal(r.worker.imageBefore, false);
  assert.equal(r.worker.imageAfter, true);
  assert.equal(r.worker.byPhoto[0][0], "my-cat");
  assert.deepEqual(r.worker.listed, ["my-cat"]);
  assert.deepEqual(r.worker.files, ["../../../assets/mobilenetv2-embedding.onnx"]);
  assert.equal(r.worker.duplicate, "RecagentError:invalid_input");
  assert.equal(r.worker.badPhoto, "RecagentError:invalid_image");
  assert.equal(r.worker.removed, true);
});

test("errors from the worker keep their RecagentError code", async () => {
  const { page, requests, close } = await open(isolated);
  const e = await page.evaluate(() => window.t.errors());
  await close();
  // The workers' own requests are seen (the missing catalog was fetched by one), yet the
  // .wasm was fetched once: every worker instantiates the page's compiled module.
  assert.ok(requests.includes("/assets/catalog/missing.rcat"), "a request made by a worker is recorded");
  assert.equal(requests.filter((p) => p === "/pkg/recagent_bg.wasm").length, 1, JSON.stringify(requests));
  assert.deepEqual(e, {
    unknownItem: "RecagentError:unknown_item",
    badEvent: "RecagentError:invalid_input",
    badOptions: "RecagentError:invalid_input",
    noText: "RecagentError:invalid_input",
    badProfile: "RecagentError:invalid_profile",
    badPolicy: "RecagentError:invalid_policy",
    mainUnknownItem: "RecagentError:unknown_item",
    mainBadOptions: "RecagentError:invalid_input",
    terminatedPending: "RecagentError:worker_failed",
    terminatedLater: "RecagentError:worker_failed",
    badCatalog: "RecagentError:invalid_catalog",
    unknownOption: "RecagentError:invalid_input",
    missingFile: "RecagentError:network_error",
    poolBadModel: "RecagentError:invalid_model",
    poolBadWorkers: "RecagentError:invalid_input",
    poolEmpty: "RecagentError:invalid_input",
    poolBadOption: "RecagentError:invalid_input",
    poolAborted: "AbortError:20", // a DOMException (code 20 is ABORT_ERR), the signal's reason
    poolAfterAbort: 384,
    poolTerminated: "RecagentError:worker_failed",
  });
});

for (const workers of [1, 2]) {
  test(`EncoderPool with ${workers} worker(s) equals TextEmbedder.embedBatch (crossOriginIsolated)`, async () => {
    const { page, close } = await open(isolated);
    const r = await page.evaluate((w) => window.t.pool({ workers: w, n: 96 }), workers);
    await close();
    console.log(`pool ${workers}: min cosine ${r.minCos}, max |diff| ${r.maxAbs}, ${r.identical}/96 rows bit-identical, ${r.ms.toFixed(0)} ms`);
    assert.equal(r.isolated, true);
    assert.equal(r.workers, workers);
    assert.deepEqual(r.threads, { requested: workers, workers, hardwareConcurrency: r.threads.hardwareConcurrency,
      crossOriginIsolated: true, sharedMemory: true, reason: null });
    assert.equal(r.length, 96 * 384);
    assert.equal(r.shared, "ArrayBuffer", "a plain Float32Array, not a view of the SharedArrayBuffer");
    assert.ok(r.minCos >= 0.9999, `min cosine ${r.minCos}`);
    assert.ok(r.maxAbs < 1e-3, `max |diff| ${r.maxAbs}`);
    assert.deepEqual(r.progress.at(-1), [96, 96, "embed"]);
    assert.ok(r.progress.every(([d], i) => i === 0 || d > r.progress[i - 1][0]), "progress only grows");
    assert.deepEqual(r.warnings, []);
  });
}

test("without crossOriginIsolated the pool runs one worker and says why", async () => {
  const { page, close } = await open(plain);
  const r = await page.evaluate(() => window.t.pool({ workers: 2, n: 48 }));
  await close();
  assert.equal(r.isolated, false);
  assert.equal(r.workers, 1);
  assert.equal(r.threads.requested, 2);
  assert.equal(r.threads.sharedMemory, false);
  assert.match(r.threads.reason, /not crossOriginIsolated/);
  assert.match(r.threads.reason, /Cross-Origin-Opener-Policy: same-origin/);
  assert.match(r.threads.reason, /Cross-Origin-Embedder-Policy: require-corp/);
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  assert.equal(r.warnings[0], `recagent: ${r.threads.reason}`);
  assert.ok(r.minCos >= 0.9999, `min cosine ${r.minCos}`);
  assert.deepEqual(r.progress.at(-1), [48, 48, "embed"]);
});

test("the main thread stays responsive while a worker encodes", async () => {
  const { page, close } = await open(isolated);
  const r = await page.evaluate(() => window.t.responsiveness({ n: 128 }));
  await close();
  const f = (x) => `${x.gap.toFixed(0)} ms longest gap in ${x.ms.toFixed(0)} ms`;
  console.log(`128 texts: on the main thread ${f(r.mainThread)}; in the pool ${f(r.inWorker)}`);
  console.log(`8 recommend({query}): Recommender ${f(r.recommendMain)}; RecommenderWorker ${f(r.recommendWorker)}`);
  // On the main thread the batch is one long task; in the worker the page keeps ticking.
  assert.ok(r.mainThread.gap >= 0.9 * r.mainThread.ms, `main-thread batch: ${f(r.mainThread)}`);
  assert.ok(r.inWorker.gap < 150 && r.inWorker.gap * 5 < r.mainThread.gap, `pool: ${f(r.inWorker)}`);
  assert.ok(r.recommendWorker.gap < 150 && r.recommendWorker.gap * 3 < r.recommendMain.gap,
    `RecommenderWorker: ${f(r.recommendWorker)} vs Recommender ${f(r.recommendMain)}`);
});

test("an app tool's run and approve execute on the main thread for the worker's agent", async () => {
  const session = `worker-tool-${Date.now()}`;
  await llm.script(session, {
    steps: [
      { reply: { content: "Adding it.", tool_calls: [{ name: "add_to_watchlist", arguments: { id: "1" } }] } },
      { reply: { content: "Done: Toy Story is on your watchlist." } },
    ],
    mode: "planner",
  });
  const { page, close } = await open(isolated);
  const r = await page.evaluate((endpoint) => window.t.agentTool({ endpoint }), `${llm.url}/s/${session}`);
  await close();
  assert.deepEqual(r.approvals, ["add_to_watchlist"]);
  assert.deepEqual(r.calls, [{ args: { id: "1" }, mainThread: true }]);
  assert.equal(r.fallback, null, JSON.stringify(r));
  assert.ok(r.steps.some((s) => s.kind === "tool" && s.tool === "add_to_watchlist" && s.status === "ok"), JSON.stringify(r.steps));
  assert.ok(r.tokens.length > 0, "tokens streamed across");
  assert.equal(r.ledger, (await llm.log(session)).length);
});

test("a worker the page's CSP forbids rejects with worker_failed", async () => {
  const seen = [];
  const { page, close } = await open(noWorkers, seen);
  const codes = await page.evaluate(async () => {
    const code = async (p) => { try { await p; return "resolved"; } catch (e) { return `${e.name}:${e.code}`; } };
    return {
      recommender: await code(window.t.RecommenderWorker.create({ catalog: "/assets/catalog/ml-100k.rcat" })),
      pool: await code(window.t.EncoderPool.create({ model: "/assets/minilm-int8.onnx", vocab: "/assets/vocab.txt", workers: 1 })),
    };
  });
  await close();
  assert.deepEqual(codes, { recommender: "RecagentError:worker_failed", pool: "RecagentError:worker_failed" });
  assert.ok(seen.some((e) => /CSP violation: worker-src/.test(e)), `the CSP blocked the worker: ${seen}`);
  assert.ok(seen.every((e) => /CSP violation|Content Security Policy/.test(e)), `nothing else went wrong: ${seen}`);
});

test("no page errors, unhandled rejections or CSP violations", () => {
  assert.deepEqual(pageErrors, []);
});
