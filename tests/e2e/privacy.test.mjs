// A full visit of the demo without an LLM endpoint, and one with an endpoint
// but the policy "nothing": every request the page makes goes to its own
// origin. Data keeps its class through the JS API (a policy downgrade after
// an answer that quoted memory, a throwing full_memory app tool, policy keys
// as origins). Also under the strict CSP: no violations, errors or rejections.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startLlmServer, serveDemo, launch, instrumentedContext, openDemo, redraw, shot } from "./harness.mjs";

const problems = [];
let llm, server, browser;

before(async () => {
  llm = await startLlmServer();
  server = await serveDemo(llm.url); // the CSP would allow the LLM origin: the page must still not use it
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
  llm?.stop();
});

/** Every request URL of `page` whose origin is not the page's own. */
function foreignRequests(page, own) {
  const foreign = [];
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.protocol !== "blob:" && url.protocol !== "data:" && url.origin !== own) foreign.push(r.url());
  });
  return foreign;
}

async function visit(page) {
  await redraw(page, () => page.locator("#recs > li").first().locator("button.like").click());
  await redraw(page, async () => { await page.fill("#query", "a frightening haunted house"); await page.press("#query", "Enter"); });
  await page.fill("#statement", "no musicals");
  await redraw(page, () => page.click("#statement-add"));
  await page.fill("#chat-input", "something light with my kids tonight, not animated");
  await page.press("#chat-input", "Enter");
  await page.waitForFunction(() => document.querySelector("#chat-log > li.agent:last-child")?.dataset.done);
  await page.click("#tab-memory");
  await page.fill("#remember-text", "My e-mail is ana@example.com");
  await page.click("#remember");
  await page.waitForFunction(() => document.querySelector("#facts").dataset.count === "1");
  await page.click("#tab-ledger");
}

test("without an endpoint the whole visit stays on the page's origin and the device answers", async () => {
  const context = await instrumentedContext(browser, problems);
  const page = await context.newPage();
  const own = new URL(server.url).origin;
  const foreign = foreignRequests(page, own);
  let total = 0;
  page.on("request", () => total++);
  await openDemo(page, server.url);
  await visit(page);
  const bubble = page.locator("#chat-log > li.agent").last();
  assert.equal(await bubble.getAttribute("data-done"), "device");
  assert.match(await bubble.locator(".bubble-note").textContent(), /^Answered on this device: no LLM endpoint is set, nothing was sent\./);
  assert.ok(await bubble.locator(".answer-item").count() > 0, "the device answered with films");
  assert.equal(await page.textContent("#ledger-summary"), "No request has left this page.");
  assert.ok(total > 5, `only ${total} requests seen: the recorder is not recording`);
  assert.deepEqual(foreign, []);
  await shot(page, "13-private-visit.png");
  await context.close();
});

test("with an endpoint but the policy \"nothing\" no request reaches it", async () => {
  const session = `privacy-${process.pid}-${Date.now()}`;
  await llm.script(session, { steps: [], mode: "planner" });
  const context = await instrumentedContext(browser, problems);
  const page = await context.newPage();
  const foreign = foreignRequests(page, new URL(server.url).origin);
  await openDemo(page, server.url);
  await page.click("#tab-ledger");
  await page.selectOption("#policy", "nothing");
  await page.click("#tab-chat");
  await page.click("#settings summary");
  await page.fill("#endpoint", `${llm.url}/s/${session}`);
  await page.selectOption("#autonomy", "2");
  await page.click("#settings-save");
  assert.match(await page.textContent("#agent-mode"), /the privacy policy allows sending nothing/);
  await visit(page);
  const bubble = page.locator("#chat-log > li.agent").last();
  assert.equal(await bubble.getAttribute("data-done"), "fallback:policy");
  assert.deepEqual(foreign, []);
  assert.deepEqual(await llm.log(session), []);
  assert.equal(await page.textContent("#ledger-summary"), "No request has left this page.");
  await context.close();
});

