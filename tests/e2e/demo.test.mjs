// Drives the demo page (www/, importing the built pkg/) in headless Chromium:
// real models, real text and image embeddings, no page errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const out = join(here, "out");
let server, browser, page;
const pageErrors = [];

before(async () => {
  await mkdir(out, { recursive: true });
  server = await serve(join(root, "www"));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  await page.goto(server.url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 180_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test("the page loads both models and embeds the sample catalog", async () => {
  const status = await page.textContent("#status");
  assert.match(status, /^Ready in .* 40 items embedded .* 384-d text and 1280-d image embeddings/);
});

test("a typed sentence finds its nearest items", async () => {
  const first = async (query) => {
    await page.fill("#query", query);
    await page.press("#query", "Enter");
    await page.waitForFunction((q) => document.querySelector("#text-timing").textContent !== "" &&
      document.querySelector("#query").value === q, query);
    return page.$$eval("#text-results li", (lis) => lis.map((li) => li.dataset.id));
  };
  const horror = await first("a frightening haunted house film");
  assert.ok(["the-shining", "conjuring"].includes(horror[0]), `got ${horror}`);
  const coffee = await first("make a cappuccino at home");
  assert.ok(["espresso-machine", "coffee-beans"].includes(coffee[0]), `got ${coffee}`);
  const kids = await first("bedtime music for a baby");
  assert.equal(kids[0], "lullabies", `got ${kids}`);
});

test("a dropped image finds the most similar image", async () => {
  await page.setInputFiles("#file", join(root, "assets", "fixtures", "image", "coffee.png"));
  await page.waitForSelector("#image-results li");
  const captions = await page.$$eval("#image-results li .score", (els) => els.map((e) => e.textContent));
  assert.match(captions[0], /^coffee\.png · /);
  const score = Number(captions[0].split("· ")[1]);
  assert.ok(score > 0.99, `self-similarity ${score}`);
  assert.match(captions[1], /^chelsea\.png · /);
  await page.screenshot({ path: join(out, "demo.png"), fullPage: true });
});

test("no page errors", () => {
  assert.deepEqual(pageErrors, []);
});
