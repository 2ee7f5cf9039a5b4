// Shared set-up of the demo's end-to-end tests: the scripted LLM server, the
// demo served under its strict CSP, headless Chromium, and browser contexts
// that report CSP violations, page errors and unhandled rejections.
import { spawn, spawnSync } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";
import { serve, demoCsp } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const out = join(here, "out");

/**
 * The scripted LLM server: the one scripts/test.sh started (RECAGENT_LLM_SERVER)
 * when set, else our own (`cargo build -p recagent-testkit --bin scripted_llm`, then the binary).
 * Resolves to { url, script(session, body), log(session), stop() }.
 */
export async function startLlmServer() {
  let url = process.env.RECAGENT_LLM_SERVER;
  let child = null;
  if (!url) {
    const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
    const build = spawnSync("cargo", ["build", "--quiet", "-p", "recagent-testkit", "--bin", "scripted_llm"], { cwd: root, stdio: "inherit" });
    if (build.status !== 0) throw new Error("cargo build -p recagent-testkit --bin scripted_llm failed");
    child = spawn(join(target, "debug", "scripted_llm"), [], { stdio: ["ignore", "pipe", "inherit"] });
    url = await new Promise((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      const timer = setTimeout(() => reject(new Error("scripted_llm did not print its address")), 30_000);
      lines.on("line", (line) => {
        const m = /^listening (http:\/\/\S+)$/.exec(line);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      child.once("exit", (code) => reject(new Error(`scripted_llm exited (${code})`)));
    });
  }
  url = url.replace(/\/$/, "");
  return {
    url,
    async script(session, body) {
      const res = await fetch(`${url}/_script/${session}`, { method: "PUT", body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`PUT /_script/${session}: ${res.status}`);
    },
    async log(session) {
      return (await fetch(`${url}/_log/${session}`)).json();
    },
    stop() { child?.kill(); },
  };
}

/** Serves www/ with the demo's CSP allowing `llmOrigin`. */
export async function serveDemo(llmOrigin) {
  await mkdir(out, { recursive: true });
  return serve(join(root, "www"), { csp: demoCsp(llmOrigin) });
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
      "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A fresh context (own storage) whose pages report into `problems`: CSP
 * violations, uncaught errors, unhandled rejections and console errors — across reloads.
 */
export async function instrumentedContext(browser, problems, viewport = { width: 1280, height: 1000 }) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  await context.exposeBinding("__recagentReport", (_source, kind, detail) => problems.push(`${kind}: ${detail}`));
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__recagentReport("csp", `${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));
    window.addEventListener("unhandledrejection", (e) => window.__recagentReport("unhandledrejection", String(e.reason?.stack ?? e.reason)));
  });
  context.on("page", (page) => watch(page, problems));
  return context;
}

function watch(page, problems) {
  page.on("pageerror", (e) => problems.push(`pageerror: ${e}`));
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
}

/** Opens the demo and waits until it is ready (models loaded, first list shown). */
export async function openDemo(page, url) {
  await page.goto(url);
  await page.waitForSelector("body[data-ready]", { timeout: 180_000 });
  const ready = await page.getAttribute("body", "data-ready");
  if (ready !== "true") throw new Error(`the demo did not start: ${await page.textContent("#status")}`);
}

/** The ids of the recommendation cards, in order. */
export function recIds(page) {
  return page.$$eval("#recs > li", (lis) => lis.map((li) => li.dataset.id));
}

/** Runs `action` and waits until the recommendation list was redrawn. */
export async function redraw(page, action) {
  const before = Number(await page.getAttribute("#recs", "data-version"));
  await action();
  await page.waitForFunction((v) => Number(document.querySelector("#recs").dataset.version) > v, before);
}

export const shot = (page, name, options = {}) => page.screenshot({ path: join(out, name), fullPage: true, ...options });
