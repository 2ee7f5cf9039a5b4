// A full visit of the demo without an LLM endpoint, and one with an endpoint
// but the policy "nothing": every request the page makes goes to its own
// origin. Also under the strict CSP: no violations, errors or rejections.
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

test("no CSP violations, page errors or unhandled rejections", () => {
  assert.deepEqual(problems, []);
});
