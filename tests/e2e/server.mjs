// A small static file server for the demo and its tests (loopback only),
// optionally sending a Content-Security-Policy header with every response.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".json": "application/json", ".wasm": "application/wasm",
  ".png": "image/png", ".jpg": "image/jpeg", ".txt": "text/plain; charset=utf-8",
  ".onnx": "application/octet-stream", ".ts": "text/plain", ".rcat": "application/octet-stream",
  ".gguf": "application/octet-stream",
};

/**
 * The demo's strict policy: everything from this origin, wasm compilation
 * allowed, workers from this origin or blob: URLs (wllama, the in-page model's
 * runtime, starts its worker from one), and `fetch` to the LLM origin when
 * there is one (e.g. "http://127.0.0.1:9000").
 */
export function demoCsp(llmOrigin) {
  const connect = ["'self'", ...(llmOrigin ? [new URL(llmOrigin).origin] : [])].join(" ");
  return `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src ${connect}; ` +
    "img-src 'self' blob: data:; style-src 'self'";
}

/** The headers that make a page crossOriginIsolated (SharedArrayBuffer, several pool workers). */
export const ISOLATION_HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
};

/**
 * Serves `root` on 127.0.0.1 (`port` 0: a free one); resolves to { url, close }.
 * `csp`: the Content-Security-Policy header value, or none; `isolated`: send
 * {@link ISOLATION_HEADERS} with every response.
 */
export async function serve(root, { port = 0, csp = null, isolated = false } = {}) {
  const server = createServer(async (req, res) => {
    try {
      let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      path = normalize(path).replace(/^(\.\.[/\\])+/, "");
      let file = join(root, path);
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "content-length": body.length,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        ...(csp && { "content-security-policy": csp }),
        ...(isolated && ISOLATION_HEADERS),
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const { port: bound } = server.address();
  return { url: `http://127.0.0.1:${bound}/`, close: () => new Promise((r) => server.close(r)) };
}