test("served without the LLM origin, the CSP blocks the endpoint and the page says how to allow it", async () => {
  const strict = await serveDemo(null);
  const session = `csp-${process.pid}-${Date.now()}`;
  await llm.script(session, { steps: [], mode: "planner" });
  const seen = []; // this visit is meant to violate the policy: its reports are checked here
  const context = await instrumentedContext(browser, seen);
  const page = await context.newPage();
  await openDemo(page, strict.url);
  await page.click("#settings summary");
  await page.fill("#endpoint", `${llm.url}/s/${session}`);
  await page.click("#settings-save");
  await page.fill("#chat-input", "a space adventure");
  await page.press("#chat-input", "Enter");
  await page.waitForFunction(() => document.querySelector("#chat-log > li.agent:last-child")?.dataset.done);
  const bubble = page.locator("#chat-log > li.agent").last();
  assert.equal(await bubble.getAttribute("data-done"), "fallback:network_error");
  assert.match(await bubble.locator(".bubble-note").textContent(),
    new RegExp(`does not allow requests to ${llm.url}; serve the demo with RECAGENT_LLM_ORIGIN=`));
  assert.deepEqual(await llm.log(session), [], "the browser blocked every request");
  assert.ok(seen.some((p) => p.startsWith("csp: connect-src blocked")), `no violation reported: ${seen}`);
  await context.close();
  await strict.close();
});

