// Browse: personalized recommendations with explanations, like / dislike /
// 1–5 rating per film (observe, then saveProfile and re-rank), a text search
// with genre and year filters, and the profile (ratings and statements).
// Items the user added (items.js) are ranked like the films, with their photo.
import { $, h, loadJson, saveJson, describeError, displayTitle, KEYS } from "./dom.js";
import { thumbnail } from "./items.js";

const PAGE_SIZE = 12;
const VERDICT = { like: "liked", dislike: "not for me" };

/**
 * Reads every item once (ids, titles, tags, years) through `recommend` with
 * `includeSeen`, 1000 at a time: the genre list and the year range of the filters.
 */
async function scanCatalog(rec) {
  const attrs = rec.attributes;
  // The genre tags and the year: by name first (ML-100K: `class`, `release_year`), else by kind.
  const named = (re, kinds) => attrs.find((a) => re.test(a.name) && kinds.includes(a.kind))?.name;
  const tagAttr = named(/class|genre|categor/i, ["tags", "text"]) ?? attrs.find((a) => a.kind === "tags" && !/title|name/i.test(a.name))?.name;
  const yearAttr = named(/year|date/i, ["number", "text", "tags"]);
  const items = new Map();
  for (;;) {
    const batch = await rec.recommend({ k: 1000, filters: { includeSeen: true, excludeIds: [...items.keys()] } });
    const records = await Promise.all(batch.map((r) => rec.item(r.id)));
    for (const [i, r] of batch.entries()) {
      const record = records[i];
      const tags = tagAttr ? record?.attributes?.[tagAttr] : null;
      const year = Number.parseInt(String(yearAttr ? record?.attributes?.[yearAttr] ?? "" : ""), 10);
      items.set(r.id, { title: r.title, tags: Array.isArray(tags) ? tags : typeof tags === "string" ? [tags] : [],
        year: Number.isFinite(year) ? year : null });
    }
    if (batch.length < 1000 || items.size >= rec.size) break;
  }
  const genres = [...new Set([...items.values()].flatMap((i) => i.tags))].sort();
  const years = [...items.values()].map((i) => i.year).filter((y) => y !== null);
  return { items, tagAttr: genres.length ? tagAttr : null, yearAttr: years.length ? yearAttr : null, genres,
    yearMin: years.length ? Math.min(...years) : null, yearMax: years.length ? Math.max(...years) : null };
}

