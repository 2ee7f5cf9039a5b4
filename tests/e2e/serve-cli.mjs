// Serves the demo (www/) with the strict Content-Security-Policy, for
// scripts/serve.sh:  node tests/e2e/serve-cli.mjs [--port 8080] [--root www]
// The LLM origin the page may fetch comes from RECAGENT_LLM_ORIGIN (default none).
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";
import { serve, demoCsp } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const port = Number(arg("--port", process.env.PORT ?? "8080"));
const root = resolve(arg("--root", join(here, "..", "..", "www")));
const llmOrigin = process.env.RECAGENT_LLM_ORIGIN || null;
const csp = demoCsp(llmOrigin);

const { url } = await serve(root, { port, csp });
console.log(`serving ${root} at ${url}`);
console.log(`Content-Security-Policy: ${csp}`);
if (!llmOrigin) console.log("no RECAGENT_LLM_ORIGIN: the page may fetch only from its own origin (the agent answers on the device)");
