import { defineConfig } from "vite";

export default defineConfig({
  // Pre-bundling would move recagent's JS away from its .wasm (found with
  // `new URL("recagent_bg.wasm", import.meta.url)`).
  optimizeDeps: { exclude: ["recagent"] },
  // Top-level await in main.js.
  build: { target: "es2022" },
});
