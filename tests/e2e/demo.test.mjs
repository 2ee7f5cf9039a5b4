// Drives the demo (www/, importing the built pkg/) in headless Chromium under
// its strict CSP, against the scripted LLM server: browse and rate, ask the
// agent and approve its action, read the privacy ledger, add items of your
// own with photos and find them by text and by photo, keep memory, profile
// and items over a reload, forget everything. Screenshots go to tests/e2e/out/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  startLlmServer, serveDemo, launch, instrumentedContext, openDemo, recIds, redraw, shot, root,
} from "./harness.mjs";

const session = `demo-${process.pid}-${Date.now()}`;
const problems = [];
let llm, server, browser, context, page;
let coldIds;          // the list of a fresh visitor
let likedTitles = [];

before(async () => {
  llm = await startLlmServer();
  server = await serveDemo(llm.url);
  browser = await launch();
  context = await instrumentedContext(browser, problems);
  page = await context.newPage();
  await openDemo(page, server.url);
});

after(async () => {
  await browser?.close();
  await server?.close();
  llm?.stop();
});

test("the demo loads the catalog and the text model and shows recommendations", async () => {
  assert.match(await page.textContent("#status"), /^Ready in [\d.]+ s: 1,682 films, ranked on this device\.$/);
  coldIds = await recIds(page);
  assert.equal(coldIds.length, 12);
  assert.match(await page.textContent("#rec-caption"), /^Popular films/);
  const genres = await page.$$eval("#genre option", (os) => os.map((o) => o.value).filter(Boolean));
  assert.ok(genres.includes("Sci-Fi") && genres.includes("Animation"), `genres: ${genres}`);
  assert.match(await page.textContent("#agent-mode"), /No LLM endpoint set: the agent answers on this device \(autonomy 0\)/);
  await shot(page, "01-loaded.png");
});

