// A web developer's first hour, as a test: a fresh copy of the shop example
// (examples/shop: a Vite app with its own 200-product JSON catalog, not
// MovieLens) installs the packed tarball, `vite build`s, and in headless
// Chromium its few lines of JS build the catalog on the device
// (`Recommender.create({ items, textModel, vocab })`: embedded by the encoder
// pool's worker, kept in IndexedDB) and show five recommendations. A reload
// reads the built catalog from IndexedDB instead of embedding again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { serve } from "./server.mjs";
import { launch } from "./harness.mjs";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const pkg = join(root, "pkg");
const example = join(root, "examples", "shop");
const out = join(here, "out");

let app, server, browser, page;
const pageErrors = [];
const products = JSON.parse(await readFile(join(example, "products.json"), "utf8"));
const byTitle = new Map(products.map((p) => [p.title, p]));

before(async () => {
  await mkdir(out, { recursive: true });
  await stat(join(pkg, "package.json")).catch(() => {
    throw new Error("pkg/ is missing: build it first (scripts/serve.sh --build)");
  });
  const { stdout } = await run("npm", ["pack", "--json"], { cwd: pkg });
  const [packed] = JSON.parse(stdout);
  // A fresh app: the example's own files only, its dependency pointed at the tarball.
  app = await mkdtemp(join(tmpdir(), "recagent-shop-"));
  for (const f of ["index.html", "main.js", "products.json", "vite.config.js", "package.json"]) {
    await cp(join(example, f), join(app, f));
  }
  const manifest = JSON.parse(await readFile(join(app, "package.json"), "utf8"));
  assert.equal(manifest.dependencies.recagent, `file:../../pkg/${packed.filename}`,
    "examples/shop must depend on the packed tarball");
  manifest.dependencies.recagent = `file:${join(pkg, packed.filename)}`;
  await writeFile(join(app, "package.json"), JSON.stringify(manifest, null, 2));
  await run("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock"], { cwd: app });
  await run(join(app, "node_modules", ".bin", "vite"), ["build"], { cwd: app });
  // The models are the app's data, not the package's: next to the page.
  await symlink(join(root, "assets"), join(app, "dist", "data"));

  server = await serve(join(app, "dist"));
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  page.on("response", (r) => { if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} ${r.url()}`); });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (app) await rm(app, { recursive: true, force: true });
});

/** Opens the app; resolves to the titles shown and the milliseconds to the first result. */
async function open() {
  const started = Date.now();
  await page.goto(server.url);
  // Until a result shows, or the app fails (main.js lets a rejection surface as a page error).
  for (;;) {
    if (pageErrors.length > 0) throw new Error(`the app failed: ${pageErrors.join("; ")}`);
    if (await page.locator("#results li").count() > 0) break;
    if (Date.now() - started > 300_000) throw new Error("no result within 300 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const ms = Date.now() - started;
  return { titles: await page.$$eval("#results li", (lis) => lis.map((li) => li.textContent)), ms };
}

test("the shop's own 200 items are recommended in a few lines of JS", async () => {
  const main = await readFile(join(example, "main.js"), "utf8");
  const lines = main.split("\n").filter((l) => l.trim() !== "");
  assert.ok(lines.length <= 10, `main.js has ${lines.length} lines of JS`);
  assert.doesNotMatch(main, /\binit\b/, "the app never calls init()");
  const { titles, ms } = await open();
  assert.deepEqual(pageErrors, []);
  assert.equal(titles.length, 5, JSON.stringify(titles));
  assert.equal(new Set(titles).size, 5);
  for (const t of titles) assert.ok(byTitle.has(t), `${t} is one of the shop's products`);
  // The query asks for something warm and waterproof for hiking in the rain:
  // the shop sells rain jackets, and the encoder should find them.
  const categories = titles.map((t) => byTitle.get(t).attributes.category);
  assert.ok(categories.filter((c) => c === "rain jackets").length >= 3, `top 5 categories: ${categories}`);
  const stored = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.ok(stored.includes("recagent-catalog:default"), `the built catalog is kept: ${stored}`);
  console.log(`shop: ${lines.length} lines of JS (examples/shop/main.js); first visit, 200 items built on the ` +
    `device, to the first result: ${ms} ms; top 5: ${titles.join(" | ")}`);
  await page.screenshot({ path: join(out, "shop.png"), fullPage: true });
});

test("a second visit loads the built catalog from IndexedDB", async () => {
  const first = await page.$$eval("#results li", (lis) => lis.map((li) => li.textContent));
  // Count embedding work: a catalog read from IndexedDB starts no encoder worker.
  const workers = [];
  const onWorker = (w) => workers.push(w.url());
  page.on("worker", onWorker);
  const { titles, ms } = await open();
  page.off("worker", onWorker);
  assert.deepEqual(titles, first, "same items, same models: same recommendations");
  assert.deepEqual(workers, [], "nothing embedded again");
  console.log(`shop: second visit (catalog from IndexedDB) to the first result: ${ms} ms`);
});

test("no page errors", () => {
  assert.deepEqual(pageErrors, []);
});
