// Small DOM helpers shared by the demo's modules. Everything is built with
// createElement/textContent (never innerHTML): titles and model text are data.

/** The element with this id (throws when the page lacks it: a bug in the page). */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

/**
 * Creates an element: `h("button", { class: "x", onclick: f, "aria-label": "y" }, "text", child)`.
 * Keys starting with "on" become listeners; `dataset` is an object; `null`/`false`
 * attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Reads a JSON value from localStorage, `fallback` when absent or unreadable. */
export function loadJson(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

/** Writes a JSON value to localStorage (best effort: a full quota is not fatal for the demo). */
export function saveJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch (e) {
    console.warn(`could not store ${key}: ${e}`);
  }
}

/** A short human description of an error (RecagentError code first). */
export function describeError(e) {
  if (e && typeof e === "object" && "code" in e) return `${e.code}: ${e.message}`;
  return String(e?.message ?? e);
}

/** "12.3 kB" style sizes. */
/** A title as people write it: RecBole's "Godfather: Part II, The (1974)" → "The Godfather: Part II (1974)". */
export function displayTitle(title) {
  const m = /^(.*), (The|A|An|Les|La|Le|L'|Il|El|Das|Der|Die)( \(\d{4}\))?$/.exec(String(title).trim());
  return m ? `${m[2]}${m[2].endsWith("'") ? "" : " "}${m[1]}${m[3] ?? ""}` : String(title);
}

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The demo's localStorage keys (all cleared by "Forget everything"). */
export const KEYS = {
  feedback: "recagent-demo:feedback",
  statements: "recagent-demo:statements",
  watchlist: "recagent-demo:watchlist",
  settings: "recagent-demo:settings",
  policy: "recagent-demo:policy",
};