test("liking three films re-ranks the list with explanations", async () => {
  for (let i = 0; i < 3; i++) {
    const first = page.locator("#recs > li").first();
    likedTitles.push(await first.locator(".rec-title").textContent());
    await redraw(page, () => first.locator("button.like").click());
  }
  const ids = await recIds(page);
  assert.equal(ids.length, 12);
  assert.notDeepEqual(ids, coldIds);
  for (const t of likedTitles) {
    assert.ok(!(await page.$$eval("#recs .rec-title", (e) => e.map((x) => x.textContent))).includes(t), `${t} still listed`);
  }
  assert.deepEqual(await page.$$eval("#feedback-list li", (lis) => lis.map((l) => l.textContent)),
    likedTitles.map((t) => `${t} — liked`));
  assert.match(await page.textContent("#rec-caption"), /^Picked for you/);
  const why = await page.$$eval("#recs .why", (e) => e.map((x) => x.textContent));
  // Summaries write titles as people do ("Usual Suspects, The" → "The Usual Suspects").
  const shown = (t) => t.replace(/^(.*), (The|A|An|Les|La|Le|L'|Il|Der|Die|Das|El)( \(.*)?$/, (_, head, art, rest = "") =>
    `${art}${art.endsWith("'") ? "" : " "}${head}${rest}`);
  assert.ok(why.every((b) => likedTitles.some((t) => b.includes(shown(t)))), `an explanation cites no liked film: ${why}`);
  // a rating re-ranks too
  const rated = page.locator("#recs > li").nth(1);
  const ratedTitle = await rated.locator(".rec-title").textContent();
  await redraw(page, () => rated.locator("select.rate").selectOption("2"));
  assert.ok((await page.textContent("#feedback-list")).includes(`${ratedTitle} — 2/5`));
  await shot(page, "02-liked.png");
});

test("text search with genre and year filters", async () => {
  await page.fill("#query", "space adventure");
  await page.selectOption("#genre", "Sci-Fi");
  await page.fill("#year-min", "1980");
  await page.fill("#year-max", "1989");
  await redraw(page, () => page.click("#search"));
  const metas = await page.$$eval("#recs .rec-meta", (e) => e.map((x) => x.textContent));
  assert.ok(metas.length > 0);
  for (const m of metas) {
    const year = Number(m.slice(0, 4));
    assert.ok(m.includes("Sci-Fi") && year >= 1980 && year <= 1989, m);
  }
  assert.match(await page.textContent("#rec-caption"), /^Results for “space adventure” \(filtered\)/);
  await shot(page, "03-search.png");
  await redraw(page, () => page.click("#clear-search"));
});

/** Drops a PNG/JPEG onto `selector` as a file (drag and drop), made in the page from a fixture. */
async function dropPhoto(selector, { file, variant = false }) {
  await page.evaluate(async ({ selector, file, variant }) => {
    const url = `./assets/fixtures/image/${file}`;
    let blob = await (await fetch(url)).blob();
    let name = file;
    if (variant) {
      // Another photo of the same subject: mirrored, cropped to 70 % × 80 %, saved as JPEG.
      const img = new Image();
      img.src = url;
      await img.decode();
      const w = Math.round(img.width * 0.7), hgt = Math.round(img.height * 0.8);
      const canvas = document.createElement("canvas");
      Object.assign(canvas, { width: w, height: hgt });
      const ctx = canvas.getContext("2d");
      ctx.translate(w, 0);
      ctx.scale(-1, 1);
      ctx.drawImage(img, 0, Math.round(img.height * 0.1), w, hgt, 0, 0, w, hgt);
      blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
      name = file.replace(/\.png$/, "-again.jpg");
    }
    const dt = new DataTransfer();
    dt.items.add(new File([blob], name, { type: blob.type }));
    document.querySelector(selector).dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { selector, file, variant });
}

const itemCount = () => page.getAttribute("#item-list", "data-count").then(Number);

test("an item of your own with a photo: found by text and by photo, with its thumbnail; removable", async () => {
  const fixture = (name) => join(root, "assets", "fixtures", "image", name);
  await page.click("#items summary");
  assert.equal(await itemCount(), 0);
  // 1. with the file input (and every optional field)
  await page.fill("#item-title", "Chelsea the tabby cat");
  await page.fill("#item-text", "my cat asleep on the sofa");
  await page.fill("#item-genres", "Comedy");
  await page.fill("#item-year", "2024");
  await page.setInputFiles("#item-photo", fixture("chelsea.png"));
  // the preview shows once the change handler ran and the image has a box (it loads asynchronously)
  await page.waitForSelector("#item-preview", { state: "visible", timeout: 10_000 })
    .catch(() => assert.fail("the photo is previewed"));
  await page.click("#item-add");
  await page.waitForFunction(() => document.querySelector("#item-list").dataset.count === "1", null, { timeout: 120_000 });
  const added = await page.textContent("#item-status");
  assert.match(added, /^Added “Chelsea the tabby cat” in \d+ ms: embedded on this device \(text and photo\)/);
  assert.equal(await page.isVisible("#item-preview"), false, "the form is reset");
  console.log(`demo: ${added}`);
  // 2. by drag and drop onto the photo field, submitted from the keyboard
  await page.fill("#item-title", "My espresso");
  await dropPhoto("#item-drop", { file: "coffee.png" });
  assert.equal(await page.$eval("#item-photo", (i) => i.files[0]?.name), "coffee.png");
  await page.press("#item-title", "Enter");
  await page.waitForFunction(() => document.querySelector("#item-list").dataset.count === "2", null, { timeout: 60_000 });
  assert.deepEqual(await page.$$eval("#item-list .item-title", (e) => e.map((x) => x.textContent)), ["Chelsea the tabby cat", "My espresso"]);

  // Text search finds it among the films, shown with its photo.
  await page.fill("#query", "tabby cat asleep on a sofa");
  await redraw(page, () => page.click("#search"));
  const first = page.locator("#recs > li").first();
  assert.equal(await first.locator(".rec-title").textContent(), "Chelsea the tabby cat");
  assert.equal(await first.locator(".badge").textContent(), "your item");
  assert.match(await first.locator(".rec-meta").textContent(), /^2024 · Comedy$/);
  // the thumbnail: the stored photo's bytes as a blob: URL, decoded (the CSP allows blob: images)
  await page.waitForFunction(() => {
    const img = document.querySelector("#recs > li:first-child .rec-thumb");
    return img?.src.startsWith("blob:") && img.complete && img.naturalWidth === 451;
  });
  await shot(page, "04-item-search.png");

  // Search by the same photo (file input): top 1, 100 %; by another photo of the cat (dropped): still top 1.
  await page.setInputFiles("#photo-query", fixture("chelsea.png"));
  await page.waitForSelector("#photo-results li");
  const results = () => page.$$eval("#photo-results li", (lis) => lis.map((l) =>
    `${l.querySelector(".item-title").textContent} · ${l.querySelector(".similar").textContent}`));
  let got = await results();
  assert.equal(got[0], "Chelsea the tabby cat · 100 % similar", got.join(" | "));
  assert.equal(got.length, 2, "only items with a photo");
  await page.evaluate(() => document.querySelector("#photo-results").replaceChildren());
  await dropPhoto("#photo-drop", { file: "chelsea.png", variant: true });
  await page.waitForSelector("#photo-results li");
  got = await results();
  assert.match(got[0], /^Chelsea the tabby cat · \d+ % similar$/, got.join(" | "));
  assert.ok(Number(got[0].match(/(\d+) %/)[1]) < 100, got[0]);
  assert.match(got[1], /^My espresso · /);
  assert.match(await page.textContent("#item-status"), /^Closest to chelsea-again\.jpg: Chelsea the tabby cat/);
  await shot(page, "04-photos.png");

  // A third one, removed again with the keyboard.
  await page.fill("#item-title", "A temporary note");
  await page.click("#item-add");
  await page.waitForFunction(() => document.querySelector("#item-list").dataset.count === "3");
  await page.focus("#item-list li:last-child button.remove");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#item-list").dataset.count === "2");
  assert.match(await page.textContent("#item-status"), /^Removed “A temporary note”/);
  await page.fill("#query", "a temporary note");
  await redraw(page, () => page.click("#search"));
  assert.ok(!(await page.$$eval("#recs .rec-title", (e) => e.map((x) => x.textContent))).includes("A temporary note"));
  await redraw(page, () => page.click("#clear-search"));
  await page.click("#items summary");
});

test("the agent streams, traces, and adds to the watchlist after an in-page approval", async () => {
  await llm.script(session, {
    steps: [{ reply: { content: "Let me add Toy Story to your watchlist.", tool_calls: [{ name: "add_to_watchlist", arguments: { id: "1" } }] } }],
    mode: "planner",
  });
  await page.click("#settings summary");
  await page.fill("#endpoint", `${llm.url}/s/${session}`);
  await page.fill("#model", "scripted");
  await page.selectOption("#autonomy", "3");
  await page.click("#settings-save");
  await page.waitForSelector("#settings-status:text('Settings saved.')");
  assert.equal(await page.getAttribute("#settings", "open"), null, "the settings fold away once saved");
  assert.match(await page.textContent("#agent-mode"), /^Agent: scripted at http:\/\/127\.0\.0\.1:\d+\/s\/demo-.*, autonomy 3\./);

  await page.fill("#chat-input", "Something fun for tonight, and put Toy Story on my watchlist");
  await page.press("#chat-input", "Enter");
  const bubble = page.locator("#chat-log > li.agent").last();
  await bubble.locator(".approval button.allow").waitFor();
  // streamed before the approval: the model's text arrived token by token
  assert.ok(Number(await bubble.getAttribute("data-tokens")) > 3, "no streamed tokens");
  assert.match(await bubble.locator(".bubble-text").textContent(), /^Let me add Toy Story/);
  assert.match(await bubble.locator(".approval").textContent(), /add_to_watchlist \{"id":"1"\} \(Toy Story\)/);
  assert.equal(await page.$$eval("#watchlist li", (l) => l.length), 0);
  await shot(page, "05-approval.png");
  // keyboard: the Allow button has the focus
  assert.equal(await page.evaluate(() => document.activeElement?.className), "allow");
  await page.keyboard.press("Enter");

  await page.waitForFunction(() => document.querySelector("#chat-log > li.agent:last-child")?.dataset.done);
  assert.equal(await bubble.getAttribute("data-done"), "llm");
  assert.match(await bubble.locator(".bubble-text").textContent(), /^Here is what I found: 1/);
  assert.match(await bubble.locator(".approval").textContent(), /^Allowed: add_to_watchlist \(Toy Story\)/);
  const steps = await bubble.locator(".trace li").evaluateAll((lis) => lis.map((l) => `${l.dataset.kind}:${l.dataset.status}`));
  assert.ok(steps.includes("approval:ok"), `trace ${steps}`);
  assert.ok(steps.filter((s) => s === "model:ok").length >= 2, `trace ${steps}`);
  assert.ok(steps.includes("tool:ok"), `trace ${steps}`);
  const toolStep = await bubble.locator(".trace li[data-kind=tool]").first().textContent();
  assert.match(toolStep, /add_to_watchlist/);
  assert.deepEqual(await page.$$eval("#watchlist li", (l) => l.map((x) => x.dataset.id)), ["1"]);
  await bubble.locator(".trace-box summary").click();
  await shot(page, "06-answer.png");
});

test("the privacy ledger shows every request with the exact bytes the server received", async () => {
  // the tabs work from the keyboard (arrow keys move between them)
  await page.focus("#tab-chat");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.getAttribute("#tab-ledger", "aria-selected"), "true");
  assert.equal(await page.evaluate(() => document.activeElement.id), "tab-ledger");
  assert.equal(await page.isVisible("#panel-ledger"), true);
  assert.equal(await page.isVisible("#panel-chat"), false);
  const received = await llm.log(session);
  assert.ok(received.length >= 2, `server saw ${received.length} requests`);
  const entries = page.locator("#ledger > li");
  assert.equal(await entries.count(), received.length);
  for (let i = 0; i < received.length; i++) {
    const entry = entries.nth(i);
    assert.equal(await entry.locator(".method").textContent(), received[i].method);
    assert.ok((await entry.locator(".url").textContent()).endsWith(received[i].path));
    assert.equal(await entry.locator(".status").textContent(), "200");
    assert.equal(await entry.locator("pre.body").textContent(), received[i].body, `body ${i}`);
  }
  assert.match(await page.textContent("#ledger-summary"), new RegExp(`^${received.length} requests left this page`));
  await entries.first().locator("summary").click();
  await shot(page, "07-ledger.png");
});

test("JSON planning (no native tool calls): the agent's items are shown as cards", async () => {
  const jsonSession = `${session}-json`;
  await llm.script(jsonSession, { steps: [], mode: "planner" });
  await page.click("#tab-chat");
  await page.click("#settings summary");
  await page.fill("#endpoint", `${llm.url}/s/${jsonSession}`);
  await page.selectOption("#autonomy", "2");
  await page.check("#json-mode");
  await page.click("#settings-save");
  assert.match(await page.textContent("#agent-mode"), /autonomy 2, JSON planning\./);
  const answers = await page.locator("#chat-log > li.agent").count();
  await page.fill("#chat-input", "a space adventure");
  await page.press("#chat-input", "Enter");
  await page.waitForFunction((n) => document.querySelectorAll("#chat-log > li.agent[data-done]").length > n, answers);
  const bubble = page.locator("#chat-log > li.agent").last();
  assert.equal(await bubble.getAttribute("data-done"), "llm");
  const received = await llm.log(jsonSession);
  assert.equal(received.length, 2);
  for (const r of received) {
    const body = JSON.parse(r.body);
    assert.equal(body.tools, undefined);
    assert.equal(body.response_format?.type, "json_schema");
  }
  const ids = await bubble.locator(".answer-item").evaluateAll((lis) => lis.map((l) => l.dataset.id));
  assert.ok(ids.length > 0, "no item cards");
  assert.match(await bubble.locator(".bubble-text").textContent(), new RegExp(`^Here is what I found: ${ids[0]}`));
  // a card's button adds to the watchlist without the agent; the chip's × removes it
  const other = ids.find((id) => id !== "1");
  await bubble.locator(`.answer-item[data-id="${other}"] button`).click();
  assert.deepEqual(await page.$$eval("#watchlist li", (l) => l.map((x) => x.dataset.id)), ["1", other]);
  await page.locator(`#watchlist li[data-id="${other}"] button`).click();
  assert.deepEqual(await page.$$eval("#watchlist li", (l) => l.map((x) => x.dataset.id)), ["1"]);
  await page.click("#tab-ledger");
  assert.equal(await page.locator("#ledger > li").count(), (await llm.log(session)).length + 2, "the ledger was refreshed");
  await shot(page, "08-json-planning.png");
});

test("the memory inspector remembers, corrects, deletes and exports facts", async () => {
  await page.click("#tab-memory");
  const remember = async (text) => {
    const n = Number(await page.getAttribute("#facts", "data-count"));
    await page.fill("#remember-text", text);
    await page.click("#remember");
    await page.waitForFunction((c) => Number(document.querySelector("#facts").dataset.count) === c + 1, n);
  };
  await remember("I watch films with my two kids");
  await remember("I love old westerns");
  const kids = page.locator("#facts > li", { hasText: "two kids" });
  assert.match(await kids.textContent(), /you said it · episode \d+/);
  await kids.locator("button", { hasText: "Edit" }).click();
  await page.fill("#facts input[aria-label='Corrected text']", "I watch films with my two kids on Fridays");
  await page.press("#facts input[aria-label='Corrected text']", "Enter");
  await page.waitForSelector("#facts .fact-text:text('I watch films with my two kids on Fridays')");
  await page.locator("#facts > li", { hasText: "westerns" }).locator("button", { hasText: "Delete" }).click();
  await page.waitForFunction(() => document.querySelector("#facts").dataset.count === "1");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#memory-export")]);
  const doc = JSON.parse(await readFile(await download.path(), "utf8"));
  assert.equal(doc.format, "recagent-memory");
  assert.deepEqual(doc.semantic.map((f) => f.text), ["I watch films with my two kids on Fridays"]);
  await shot(page, "09-memory.png");
});

test("a reload keeps memory, profile, ratings and watchlist", async () => {
  const before = await recIds(page);
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: 180_000 });
  assert.deepEqual(await recIds(page), before, "the restored profile ranks as before");
  assert.notDeepEqual(before, coldIds);
  assert.equal(await page.$$eval("#feedback-list li", (l) => l.length), 4);
  assert.deepEqual(await page.$$eval("#watchlist li", (l) => l.map((x) => x.dataset.id)), ["1"]);
  await page.click("#tab-memory");
  assert.deepEqual(await page.$$eval("#facts .fact-text", (e) => e.map((x) => x.textContent)),
    ["I watch films with my two kids on Fridays"]);
  assert.equal(await page.inputValue("#endpoint"), `${llm.url}/s/${session}-json`, "the settings are kept");
  assert.equal(await page.isChecked("#json-mode"), true);
  // your items came back from IndexedDB, with their photos, and photo search finds them
  assert.match(await page.textContent("#status"), /: 1,682 films and 2 of your items, ranked on this device\.$/);
  await page.click("#items summary");
  assert.equal(await itemCount(), 2);
  await page.waitForFunction(() => [...document.querySelectorAll("#item-list img")].filter((i) => i.src.startsWith("blob:")).length === 2);
  await page.setInputFiles("#photo-query", join(root, "assets", "fixtures", "image", "coffee.png"));
  await page.waitForSelector("#photo-results li", { timeout: 120_000 });
  assert.equal(await page.textContent("#photo-results li .item-title"), "My espresso");
  await page.click("#items summary");
  await shot(page, "10-reloaded.png");
});

