// The memory inspector: the facts of `rec.memory` with their provenance,
// edit (correct), delete (forget), remember, export as a JSON download, and
// "Forget everything" (memory, profile and the page's own copies) after a confirm.
import { $, h, describeError, KEYS } from "./dom.js";

function provenance(fact) {
  const p = fact.provenance;
  const from = p.source === "user" ? "you said it" : `consolidated${p.rule ? ` (${p.rule})` : ""}`;
  const episodes = p.episodes.length ? ` · episode${p.episodes.length > 1 ? "s" : ""} ${p.episodes.join(", ")}` : "";
  const when = new Date(fact.updatedMs || fact.createdMs).toLocaleString();
  return `${from}${episodes} · ${when} · confidence ${fact.confidence.toFixed(2)}`;
}

/** Wires the memory panel; returns `{ refresh }`. */
export async function setupMemory(app) {
  const { rec } = app;
  const memory = rec.memory;
  const say = (text, isError = false) => {
    $("memory-status").textContent = text;
    $("memory-status").classList.toggle("error", isError);
  };
  memory.on("versionchange", () => say("This memory was upgraded in another tab: reload the page.", true));

  function factItem(fact) {
    const text = h("p", { class: "fact-text" }, fact.text);
    const li = h("li", { class: "fact", dataset: { id: fact.id, kind: fact.kind } },
      h("span", { class: `kind ${fact.kind}` }, fact.kind), text,
      h("p", { class: "muted small" }, provenance(fact)));
    const edit = h("button", { type: "button", class: "ghost small", "aria-label": `Edit “${fact.text}”` }, "Edit");
    const del = h("button", { type: "button", class: "ghost small", "aria-label": `Delete “${fact.text}”` }, "Delete");
    const actions = h("div", { class: "row" }, edit, del);
    li.append(actions);
    del.addEventListener("click", async () => {
      try {
        await memory.forget(fact.id);
        say(`Forgot “${fact.text}”.`);
      } catch (e) { say(`Could not delete: ${describeError(e)}`, true); }
      await refresh();
    });
    edit.addEventListener("click", () => {
      const input = h("input", { type: "text", value: fact.text, "aria-label": "Corrected text" });
      const form = h("form", { class: "row" }, input,
        h("button", { type: "submit", class: "small" }, "Save"),
        h("button", { type: "button", class: "ghost small", onclick: () => refresh() }, "Cancel"));
      form.addEventListener("submit", async (e) => {
        e.preventDefault();
        try {
          await memory.correct(fact.id, input.value.trim());
          say("Corrected.");
        } catch (err) { say(`Could not save: ${describeError(err)}`, true); }
        await refresh();
      });
      text.replaceWith(form);
      actions.hidden = true;
      input.focus();
    });
    return li;
  }

  async function refresh() {
    try {
      const facts = await memory.list();
      $("facts").replaceChildren(...facts.map(factItem));
      if (!facts.length) $("facts").append(h("li", { class: "muted empty" }, "Nothing remembered yet."));
      $("facts").dataset.count = String(facts.length);
    } catch (e) {
      say(`Could not read the memory: ${describeError(e)}`, true);
    }
  }

  $("remember-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("remember-text").value.trim();
    if (!text) return;
    try {
      const fact = await memory.remember(text);
      $("remember-text").value = "";
      say(`Remembered as a ${fact.kind}.`);
    } catch (err) { say(`Could not remember: ${describeError(err)}`, true); }
    await refresh();
  });

  $("memory-export").addEventListener("click", async () => {
    try {
      const doc = await memory.export();
      const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" }));
      const a = h("a", { href: url, download: `recagent-memory-${new Date().toISOString().slice(0, 10)}.json` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      const count = (n, what) => `${n} ${what}${n === 1 ? "" : "s"}`;
      say(`Exported ${count(doc.semantic.length, "fact")}, ${count(doc.episodic.length, "episode")} and ` +
        `${count(doc.items?.length ?? 0, "item")} of yours.`);
    } catch (err) { say(`Could not export: ${describeError(err)}`, true); }
  });

  const confirmBox = $("forget-confirm");
  $("forget-all").addEventListener("click", () => { confirmBox.hidden = false; $("forget-no").focus(); });
  $("forget-no").addEventListener("click", () => { confirmBox.hidden = true; $("forget-all").focus(); });
  confirmBox.addEventListener("keydown", (e) => { if (e.key === "Escape") $("forget-no").click(); });
  $("forget-yes").addEventListener("click", async () => {
    confirmBox.hidden = true;
    try {
      await memory.forgetEverything();
      await rec.resetProfile();
      await rec.saveProfile();
      for (const key of [KEYS.feedback, KEYS.statements, KEYS.watchlist]) localStorage.removeItem(key);
      await app.onForgotten();
      say("Everything is forgotten: memory, profile, ratings, statements, watchlist and your items.");
    } catch (err) { say(`Could not forget everything: ${describeError(err)}`, true); }
    await refresh();
    $("forget-all").focus();
  });

  for (const id of ["remember-text", "remember", "memory-export", "forget-all"]) $(id).disabled = false;
  if (!memory.persistent) say(`Memory is kept for this page only: ${memory.fallbackReason ?? "IndexedDB is unavailable"}.`);
  await refresh();
  return { refresh };
}
