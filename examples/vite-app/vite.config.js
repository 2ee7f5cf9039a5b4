import { defineConfig } from "vite";

export default defineConfig({
  // The dev server's dependency pre-bundling would move recagent's JS away
  // from its .wasm (loaded with `new URL("recagent_bg.wasm", import.meta.url)`).
  optimizeDeps: { exclude: ["recagent"] },
  build: { target: "es2022" },
});