test("at phone width (390 px) the layout is one column", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  const browse = await page.locator("#browse").boundingBox();
  const side = await page.locator(".side").boundingBox();
  assert.ok(side.y >= browse.y + browse.height, "the tabs are below the browse column");
  assert.ok(browse.width <= 390 && side.width <= 390);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 390, `page is ${overflow} px wide`);
  await shot(page, "11-phone-390.png");
  await shot(page, "11-phone-390-top.png", { fullPage: false });
  // "Your items" open: the form is one column and nothing overflows
  await page.click("#items summary");
  const [title, year] = await Promise.all(["#item-title", "#item-year"].map((s) => page.locator(s).boundingBox()));
  assert.ok(year.y > title.y + title.height, "the item form's fields are stacked");
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390);
  await page.locator("#items").screenshot({ path: join(root, "tests", "e2e", "out", "11-phone-390-items.png") });
  await page.click("#items summary");
  await page.setViewportSize({ width: 1280, height: 1000 });
});

test("forget everything empties memory, profile and watchlist, also after a reload", async () => {
  await page.click("#tab-memory");
  await page.click("#forget-all");
  assert.equal(await page.isVisible("#forget-confirm"), true);
  await page.keyboard.press("Escape"); // the focus is on Cancel: Escape cancels, nothing is deleted
  assert.equal(await page.isVisible("#forget-confirm"), false);
  assert.equal(await page.getAttribute("#facts", "data-count"), "1");
  await page.click("#forget-all");
  await redraw(page, () => page.click("#forget-yes"));
  await page.waitForFunction(() => document.querySelector("#facts").dataset.count === "0");
  assert.match(await page.textContent("#memory-status"), /^Everything is forgotten/);
  const check = async () => {
    assert.deepEqual(await recIds(page), coldIds, "the list is a fresh visitor's again");
    assert.equal(await page.$$eval("#feedback-list li", (l) => l.length), 0);
    assert.equal(await page.$$eval("#watchlist li", (l) => l.length), 0);
    await page.click("#tab-memory");
    assert.equal(await page.getAttribute("#facts", "data-count"), "0");
    assert.equal(await itemCount(), 0, "your items are gone");
    await page.fill("#query", "tabby cat asleep on a sofa");
    await redraw(page, () => page.click("#search"));
    assert.ok(!(await page.$$eval("#recs .rec-title", (e) => e.map((x) => x.textContent))).includes("Chelsea the tabby cat"));
    await redraw(page, () => page.click("#clear-search"));
  };
  await check();
  await shot(page, "12-forgotten.png");
  await page.reload();
  await page.waitForSelector("body[data-ready=true]", { timeout: 180_000 });
  await check();
});

test("no CSP violations, page errors or unhandled rejections", () => {
  assert.deepEqual(problems, []);
});
