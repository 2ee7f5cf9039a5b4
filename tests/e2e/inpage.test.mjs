// The in-page LLM: SmolLM2-135M-Instruct (Q4_1 GGUF, assets/models/, set up
// by scripts/setup.sh) run by @wllama/wllama through recagent's adapter
// `createWllamaEngine`, as the agent's model (`setLlm({ engine })`), in the
// demo's origin under its strict CSP. Nothing may leave the page: the
// ledger stays empty and every request goes to 127.0.0.1 (the page's own
// origin). The privacy policy still applies: the engine sees the redacted
// request, and with `nothing` for the page's origin it is never called.
// Then the demo's own setting "Run the model in this page".
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { serveDemo, launch, instrumentedContext, openDemo, shot, out } from "./harness.mjs";

const problems = [];
let server, browser, context, page;
const requests = [];

before(async () => {
  server = await serveDemo(null); // the CSP allows no LLM origin: only the page's own
  browser = await launch();
  context = await instrumentedContext(browser, problems);
  context.on("request", (r) => requests.push(r.url()));
  page = await context.newPage();
  page.on("worker", (w) => w.on("request", (r) => requests.push(r.url())));
  await openDemo(page, server.url);
});

after(async () => {
  await context?.close();
  await browser?.close();
  await server?.close();
});

/** Every recorded request that is not to the page's own origin (blob: and data: URLs are in the page). */
function foreign() {
  const own = new URL(server.url).origin;
  return requests.filter((u) => {
    const url = new URL(u);
    return url.protocol !== "blob:" && url.protocol !== "data:" && url.origin !== own;
  });
}

