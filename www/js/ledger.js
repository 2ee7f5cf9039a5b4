// The privacy ledger: every request that left the page (`rec.ledger()`),
// with method, URL, status, size and the exact body, and the privacy policy
// selector (`setPolicy`).
import { $, h, loadJson, saveJson, formatBytes, describeError, KEYS } from "./dom.js";

/** Wires the privacy panel; returns `{ refresh }`. */
export async function setupLedger(app) {
  const { rec } = app;
  const policy = $("policy");
  const stored = loadJson(KEYS.policy, null);
  if (stored) {
    try { await rec.setPolicy({ share: stored }); } catch (e) { console.warn(`stored policy ignored: ${describeError(e)}`); }
  }
  policy.value = (await rec.policy()).share;
  policy.addEventListener("change", async () => {
    const share = policy.value, label = policy.selectedOptions[0].textContent;
    try {
      await rec.setPolicy({ share });
      saveJson(KEYS.policy, share);
      app.status(`Privacy policy: ${label}.`);
      await app.onPolicyChanged?.();
    } catch (e) {
      app.status(`Could not set the policy: ${describeError(e)}`, true);
    }
  });

  function entry(e) {
    const status = e.status ?? e.error ?? "pending";
    const headers = e.headers.map(([k, v]) => `${k}: ${v}`).join("\n");
    return h("li", { class: `ledger-entry ${e.status && e.status < 400 ? "ok" : "bad"}`, dataset: { seq: e.seq } },
      h("details", {},
        h("summary", {},
          h("span", { class: "method" }, e.method), " ", h("span", { class: "url" }, e.url), " ",
          h("span", { class: "status" }, String(status)), " · ",
          h("span", { class: "bytes" }, formatBytes(e.bytes)), " · ",
          `${Math.round(e.durationMs)} ms${e.attempt > 1 ? ` · attempt ${e.attempt}` : ""}`),
        h("p", { class: "muted small" }, new Date(e.timeMs).toLocaleString()),
        h("pre", { class: "headers" }, headers),
        h("pre", { class: "body", tabindex: "0", "aria-label": `Body of request ${e.seq}` }, e.body)));
  }

  async function refresh() {
    const entries = await rec.ledger();
    $("ledger").replaceChildren(...entries.map(entry));
    const total = entries.reduce((a, e) => a + e.bytes, 0);
    $("ledger-summary").textContent = entries.length
      ? `${entries.length} request${entries.length > 1 ? "s" : ""} left this page (${formatBytes(total)} sent) since it was opened.`
      : "No request has left this page.";
    $("ledger").dataset.count = String(entries.length);
  }

  await refresh();
  return { refresh };
}
