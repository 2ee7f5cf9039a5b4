// The chat's other paths against the scripted LLM server: denying an
// approval (nothing happens, the trace says why) and stopping an answer
// that hangs (the device answers).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startLlmServer, serveDemo, launch, instrumentedContext, openDemo, shot } from "./harness.mjs";

const problems = [];
let llm, server, browser, page;

before(async () => {
  llm = await startLlmServer();
  server = await serveDemo(llm.url);
  browser = await launch();
  const context = await instrumentedContext(browser, problems);
  page = await context.newPage();
  await openDemo(page, server.url);
});

after(async () => {
  await browser?.close();
  await server?.close();
  llm?.stop();
});

async function useSession(session, autonomy) {
  await page.click("#settings summary");
  await page.fill("#endpoint", `${llm.url}/s/${session}`);
  await page.selectOption("#autonomy", String(autonomy));
  await page.click("#settings-save");
}

async function ask(text) {
  const n = await page.locator("#chat-log > li.agent").count();
  await page.fill("#chat-input", text);
  await page.press("#chat-input", "Enter");
  await page.waitForFunction((c) => document.querySelectorAll("#chat-log > li.agent").length > c, n);
  return page.locator("#chat-log > li.agent").last();
}

test("a denied approval runs nothing and the trace says so", async () => {
  const session = `deny-${process.pid}-${Date.now()}`;
  await llm.script(session, {
    steps: [{ reply: { content: "Adding it.", tool_calls: [{ name: "add_to_watchlist", arguments: { id: "50" } }] } }],
    mode: "planner",
  });
  await useSession(session, 3);
  const bubble = await ask("put Star Wars on my watchlist");
  await bubble.locator(".approval button.deny").click();
  await page.waitForFunction(() => document.querySelector("#chat-log > li.agent:last-child").dataset.done);
  assert.equal(await bubble.getAttribute("data-done"), "llm");
  assert.match(await bubble.locator(".approval").textContent(), /^Denied: add_to_watchlist \(Star Wars/);
  const rejected = await bubble.locator(".trace li[data-status=rejected]").allTextContents();
  assert.ok(rejected.some((t) => /add_to_watchlist/.test(t) && /approv/i.test(t)), `trace: ${rejected}`);
  assert.equal(await page.locator("#watchlist li").count(), 0);
  // the model was told: its next request carries the refusal
  const log = await llm.log(session);
  assert.equal(log.length, 2);
  assert.match(log[1].body, /"role":"tool"/);
  await shot(page, "14-denied.png");
});

test("Stop aborts a hanging request and the device answers", async () => {
  const session = `stop-${process.pid}-${Date.now()}`;
  await llm.script(session, { steps: [{ hang: true }], mode: "planner" });
  await useSession(session, 2);
  const bubble = await ask("a space adventure");
  for (let i = 0; (await llm.log(session)).length === 0; i++) { // the request reached the server
    assert.ok(i < 200, "the request never arrived");
    await new Promise((r) => setTimeout(r, 50));
  }
  await bubble.locator("button", { hasText: "Stop" }).click();
  await page.waitForFunction(() => document.querySelector("#chat-log > li.agent:last-child").dataset.done, null, { timeout: 20_000 });
  assert.equal(await bubble.getAttribute("data-done"), "fallback:aborted");
  assert.match(await bubble.locator(".bubble-note").textContent(), /^Answered on this device \(aborted\)/);
  assert.ok(await bubble.locator(".answer-item").count() > 0);
  assert.equal(await page.locator("#chat-send").isDisabled(), false);
});

test("no CSP violations, page errors or unhandled rejections", () => {
  assert.deepEqual(problems, []);
});