test("ask at autonomy 1 with SmolLM2 in the page: catalog items, an empty ledger, nothing leaves 127.0.0.1", async () => {
  const result = await page.evaluate(async () => {
    const { default: init, Recommender, createWllamaEngine } = await import("./pkg/recagent.js");
    const { Wllama } = await import("./wllama/index.js");
    await init();
    const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    const rec = await Recommender.create({
      catalog: await bytes("./assets/catalog/ml-100k.rcat"), textModel: await bytes("./assets/minilm-int8.onnx"),
      vocab: await (await fetch("./assets/vocab.txt")).text(), namespace: "inpage-test",
    });
    let t = performance.now();
    const progress = [];
    const engine = await createWllamaEngine({
      Wllama, modelUrl: "./assets/models/SmolLM2-135M-Instruct.Q4_1.gguf", wasmPath: "./wllama/wasm/wllama.wasm",
      nCtx: 2048, maxTokens: 32, useCache: false, onProgress: (p) => progress.push(p),
    });
    const loadMs = performance.now() - t;
    // The same engine, counting what it is given (a wrapper, not a fake: the real model answers).
    const seen = [];
    const counted = {
      chat: { completions: { create: (req) => { seen.push(req); return engine.chat.completions.create(req); } } },
      interruptGenerate: () => engine.interruptGenerate(),
    };
    // A 135M model on one CPU thread reads ~10 prompt tokens/s on a busy 2-core machine: a longer
    // timeout and time budget than an endpoint's, and 3 items to describe (a shorter prompt).
    await rec.setLlm({ engine: counted, timeoutMs: 170_000 });
    const slow = { k: 3, budgets: { maxWallMs: 170_000 } };
    const tokens = [];
    const steps = [];
    t = performance.now();
    const answer = await rec.ask("a funny space adventure for tonight, my e-mail is ana@example.com", {
      autonomy: 1, ...slow, onToken: (x) => tokens.push(x), onStep: (s) => steps.push(s),
    });
    const askMs = performance.now() - t;
    const ledger = await rec.ledger();
    const known = await Promise.all(answer.items.map(async (i) => (await rec.item(i.id))?.title === i.title));
    // The policy "nothing" for the page's own origin: the engine must not be called.
    const before = seen.length;
    await rec.setPolicy({ share: "full_memory", endpoints: { [location.origin]: "nothing" } });
    const denied = await rec.ask("a funny space adventure", { autonomy: 1, ...slow });
    const afterDenied = seen.length;
    await rec.setPolicy({ share: "public_items" });
    // Options are checked when given (a rejection, as in worker mode).
    const errors = [];
    for (const bad of [{ engine: {} }, { engine: counted, endpoint: "http://127.0.0.1:1" }, { engine: counted, apiKey: "k" }]) {
      try { await rec.setLlm(bad); errors.push(null); } catch (e) { errors.push(`${e.name}:${e.code}`); }
    }
    try { await createWllamaEngine({ Wllama, wasmPath: "./wllama/wasm/wllama.wasm" }); errors.push(null); }
    catch (e) { errors.push(`${e.name}:${e.code}`); }
    // A model file that is not a GGUF: wllama's load error becomes a RecagentError.
    try {
      await createWllamaEngine({ Wllama, modelBytes: new Uint8Array(4096), wasmPath: "./wllama/wasm/wllama.wasm", useCache: false });
      errors.push(null);
    } catch (e) { errors.push(`${e.name}:${e.code}`); }
    await engine.unload();
    return { answer, askMs, loadMs, ledger, known, tokens, steps, seen, before, denied, afterDenied, errors, progress,
      template: engine.chatTemplate };
  });

  console.log(`in-page SmolLM2-135M: load ${Math.round(result.loadMs)} ms, ask (autonomy 1) ${Math.round(result.askMs)} ms, ` +
    `${result.tokens.length} streamed tokens; answer: ${JSON.stringify(result.answer.answer.slice(0, 160))}`);
  const { answer } = result;
  assert.equal(answer.fallback, undefined, `the in-page model answered (fallback: ${JSON.stringify(answer.fallback)})`);
  assert.equal(answer.autonomy, 1);
  assert.ok(answer.answer.trim().length > 0, "an answer text");
  assert.ok(answer.items.length > 0 && result.known.every(Boolean), "the items are catalog items");
  // The trace says the in-page model answered.
  const model = answer.trace.filter((s) => s.kind === "model");
  assert.equal(model.length, 1);
  assert.equal(model[0].engine, "in-page");
  assert.equal(model[0].status, "ok");
  assert.equal(result.steps.find((s) => s.kind === "model")?.engine, "in-page", "onStep sees it too");
  assert.ok(result.tokens.length > 1, "tokens streamed to onToken");
  // The engine got one OpenAI-format request, redacted by the privacy pipeline.
  assert.equal(result.seen.length, result.before);
  assert.equal(result.seen.length, 1);
  const req = result.seen[0];
  assert.equal(req.stream, true);
  assert.equal(req.model, undefined);
  assert.equal(req.messages[0].role, "system");
  const sent = JSON.stringify(req);
  assert.ok(sent.includes("[email]") && !sent.includes("ana@example.com"), "the e-mail is redacted before the model sees it");
  assert.ok(result.template, "the GGUF's chat template formats the messages");
  // No byte left the device.
  assert.deepEqual(result.ledger, []);
  assert.ok(result.progress.length > 0 && result.progress.at(-1).loaded > 90_000_000, "load progress was reported");
  // The policy "nothing" for the page's origin: fallback, engine not called.
  assert.equal(result.denied.fallback?.code, "policy");
  assert.ok(result.denied.items.length > 0);
  assert.equal(result.afterDenied, result.before, "the engine was not called under the policy nothing");
  assert.deepEqual(result.errors, ["RecagentError:invalid_input", "RecagentError:invalid_input", "RecagentError:invalid_input",
    "RecagentError:invalid_input", "RecagentError:invalid_model"]);
  assert.ok(requests.some((u) => u.endsWith(".gguf")), "the recorder saw the model download");
  assert.deepEqual(foreign(), []);
  assert.deepEqual(problems.filter((p) => !p.startsWith("console: wllama")), []);
});