/** Wires the browse column; returns `{ refresh, forgotten }`. */
export async function setupBrowse(app) {
  const { rec } = app;
  const catalog = await scanCatalog(rec);
  const feedback = loadJson(KEYS.feedback, {});     // id -> { verdict: "like"|"dislike"|number, title }
  const statements = loadJson(KEYS.statements, []); // RecordedStatement[]

  const genre = $("genre");
  for (const g of catalog.genres) genre.append(h("option", { value: g }, g));
  for (const id of ["year-min", "year-max"]) {
    if (catalog.yearAttr) Object.assign($(id), { min: catalog.yearMin, max: catalog.yearMax, placeholder: String(id === "year-min" ? catalog.yearMin : catalog.yearMax) });
  }
  const usable = ["query", "search", "clear-search", "statement", "statement-add",
    ...(catalog.tagAttr ? ["genre"] : []), ...(catalog.yearAttr ? ["year-min", "year-max"] : [])];
  for (const id of usable) $(id).disabled = false;

  /** The recommend options of the search form's current state. */
  function options() {
    const where = [];
    if (genre.value && catalog.tagAttr) where.push({ attribute: catalog.tagAttr, has: genre.value });
    const min = $("year-min").valueAsNumber, max = $("year-max").valueAsNumber;
    if (catalog.yearAttr && (Number.isFinite(min) || Number.isFinite(max))) {
      where.push({ attribute: catalog.yearAttr, ...(Number.isFinite(min) && { min }), ...(Number.isFinite(max) && { max }) });
    }
    const query = $("query").value.trim();
    return { k: PAGE_SIZE, ...(query && { query }), ...(where.length && { filters: { where } }) };
  }

  function caption(opts, count, ms) {
    const personal = Object.keys(feedback).length + statements.length > 0;
    const what = opts.query ? `Results for “${opts.query}”` : personal ? "Picked for you" : "Popular films — rate a few to personalize";
    const filters = opts.filters ? " (filtered)" : "";
    return `${what}${filters}: ${count} ${count === 1 ? "item" : "items"}, ranked on this device in ${ms} ms.`;
  }

  /** Records one event, saves the profile, re-ranks. */
  async function feedbackOn(item, verdict) {
    try {
      if (typeof verdict === "number") await rec.observe({ item: item.id, type: "rating", value: verdict });
      else await rec.observe({ item: item.id, type: verdict });
      feedback[item.id] = { verdict, title: item.title };
      saveJson(KEYS.feedback, feedback);
      await rec.saveProfile();
      app.status(`${typeof verdict === "number" ? `Rated ${verdict}/5` : VERDICT[verdict]}: ${item.title}. Profile saved on this device.`);
    } catch (e) {
      app.status(`Could not record that: ${describeError(e)}`, true);
    }
    await refresh();
  }

  /** Year and tags of an item: scanned at start, or read now (an item added since). */
  async function metaOf(id) {
    const known = catalog.items.get(id);
    if (known) return { ...known, record: null };
    const record = await rec.item(id);
    const tags = catalog.tagAttr ? record?.attributes?.[catalog.tagAttr] : null;
    const year = Number.parseInt(String(catalog.yearAttr ? record?.attributes?.[catalog.yearAttr] ?? "" : ""), 10);
    return { tags: Array.isArray(tags) ? tags : typeof tags === "string" ? [tags] : [],
      year: Number.isFinite(year) ? year : null, record };
  }

  async function card(r) {
    const meta = await metaOf(r.id);
    const because = r.explanation.because.map((b) => displayTitle(b.title));
    const rating = h("select", { "aria-label": `Rate ${r.title}`, class: "rate" },
      h("option", { value: "" }, "Rate…"),
      [1, 2, 3, 4, 5].map((n) => h("option", { value: n }, `${"★".repeat(n)} ${n}`)));
    rating.addEventListener("change", () => rating.value && feedbackOn(r, Number(rating.value)));
    const mine = meta.record?.userAdded;
    return h("li", { class: mine ? "rec mine" : "rec", dataset: { id: r.id } },
      thumbnail(rec, meta.record, "rec-thumb"),
      h("div", { class: "rec-head" },
        h("h3", { class: "rec-title" }, r.title),
        mine ? h("span", { class: "badge" }, "your item") : null,
        h("span", { class: "score", title: "relevance score" }, r.score.toFixed(2))),
      h("p", { class: "rec-meta" }, [meta?.year, meta?.tags.join(", ")].filter(Boolean).join(" · ")),
      h("p", { class: "why" }, r.explanation.summary),
      // the titles behind the score, unless the summary already names them all
      because.length && !because.every((t) => r.explanation.summary.includes(t))
        ? h("p", { class: "because" }, `Based on ${because.join(", ")}`) : null,
      h("div", { class: "rec-actions" },
        h("button", { type: "button", class: "like", "aria-label": `Like ${r.title}`, onclick: () => feedbackOn(r, "like") }, "Like"),
        h("button", { type: "button", class: "dislike ghost", "aria-label": `Dislike ${r.title}`, onclick: () => feedbackOn(r, "dislike") }, "Not for me"),
        rating));
  }

  function renderProfile() {
    const fb = Object.entries(feedback);
    $("feedback-list").replaceChildren(...fb.map(([id, f]) =>
      h("li", { dataset: { id } }, `${f.title} — ${typeof f.verdict === "number" ? `${f.verdict}/5` : VERDICT[f.verdict]}`)));
    $("statement-list").replaceChildren(...statements.map((s) => h("li", { class: `stmt ${s.type}` },
      s.type === "exclude" ? `never ${s.value} (“${s.source}”)` : `${s.type === "avoid" ? "avoid" : "prefer"}: ${s.text}`)));
    $("profile-empty").hidden = fb.length + statements.length > 0;
  }

  /** Re-ranks with the current profile and search, and redraws. */
  let refreshing = 0; // the latest refresh: an earlier one still in flight does not draw over it
  async function refresh() {
    const seq = ++refreshing;
    renderProfile();
    const opts = options();
    const t0 = performance.now();
    let list;
    try {
      list = await rec.recommend(opts);
    } catch (e) {
      if (seq === refreshing) $("rec-caption").textContent = `Could not rank: ${describeError(e)}`;
      return;
    }
    const ms = Math.round(performance.now() - t0);
    const cards = await Promise.all(list.map(card));
    if (seq !== refreshing) return;
    $("recs").replaceChildren(...cards);
    $("rec-caption").textContent = caption(opts, list.length, ms);
    $("recs").dataset.version = String(Number($("recs").dataset.version ?? 0) + 1);
  }

  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  genre.addEventListener("change", refresh);
  $("clear-search").addEventListener("click", () => {
    $("search-form").reset();
    refresh();
  });
  $("statement-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("statement").value.trim();
    if (!text) return;
    try {
      const recorded = await rec.observe({ type: "statement", text });
      if (recorded) statements.push(recorded);
      saveJson(KEYS.statements, statements);
      await rec.saveProfile();
      $("statement").value = "";
      app.status(recorded?.type === "exclude" ? `Got it: no ${recorded.value}.` : `Noted: “${text}”.`);
    } catch (e) {
      app.status(`Could not record that: ${describeError(e)}`, true);
    }
    await refresh();
  });

  await refresh();
  return {
    refresh,
    /** The attributes the filters use (`tagAttr`, `yearAttr`) and the genres. */
    catalog: { tagAttr: catalog.tagAttr, yearAttr: catalog.yearAttr, genres: catalog.genres },
    /** After "Forget everything": the page's copies of the profile go too. */
    async forgotten() {
      for (const k of Object.keys(feedback)) delete feedback[k];
      statements.length = 0;
      await refresh();
    },
  };
}