test("data keeps its class after setPolicy narrows it, a throwing full_memory tool is withheld, policy keys are origins", async () => {
  const context = await instrumentedContext(browser, problems);
  const page = await context.newPage();
  await openDemo(page, server.url);
  const tag = `${process.pid}-${Date.now()}`;
  const canary = `CANARY-${tag}`;
  const quote = `Your locker code is ${canary}; you avoid ${canary} films. Try 1.`;
  const sessions = {};
  for (let autonomy = 0; autonomy <= 3; autonomy++) {
    const steps = [];
    if (autonomy >= 2) steps.push({ reply: { tool_calls: [{ name: "recall_memory", arguments: { query: "locker code" } }] } });
    if (autonomy >= 1) steps.push({ reply: { content: quote } });
    sessions[`down${autonomy}`] = `classes-down${autonomy}-${tag}`;
    await llm.script(sessions[`down${autonomy}`], { steps, mode: "planner" });
    sessions[`tool${autonomy}`] = `classes-tool${autonomy}-${tag}`;
    await llm.script(sessions[`tool${autonomy}`], {
      steps: autonomy >= 2 ? [{ reply: { tool_calls: [{ name: "notes", arguments: {} }] } }] : [], mode: "planner",
    });
  }
  const result = await page.evaluate(async ({ llmUrl, sessions, canary, tag }) => {
    const { default: init, Recommender } = await import("./pkg/recagent.js");
    await init();
    const bytes = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
    const rec = await Recommender.create({
      catalog: await bytes("./assets/catalog/ml-100k.rcat"), textModel: await bytes("./assets/minilm-int8.onnx"),
      vocab: await (await fetch("./assets/vocab.txt")).text(), namespace: `privacy-classes-${tag}`,
    });
    const codeAsync = async (f) => { try { await f(); return null; } catch (e) { return `${e.name}:${e.code}`; } };
    // Policy keys: normalised, and refused (a rejection) when they are not origins.
    await rec.setPolicy({ endpoints: { "HTTPS://LLM.Example:443/v1/": "full_memory", "http://[0:0::1]:8080/": "nothing" } });
    const normalised = (await rec.policy()).endpoints;
    const badKeys = [];
    for (const key of ["llm.example", "/v1/chat", "https://me@llm.example", "ftp://llm.example", "http://llm.example:99999"]) {
      badKeys.push(await codeAsync(() => rec.setPolicy({ endpoints: { [key]: "full_memory" } })));
    }
    const badLevel = await codeAsync(() => rec.setPolicy({ share: "everything" }));
    const kept = (await rec.policy()).endpoints;
    const serverKey = `${llmUrl.toUpperCase()}/V1/`; // the endpoint's origin, written otherwise
    // (a) A policy downgrade: turn 1 at full_memory quotes the canary, turn 2 at public_items.
    await rec.memory.remember(`my locker code is ${canary}`);
    await rec.observe({ type: "statement", text: `avoid ${canary} films` });
    const downgrade = [];
    for (let autonomy = 0; autonomy <= 3; autonomy++) {
      await rec.setLlm({ endpoint: `${llmUrl}/s/${sessions[`down${autonomy}`]}`, model: "scripted" });
      await rec.setPolicy({ share: "full_memory" });
      await rec.clearLedger();
      const first = await rec.ask("a film for tonight", { autonomy });
      const turn1 = (await rec.ledger()).map((e) => e.body);
      await rec.setPolicy({ share: "full_memory", endpoints: { [serverKey]: "public_items" } });
      await rec.ask("and something shorter", { autonomy: Math.max(autonomy, 1) });
      const all = (await rec.ledger()).map((e) => e.body);
      downgrade.push({ autonomy, answer: first.answer, turn1, turn2: all.slice(turn1.length), all });
    }
    // (b) An app tool of class full_memory that throws personal text, at public_items.
    let thrown = 0;
    await rec.registerTool({
      name: "notes", description: "Reads the user's private notes.", resultClass: "full_memory",
      parameters: { type: "object", properties: {}, additionalProperties: false },
      run: () => { thrown++; throw new Error(`cannot open the note ${canary}: therapy on Tuesday`); },
    });
    const badTool = await codeAsync(() => rec.registerTool({ name: "t2", description: "", parameters: { type: "object" }, resultClass: "request_text", run: () => null }));
    const tool = [];
    for (let autonomy = 0; autonomy <= 3; autonomy++) {
      await rec.setLlm({ endpoint: `${llmUrl}/s/${sessions[`tool${autonomy}`]}`, model: "scripted" });
      await rec.setPolicy({ share: "public_items" });
      await rec.clearLedger();
      const before = thrown;
      const answer = await rec.ask("what did I note about tuesday", { autonomy });
      const step = answer.trace.find((s) => s.tool === "notes");
      tool.push({ autonomy, ran: thrown - before, reason: step?.reason ?? null, status: step?.status ?? null, sent: (await rec.ledger()).map((e) => e.body) });
    }
    return { normalised, badKeys, badLevel, kept, downgrade, badTool, tool };
  }, { llmUrl: llm.url, sessions, canary, tag });

  assert.deepEqual(result.normalised, { "https://llm.example": "full_memory", "http://[::1]:8080": "nothing" });
  assert.deepEqual(result.badKeys, Array(5).fill("RecagentError:invalid_policy"));
  assert.equal(result.badLevel, "RecagentError:invalid_policy");
  assert.deepEqual(result.kept, result.normalised, "a refused policy leaves the one in use");
  const has = (bodies) => bodies.some((b) => b.toLowerCase().includes(canary.toLowerCase()));
  for (const d of result.downgrade) {
    if (d.autonomy >= 1) {
      assert.ok(d.answer.includes(canary), `autonomy ${d.autonomy}: turn 1 quotes the canary: ${d.answer}`);
      assert.ok(has(d.turn1), `autonomy ${d.autonomy}: at full_memory the model saw it`);
    }
    assert.ok(d.turn2.length > 0, `autonomy ${d.autonomy}`);
    assert.ok(!has(d.turn2), `autonomy ${d.autonomy}: re-sent after the downgrade`);
    assert.ok(d.turn2[0].includes("a film for tonight"), `autonomy ${d.autonomy}: the history was sent`);
    const received = (await llm.log(sessions[`down${d.autonomy}`])).map((r) => r.body);
    assert.deepEqual(received, d.all, `autonomy ${d.autonomy}: the ledger is what the server received`);
  }
  assert.equal(result.badTool, "RecagentError:invalid_input");
  for (const t of result.tool) {
    assert.equal(t.ran, t.autonomy >= 2 ? 1 : 0, `autonomy ${t.autonomy}`);
    assert.ok(!has(t.sent), `autonomy ${t.autonomy}: the tool's error was sent`);
    const received = (await llm.log(sessions[`tool${t.autonomy}`])).map((r) => r.body);
    assert.ok(!has(received), `autonomy ${t.autonomy}: the server received the tool's error`);
    if (t.autonomy >= 2) {
      assert.equal(t.status, "failed");
      assert.ok(t.reason.includes(canary), "the app sees its tool's error in the trace");
      assert.ok(t.sent[1].includes("[withheld by the privacy policy]"));
    }
  }
  await context.close();
});

test("no CSP violations, page errors or unhandled rejections", () => {
  assert.deepEqual(problems, []);
});
