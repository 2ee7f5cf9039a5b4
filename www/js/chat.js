// Chat with the agent: settings (endpoint, model, key, autonomy, JSON
// planning, or a model run in this page), streamed replies, the step trace
// under each answer, in-page approval prompts for side-effecting tools,
// answer items as cards, and the demo's own side-effecting tool
// `add_to_watchlist` (kept in localStorage).
import { createWllamaEngine } from "../pkg/recagent.js";
import { $, h, loadJson, saveJson, describeError, formatBytes, displayTitle, KEYS } from "./dom.js";

const KEY_SESSION = "recagent-demo:api-key"; // sessionStorage: the key lives only as long as the tab

/** The in-page model: SmolLM2-135M-Instruct (Q4_1 GGUF, set up by scripts/setup.sh) run by wllama. */
const IN_PAGE = {
  name: "SmolLM2-135M",
  modelUrl: "./assets/models/SmolLM2-135M-Instruct.Q4_1.gguf",
  wasmPath: "./wllama/wasm/wllama.wasm",   // @wllama/wllama's esm/, linked by scripts/serve.sh
  nCtx: 2048,
  maxTokens: 64,
  // One CPU thread reads about 10–30 prompt tokens per second: 5 films to describe (a shorter
  // prompt) and three minutes per answer instead of an endpoint's 15 s per request and 45 s in all.
  k: 5,
  timeoutMs: 180_000,
};

/** Reads the settings form into { endpoint, model, apiKey, autonomy, json }. */
function readForm() {
  return {
    endpoint: $("endpoint").value.trim(),
    model: $("model").value.trim(),
    apiKey: $("api-key").value,
    autonomy: Number($("autonomy").value),
    json: $("json-mode").checked,
    inPage: $("in-page").checked,
  };
}

function fillForm(s) {
  $("endpoint").value = s.endpoint ?? "";
  $("model").value = s.model ?? "";
  $("api-key").value = s.apiKey ?? "";
  $("autonomy").value = String(s.autonomy ?? 2);
  $("json-mode").checked = Boolean(s.json);
  $("in-page").checked = Boolean(s.inPage);
}

/** The share level the policy gives this page's own origin (what the in-page model may see). */
function pageShare(policy) {
  return policy.endpoints?.[location.origin] ?? (policy.onlyListedEndpoints ? "nothing" : policy.share);
}

