// Completes the package.json wasm-pack writes into pkg/ into the manifest a
// registry expects (docs/contributing.md, "The npm package"):
// - `exports` with `types` first, so bundlers, Node and TypeScript
//   (moduleResolution node16/bundler) resolve the same files (the glue finds
//   its `.wasm` with `new URL(…, import.meta.url)`, which bundlers follow, so
//   the `.wasm` needs no export of its own);
// - `main`/`types`/`module`: index.js and index.d.ts (js/), the glue with
//   the module started on demand; `module` for bundlers that predate `exports`;
// - `files`: the licences beside the README (npm adds README and LICENSE
//   itself, not LICENSE-APACHE and LICENSE-MIT; wasm-pack lists them only
//   on a second build into the same folder);
// - `@wllama/wllama` as an optional peer: `createWllamaEngine` uses the
//   `Wllama` class the app passes in, and an app that never calls it needs
//   nothing installed.
// Every other field (name, version, description, licence, keywords,
// repository, sideEffects) is wasm-pack's, from Cargo.toml.
//
//   node scripts/package-json.mjs [pkg/package.json]
import { readFile, writeFile } from "node:fs/promises";

const path = process.argv[2] ?? new URL("../pkg/package.json", import.meta.url);
const manifest = JSON.parse(await readFile(path, "utf8"));
// The entry point is js/index.js (copied beside the glue by scripts/serve.sh):
// the glue's exports with the module initialised by every `create`.
const main = "index.js";
const types = "index.d.ts";
manifest.main = main;
manifest.types = types;

manifest.module = main;
manifest.exports = {
  ".": { types: `./${types}`, import: `./${main}`, default: `./${main}` },
  "./package.json": "./package.json",
};
manifest.files = [...new Set([...(manifest.files ?? []), main, types, "LICENSE-APACHE", "LICENSE-MIT"])];
// index.js attaches the initialisation to the glue's classes when it runs: a
// bundler must never drop it (it re-exports the glue, so a bundler that
// thought it pure could bind imports straight to recagent.js and skip it).
manifest.sideEffects = [...new Set([...(manifest.sideEffects ?? []), `./${main}`])];
manifest.peerDependencies = { "@wllama/wllama": "^3.0.0" };
manifest.peerDependenciesMeta = { "@wllama/wllama": { optional: true } };

await writeFile(path, JSON.stringify(manifest, null, 2) + "\n");
console.error(`package.json: exports ${Object.keys(manifest.exports).join(", ")}`);