test("the demo's \"Run the model in this page\" loads SmolLM2 with a progress bar and answers in the chat", async () => {
  await page.click("#settings summary");
  await page.check("#in-page");
  await page.selectOption("#autonomy", "1");
  const started = Date.now();
  await page.click("#settings-save");
  await page.waitForSelector("body[data-in-page-model]", { timeout: 120_000 });
  assert.equal(await page.getAttribute("body", "data-in-page-model"), "ready", await page.textContent("#model-load-text"));
  const loadMs = Date.now() - started;
  assert.match(await page.textContent("#model-load-text"), /SmolLM2-135M loaded in [\d.]+ s/);
  assert.equal(await page.$eval("#model-progress", (p) => p.value), 1);
  assert.match(await page.textContent("#agent-mode"), /running in this page/);
  await page.fill("#chat-input", "something funny with animals");
  const asked = Date.now();
  await page.press("#chat-input", "Enter");
  await page.waitForFunction(() => document.querySelector("#chat-log > li.agent:last-child")?.dataset.done, null, { timeout: 200_000 });
  const askMs = Date.now() - asked;
  console.log(`demo: model load ${loadMs} ms , ask ${askMs} ms`);
  const bubble = page.locator("#chat-log > li.agent").last();
  assert.equal(await bubble.getAttribute("data-done"), "in-page");
  assert.match(await bubble.locator(".bubble-note").textContent(), /in this page at autonomy 1; nothing was sent/);
  assert.ok(await bubble.locator(".answer-item").count() > 0);
  assert.match(await bubble.locator(".trace").textContent(), /model \(in this page\)/);
  await page.click("#tab-ledger");
  assert.equal(await page.textContent("#ledger-summary"), "No request has left this page.");
  await page.click("#tab-chat");
  await bubble.locator(".trace-box summary").click();
  await shot(page, "15-in-page-model.png");
  await bubble.screenshot({ path: join(out, "15b-in-page-answer.png") });
  assert.deepEqual(foreign(), []);
  assert.deepEqual(problems.filter((p) => !p.startsWith("console: wllama")), []);
});

test("worker mode: the engine stays on the page and the worker calls it by message", async () => {
  const result = await page.evaluate(async () => {
    const { RecommenderWorker } = await import("./pkg/recagent.js");
    const rec = await RecommenderWorker.create({
      catalog: "./assets/catalog/ml-100k.rcat", textModel: "./assets/minilm-int8.onnx", vocab: "./assets/vocab.txt",
      namespace: "inpage-worker",
    });
    // A scripted engine object (this test checks the relay, not a model): it
    // names the first item the device ranked (an answer naming any other
    // title would be repaired by the grounding check).
    const seen = [];
    const engine = {
      chat: { completions: { create: async (req) => {
        seen.push(req);
        const prompt = req.messages.map((m) => m.content ?? "").join("\n");
        const first = /"title":"((?:[^"\\]|\\.)*)"/.exec(prompt)?.[1] ?? "nothing";
        const answer = `Try ${JSON.parse(`"${first}"`)}, a funny one.`;
        if (!req.stream) return { choices: [{ message: { role: "assistant", content: answer }, finish_reason: "stop" }] };
        return (async function* () {
          for (const part of [answer.slice(0, 10), answer.slice(10)]) yield { choices: [{ delta: { content: part }, finish_reason: null }] };
          yield { choices: [{ delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 10, completion_tokens: 8 } };
        })();
      } } },
    };
    const out = {};
    for (const stream of [false, true]) {
      await rec.setLlm({ engine, stream });
      const tokens = [];
      const a = await rec.ask("something funny", { autonomy: 1, onToken: (t) => tokens.push(t) });
      out[stream ? "streamed" : "whole"] = { answer: a.answer, fallback: a.fallback, engine: a.trace.find((s) => s.kind === "model")?.engine,
        tokens: tokens.join(""), items: a.items.map((i) => i.title) };
    }
    let refused = null;
    try { await rec.setLlm({ engine: { chat: {} } }); } catch (e) { refused = `${e.name}:${e.code}`; }
    const ledger = await rec.ledger();
    rec.terminate();
    return { out, seen: seen.map((r) => ({ stream: r.stream === true, roles: r.messages.map((m) => m.role) })), ledger, refused };
  });
  for (const key of ["whole", "streamed"]) {
    const r = result.out[key];
    assert.equal(r.fallback, undefined, `${key}: ${JSON.stringify(r.fallback)}`);
    assert.match(r.answer, /^Try .+, a funny one\.$/);
    assert.ok(r.items.some((title) => r.answer.includes(title.replace(/, The$/, ""))), `${r.answer} names an item of ${r.items}`);
    assert.equal(r.engine, "in-page");
    assert.ok(r.items.length > 0);
  }
  assert.equal(result.out.whole.tokens, "");
  assert.equal(result.out.streamed.tokens, result.out.streamed.answer);
  assert.deepEqual(result.seen.map((s) => s.stream), [false, true]);
  assert.equal(result.seen[0].roles[0], "system");
  assert.equal(result.refused, "RecagentError:invalid_input");
  assert.deepEqual(result.ledger, []);
  assert.deepEqual(foreign(), []);
});