/** Wires the chat panel. */
export async function setupChat(app) {
  const { rec } = app;
  const watchlist = loadJson(KEYS.watchlist, []); // { id, title }[]
  let settings = { ...loadJson(KEYS.settings, {}), apiKey: sessionStorage.getItem(KEY_SESSION) ?? "" };
  let running = null; // the AbortController of the ask in flight
  let engine = null;  // the in-page engine, once loaded
  let loading = null; // its loading promise

  /** Loads the in-page model once (wllama and the GGUF, with a progress bar). */
  function loadEngine() {
    if (engine) return Promise.resolve(engine);
    loading ??= (async () => {
      const bar = $("model-progress");
      const text = $("model-load-text");
      $("model-load").hidden = false;
      bar.value = 0;
      text.textContent = `Loading ${IN_PAGE.name}…`;
      const started = performance.now();
      const { Wllama } = await import("../wllama/index.js");
      const loaded = await createWllamaEngine({
        Wllama, modelUrl: IN_PAGE.modelUrl, wasmPath: IN_PAGE.wasmPath, nCtx: IN_PAGE.nCtx, maxTokens: IN_PAGE.maxTokens,
        onProgress: ({ loaded, total }) => {
          if (total) bar.value = Math.min(1, loaded / total);
          text.textContent = `Loading ${IN_PAGE.name}… ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ""}`;
        },
      });
      bar.value = 1;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      text.textContent = `${IN_PAGE.name} loaded in ${seconds} s; it runs in this page, on your CPU.`;
      document.body.dataset.inPageModel = "ready";
      engine = loaded;
      return loaded;
    })();
    return loading.catch((e) => {
      loading = null;
      $("model-load-text").textContent = `${IN_PAGE.name} could not be loaded: ${describeError(e)}`;
      document.body.dataset.inPageModel = "error";
      throw e;
    });
  }
  // A fetch to the LLM blocked by the page's Content-Security-Policy: say how to allow it.
  let blockedByCsp = null;
  document.addEventListener("securitypolicyviolation", (e) => {
    if (e.effectiveDirective === "connect-src") blockedByCsp = e.blockedURI;
  });

  function renderWatchlist() {
    $("watchlist").replaceChildren(...watchlist.map((w) => h("li", { dataset: { id: w.id } }, w.title,
      h("button", { type: "button", class: "chip-x", "aria-label": `Remove ${w.title} from the watchlist`,
        onclick: () => { watchlist.splice(watchlist.indexOf(w), 1); saveJson(KEYS.watchlist, watchlist); renderWatchlist(); } }, "×"))));
    $("watch-empty").hidden = watchlist.length > 0;
  }

  /** Adds a film to the watchlist (the app tool's effect, also a button on answer cards). */
  async function addToWatchlist(id) {
    const item = await rec.item(String(id));
    if (!item) throw new Error(`there is no film with id ${id}`);
    if (!watchlist.some((w) => w.id === item.id)) watchlist.push({ id: item.id, title: item.title });
    saveJson(KEYS.watchlist, watchlist);
    renderWatchlist();
    return { added: { id: item.id, title: item.title }, watchlistSize: watchlist.length };
  }

  await rec.registerTool({
    name: "add_to_watchlist",
    description: "Adds a film (by catalog id) to the user's watchlist in this app.",
    parameters: { type: "object", properties: { id: { type: "string", description: "catalog id of the film" } }, required: ["id"] },
    sideEffects: true,
    run: async ({ id }) => addToWatchlist(id),
  });

  async function describeMode() {
    const current = await rec.policy();
    const policy = current.share;
    let text;
    if (settings.inPage) {
      const share = pageShare(current);
      if (!engine) text = `Loading ${IN_PAGE.name} into this page…`;
      else if (share === "nothing") text = `${IN_PAGE.name} runs in this page, but the privacy policy gives this page's origin (${location.origin}) nothing: the device answers.`;
      else text = `Agent: ${IN_PAGE.name} running in this page (llama.cpp in WebAssembly), autonomy ${settings.autonomy ?? 2}, JSON planning. Nothing leaves the page: the Privacy ledger stays empty.`;
    } else if (!settings.endpoint) text = "No LLM endpoint set: the agent answers on this device (autonomy 0) and nothing is sent. Add one in the settings.";
    else if (policy === "nothing") text = `Endpoint ${settings.endpoint} set, but the privacy policy allows sending nothing: the device answers.`;
    else text = `Agent: ${settings.model || "default"} at ${settings.endpoint}, autonomy ${settings.autonomy ?? 2}${settings.json ? ", JSON planning" : ""}. Every request is listed under Privacy.`;
    $("agent-mode").textContent = text;
  }

  /** Applies settings to the recommender; false (with a message) when they are invalid. */
  async function apply(s) {
    try {
      if (s.inPage) {
        await rec.setLlm(null); // until the model is loaded, the device answers
        await describeMode();
        await rec.setLlm({ engine: await loadEngine(), toolMode: "json", timeoutMs: IN_PAGE.timeoutMs });
      } else if (s.endpoint) {
        await rec.setLlm({ endpoint: s.endpoint, ...(s.model && { model: s.model }), ...(s.apiKey && { apiKey: s.apiKey }),
          toolMode: s.json ? "json" : "native" });
      } else {
        await rec.setLlm(null);
      }
      return true;
    } catch (e) {
      $("settings-status").textContent = `Not saved: ${describeError(e)}`;
      return false;
    }
  }

  fillForm(settings);
  apply(settings).then((ok) => {
    if (!ok) settings = { autonomy: 2 };
    return describeMode();
  });
  await describeMode();
  renderWatchlist();
  app.onPolicyChanged = describeMode;

  $("settings-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const next = readForm();
    settings = next;
    $("settings-save").disabled = true;
    const ok = await apply(next);
    $("settings-save").disabled = false;
    if (!ok) return;
    const { apiKey, ...stored } = next;
    saveJson(KEYS.settings, stored);
    if (apiKey) sessionStorage.setItem(KEY_SESSION, apiKey); else sessionStorage.removeItem(KEY_SESSION);
    $("settings-status").textContent = "Settings saved.";
    $("settings").open = false;
    await describeMode();
  });

  function stepLine(step) {
    let what = step.kind === "tool" || step.kind === "approval" ? `${step.kind} ${step.tool ?? ""}`
      : step.kind === "understand" ? `understood (${step.tool === "device" ? "on this device" : "with the model's proposal"})` : step.kind;
    if (step.engine === "in-page") what += " (in this page)";
    // The intent itself is summarised in the result; its JSON is in the answer object.
    const args = step.arguments !== undefined && step.kind !== "understand" ? ` ${JSON.stringify(step.arguments)}` : "";
    return h("li", { class: `step ${step.status}`, dataset: { kind: step.kind, status: step.status } },
      h("span", { class: "step-kind" }, what), args,
      h("span", { class: "step-status" }, ` — ${step.status}${step.reason ? `: ${step.reason}` : ""}`),
      step.resultSummary ? h("span", { class: "step-result" }, ` → ${step.resultSummary}`) : null,
      h("span", { class: "muted" }, ` (${Math.round(step.durationMs)} ms)`),
      step.thought ? h("div", { class: "thought" }, step.thought) : null);
  }

  /** Shows an Allow/Deny prompt in the bubble; resolves with the user's choice. */
  async function approvalPrompt(container, req) {
    const title = (await rec.item(String(req.arguments?.id ?? "")))?.title;
    return new Promise((resolve) => {
      const box = h("div", { class: "approval", role: "group", "aria-label": `Approval for ${req.tool}` },
        h("p", {}, h("strong", {}, "The agent wants to: "), `${req.tool} ${JSON.stringify(req.arguments)}`,
          title ? ` (${title})` : ""),
        h("p", { class: "muted" }, req.description));
      const decide = (ok) => {
        box.replaceChildren(h("p", { class: ok ? "allowed" : "denied" }, `${ok ? "Allowed" : "Denied"}: ${req.tool}${title ? ` (${title})` : ""}`));
        resolve(ok);
      };
      const allow = h("button", { type: "button", class: "allow", onclick: () => decide(true) }, "Allow");
      box.append(h("div", { class: "row" }, allow, h("button", { type: "button", class: "deny ghost", onclick: () => decide(false) }, "Deny")));
      container.append(box);
      allow.focus();
    });
  }

  function answerCard(item) {
    return h("li", { class: "answer-item", dataset: { id: item.id } },
      h("strong", {}, displayTitle(item.title)), item.reason ? h("span", { class: "muted" }, ` — ${item.reason}`) : null,
      h("button", { type: "button", class: "ghost small", "aria-label": `Add ${item.title} to the watchlist`,
        onclick: () => addToWatchlist(item.id) }, "+ Watchlist"));
  }

  async function ask(message) {
    const log = $("chat-log");
    log.append(h("li", { class: "bubble user" }, message));
    const text = h("div", { class: "bubble-text" });
    const note = h("p", { class: "bubble-note muted" });
    const approvals = h("div", { class: "approvals" });
    const items = h("ol", { class: "answer-items", "aria-label": "Films in this answer" });
    const trace = h("ol", { class: "trace" });
    const stop = h("button", { type: "button", class: "ghost small", onclick: () => running?.abort() }, "Stop");
    const bubble = h("li", { class: "bubble agent", "aria-busy": "true", dataset: { tokens: "0" } },
      text, approvals, items, note, h("details", { class: "trace-box" }, h("summary", {}, "Steps"), trace), stop);
    log.append(bubble);
    bubble.scrollIntoView({ block: "nearest" });
    $("chat-send").disabled = true;
    running = new AbortController();
    const withModel = settings.inPage ? engine !== null : Boolean(settings.endpoint);
    const autonomy = withModel ? settings.autonomy ?? 2 : 0;
    blockedByCsp = null;
    try {
      const result = await rec.ask(message, {
        autonomy,
        ...(settings.inPage && withModel && { k: IN_PAGE.k, budgets: { maxWallMs: IN_PAGE.timeoutMs } }),
        signal: running.signal,
        onToken: (t) => { text.append(t); bubble.dataset.tokens = String(Number(bubble.dataset.tokens) + 1); },
        onStep: (step) => trace.append(stepLine(step)),
        approve: (req) => approvalPrompt(approvals, req),
      });
      text.textContent = result.question ?? result.answer;
      if (result.intent?.summary) {
        // What was understood, as chips the person can check: "Thriller · after 1995 · not Horror".
        const chips = h("p", { class: "intent", "aria-label": "What the agent understood" }, "Understood: ",
          ...result.intent.summary.split(" · ").map((part) => h("span", { class: "chip" }, part)));
        text.after(chips);
      }
      items.replaceChildren(...result.items.map(answerCard));
      if (settings.inPage && !result.fallback && withModel) {
        note.textContent = `Answered by ${IN_PAGE.name} in this page at autonomy ${result.autonomy}; nothing was sent.`;
      } else if (!withModel) note.textContent = settings.inPage
        ? `Answered on this device: ${IN_PAGE.name} is still loading.`
        : "Answered on this device: no LLM endpoint is set, nothing was sent.";
      else if (result.fallback) {
        note.textContent = `Answered on this device (${result.fallback.code}): ${result.fallback.reason}`;
        if (blockedByCsp) {
          note.append(h("br"), `This page's Content-Security-Policy does not allow requests to ${new URL(settings.endpoint).origin}; ` +
            `serve the demo with RECAGENT_LLM_ORIGIN=${new URL(settings.endpoint).origin} scripts/serve.sh.`);
        }
      }
      else note.textContent = `Answered with ${settings.model || "the LLM"} at autonomy ${result.autonomy}.`;
      bubble.dataset.done = result.fallback ? `fallback:${result.fallback.code}`
        : !withModel ? "device" : settings.inPage ? "in-page" : "llm";
    } catch (e) {
      note.textContent = `The agent failed: ${describeError(e)}`;
      note.classList.add("error");
      bubble.dataset.done = "error";
    } finally {
      running = null;
      stop.remove();
      bubble.removeAttribute("aria-busy");
      $("chat-send").disabled = false;
      await app.onAsked();
      await app.onMemoryChanged();
    }
  }

  $("chat-input").disabled = false;
  $("chat-send").disabled = false;
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const message = $("chat-input").value.trim();
    if (!message || running) return;
    $("chat-input").value = "";
    ask(message);
  });

  return {
    /** After "Forget everything". */
    async forgotten() { watchlist.length = 0; renderWatchlist(); await rec.resetConversation(); },
  };
}
