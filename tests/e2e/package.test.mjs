// The npm package as a web developer gets it: `npm pack` in pkg/ (built by
// wasm-pack, its package.json completed by scripts/package-json.mjs; publint,
// arethetypeswrong and `npm publish --dry-run` accept it), installed from the tarball into an ordinary Vite app
// (examples/vite-app), bundled with `vite build`, served, and driven in
// headless Chromium: the Recommender is created from URLs (catalog, text
// model, vocab) with progress, recommends into the DOM, and on a reload reads
// every file from the Cache API instead of the network. With ?mode=worker the
// same app runs RecommenderWorker: Vite bundles the worker script (a separate
// file) and the list equals the main-thread one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, stat, symlink } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { chromium } from "playwright-core";
import { serve } from "./server.mjs";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const pkg = join(root, "pkg");
const app = join(root, "examples", "vite-app");
const out = join(here, "out");
const DATA_FILES = ["catalog/ml-100k.rcat", "minilm-int8.onnx", "vocab.txt"];

let packed, server, browser, page;
const pageErrors = [];
const dataRequests = [];

const sha256 = async (file) => createHash("sha256").update(await readFile(file)).digest("hex");

before(async () => {
  await mkdir(out, { recursive: true });
  await stat(join(pkg, "package.json")).catch(() => {
    throw new Error("pkg/ is missing: build it first (scripts/serve.sh --build)");
  });
  const { stdout } = await run("npm", ["pack", "--json"], { cwd: pkg });
  [packed] = JSON.parse(stdout);
  const wanted = JSON.parse(await readFile(join(app, "package.json"), "utf8")).dependencies.recagent;
  assert.equal(wanted, `file:../../pkg/${packed.filename}`, "examples/vite-app must depend on the packed tarball");

  // A stale copy of the same version would survive `npm install`: remove it first.
  await rm(join(app, "node_modules", "recagent"), { recursive: true, force: true });
  // No lock file (.npmrc): a locked integrity would make npm reinstall the old tarball.
  await run("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock"], { cwd: app });
  assert.equal(await sha256(join(app, "node_modules", "recagent", "recagent_bg.wasm")),
    await sha256(join(pkg, "recagent_bg.wasm")), "the app installed the freshly packed module");
  await rm(join(app, "dist"), { recursive: true, force: true });
  await run(join(app, "node_modules", ".bin", "vite"), ["build"], { cwd: app });
  // The catalog and models are the app's data, not the package's: next to the page.
  await symlink(join(root, "assets"), join(app, "dist", "data"));

  server = await serve(join(app, "dist"));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") pageErrors.push(m.text()); });
  page.on("response", (r) => { if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} ${r.url()}`); });
  page.on("request", (r) => { if (new URL(r.url()).pathname.startsWith("/data/")) dataRequests.push(r.url()); });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Loads the app (`search`: e.g. "?mode=worker") and waits until it is ready (or has failed). */
async function load(search = "") {
  await page.goto(server.url + search);
  await page.waitForSelector("body[data-ready=true], body[data-error]", { timeout: 180_000 });
  const error = await page.getAttribute("body", "data-error");
  assert.equal(error, null, `the app failed: ${await page.textContent("#status")}`);
}

test("the packed tarball is a complete npm package", async () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ["LICENSE", "README.md", "package.json", "index.d.ts", "index.js", "recagent.d.ts", "recagent.js",
    "recagent_bg.wasm"]) {
    assert.ok(files.includes(f), `${f} missing from ${files}`);
  }
  const manifest = JSON.parse(await readFile(join(pkg, "package.json"), "utf8"));
  assert.equal(manifest.name, "recagent");
  assert.match(manifest.version, /^\d+\.\d+\.\d+/);
  assert.equal(manifest.license, "MIT OR Apache-2.0");
  assert.equal(manifest.type, "module");
  // The entry point starts the module on demand (js/index.js): the app never calls init().
  assert.equal(manifest.main, "index.js");
  assert.equal(manifest.types, "index.d.ts");
  const dts = await readFile(join(pkg, "recagent.d.ts"), "utf8");
  assert.match(dts, /static clearCache\(\): Promise<boolean>;/);
  assert.match(dts, /catalog\?: Uint8Array \| string;/);
  assert.match(dts, /items\?: ItemInput\[\];/);
  // The README npm shows is written for someone installing the package (js/README.md), not the repository's.
  const readme = await readFile(join(pkg, "README.md"), "utf8");
  assert.match(readme, /npm install recagent/);
  assert.doesNotMatch(readme, /scripts\/serve\.sh|\]\(docs\//, "no repository set-up, no relative links that break on npm");
  const entry = await readFile(join(pkg, "index.d.ts"), "utf8");
  assert.match(entry, /export \* from "\.\/recagent\.js";/);
  const wasm = packed.files.find((f) => f.path === "recagent_bg.wasm");
  console.log(`tarball ${packed.filename}: ${packed.size} bytes packed, ${packed.unpackedSize} unpacked; ` +
    `recagent_bg.wasm ${wasm.size} bytes`);
});

test("publint, arethetypeswrong and npm publish --dry-run accept the package", async () => {
  const manifest = JSON.parse(await readFile(join(pkg, "package.json"), "utf8"));
  assert.deepEqual(manifest.exports["."], { types: "./index.d.ts", import: "./index.js", default: "./index.js" });
  for (const f of ["LICENSE-APACHE", "LICENSE-MIT"]) {
    assert.ok(packed.files.some((p) => p.path === f), `${f} missing from the tarball`);
  }
  const bin = join(here, "node_modules", ".bin");
  // --strict: warnings fail too. attw's esm-only profile: the package is ESM
  // (wasm-pack's web target), so CommonJS resolution is not a goal.
  const lint = await run(join(bin, "publint"), ["--strict", pkg]);
  assert.match(lint.stdout, /All good!/, lint.stdout);
  const tarball = join(pkg, packed.filename);
  // attw exits non-zero (and `run` rejects with its table) on any problem.
  await run(join(bin, "attw"), [tarball, "--profile", "esm-only", "--format", "ascii"]);
  console.log("arethetypeswrong: no problems (profile esm-only)");
  const dry = await run("npm", ["publish", "--dry-run", "--json", "--ignore-scripts"], { cwd: pkg });
  // npm 11 keys the report by package name; older versions print it bare.
  const report = JSON.parse(dry.stdout);
  const entry = report.recagent ?? report;
  assert.equal(entry.id, `recagent@${manifest.version}`);
  console.log(`npm publish --dry-run: ${entry.id}, ${entry.files.length} files, ${entry.size} bytes packed`);
});

test("the Vite app downloads the files with progress and recommends", async () => {
  await load();
  const status = await page.textContent("#status");
  assert.match(status, /^Ready in \d+ ms: 1682 items on the device\.$/);
  console.log(`first visit (files from the network): ${status}`);
  // One download per file, each announced and finished at its size on disk.
  assert.deepEqual(dataRequests.map((u) => new URL(u).pathname).sort(), DATA_FILES.map((f) => `/data/${f}`).sort());
  for (const f of DATA_FILES) {
    const size = (await stat(join(root, "assets", f))).size;
    const li = page.locator(`[id="progress-./data/${f}"]`);
    assert.equal(await li.getAttribute("data-loaded"), String(size), f);
    assert.equal(await li.getAttribute("data-total"), String(size), f);
  }
  const results = await page.$$eval("#results li", (lis) => lis.map((li) => ({ id: li.dataset.id, text: li.textContent })));
  assert.equal(results.length, 5, JSON.stringify(results));
  assert.equal(new Set(results.map((r) => r.id)).size, 5);
  for (const r of results) assert.match(r.text, /^\S.* — \S/);
  await page.screenshot({ path: join(out, "vite-app.png"), fullPage: true });
});

test("a reload reads every file from the Cache API, not the network", async () => {
  const before = await page.$$eval("#results li", (lis) => lis.map((li) => li.dataset.id));
  dataRequests.length = 0;
  await load();
  assert.deepEqual(dataRequests, [], "no request for the catalog or the models");
  console.log(`reload (files from the Cache API): ${await page.textContent("#status")}`);
  const after = await page.$$eval("#results li", (lis) => lis.map((li) => li.dataset.id));
  assert.deepEqual(after, before, "same files, same recommendations");
  const cached = await page.evaluate(async () => (await (await caches.open("recagent-v1")).keys()).length);
  assert.equal(cached, 3);
});

test("a different query changes the list", async () => {
  const first = await page.$$eval("#results li", (lis) => lis.map((li) => li.dataset.id));
  await page.fill("#query", "a dark psychological thriller about a serial killer");
  await page.click("button[type=submit]");
  await page.waitForFunction((ids) => [...document.querySelectorAll("#results li")]
    .map((li) => li.dataset.id).join() !== ids.join(), first);
  const titles = await page.$$eval("#results li", (lis) => lis.map((li) => li.textContent));
  assert.equal(titles.length, 5);
});

test("worker mode: Vite bundles the worker and the list is the main thread's", async () => {
  const workerScripts = [];
  const onRequest = (r) => { if (r.resourceType() === "script" || /worker/.test(r.url())) workerScripts.push(new URL(r.url()).pathname); };
  page.on("request", onRequest);
  await load();
  const query = "a dark psychological thriller about a serial killer";
  await page.fill("#query", query);
  await page.click("button[type=submit]");
  await page.waitForFunction((q) => document.body.dataset.shown === q, query);
  const mainIds = await page.$$eval("#results li", (lis) => lis.map((li) => li.dataset.id));
  await load("?mode=worker");
  assert.match(await page.textContent("#status"), /^Ready in \d+ ms: 1682 items on the device \(in a Web Worker\)\.$/);
  console.log(`worker mode (files from the Cache API): ${await page.textContent("#status")}`);
  await page.fill("#query", query);
  await page.click("button[type=submit]");
  await page.waitForFunction((q) => document.body.dataset.shown === q, query);
  const workerIds = await page.$$eval("#results li", (lis) => lis.map((li) => li.dataset.id));
  page.off("request", onRequest);
  assert.equal(workerIds.length, 5);
  assert.deepEqual(workerIds, mainIds);
  const bundled = workerScripts.filter((p) => /worker/i.test(p) && p.endsWith(".js"));
  assert.ok(bundled.length > 0, `a worker script from the bundle: ${workerScripts}`);
  for (const p of bundled) assert.ok(!p.includes("snippets"), `Vite emitted the worker itself, not the raw snippet: ${p}`);
});

test("no page errors", () => {
  assert.deepEqual(pageErrors, []);
});
