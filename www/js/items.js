// Your items: add an item of your own (title, optional description, genres,
// year and photo) to the catalog on this device — rec.addItem embeds it with
// the text model and, for the photo, the image model, and stores it in
// IndexedDB — remove it, and search the catalog by photo
// (rec.searchByPhoto). The image model (MobileNetV2) loads on first use via
// rec.loadImageModel. Photos are shown from blob: URLs of the stored bytes.
import { $, h, describeError, formatBytes } from "./dom.js";

const MODEL_URL = "./assets/mobilenetv2-embedding.onnx";

/** Blob URLs of the added items' photos, by id (shared with the browse cards). */
const urls = new Map();

/** The URL of an added item's photo, or null (read once from the store). */
export async function photoUrl(rec, id) {
  if (urls.has(id)) return urls.get(id);
  const bytes = await rec.itemPhoto(id).catch(() => undefined);
  const url = bytes ? URL.createObjectURL(new Blob([bytes])) : null;
  urls.set(id, url);
  return url;
}

/** An <img> for an added item's photo, filled in when the bytes are read (null without one). */
export function thumbnail(rec, record, className = "thumb") {
  if (!record?.userAdded || !record.hasPhoto) return null;
  const img = h("img", { class: className, alt: `Photo of ${record.title}` });
  photoUrl(rec, record.id).then((url) => { if (url) img.src = url; });
  return img;
}

function forgetUrl(id) {
  const url = urls.get(id);
  if (url) URL.revokeObjectURL(url);
  urls.delete(id);
}

/** Wires the "Your items" section; returns `{ refresh, forgotten }`. */
export async function setupItems(app, browse) {
  const { rec } = app;
  const { tagAttr, yearAttr } = browse.catalog;
  const say = (text, isError = false) => {
    $("item-status").textContent = text;
    $("item-status").classList.toggle("error", isError);
  };
  let loading = null;

  /** Loads the image model once (downloaded with progress, then kept in the Cache API). */
  function imageModel() {
    if (rec.hasImageModel) return Promise.resolve();
    loading ??= rec.loadImageModel(MODEL_URL, {
      onProgress: ({ loaded, total }) =>
        say(`Loading the image model… ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ""}`),
    }).catch((e) => { loading = null; throw e; });
    return loading;
  }

  const bytesOf = async (file) => new Uint8Array(await file.arrayBuffer());

  async function renderList() {
    const items = await rec.addedItems();
    $("item-list").replaceChildren(...items.map((it) =>
      h("li", { dataset: { id: it.id } },
        thumbnail(rec, it) ?? h("span", { class: "no-photo", "aria-hidden": "true" }, "no photo"),
        h("span", { class: "item-title" }, it.title),
        h("button", { type: "button", class: "ghost remove", "aria-label": `Remove ${it.title}`, onclick: () => remove(it) }, "Remove"))));
    $("item-list").dataset.count = String(items.length);
    $("items-empty").hidden = items.length > 0;
  }

  async function remove(it) {
    try {
      await rec.removeItem(it.id);
      forgetUrl(it.id);
      say(`Removed “${it.title}” from the catalog and from this browser.`);
    } catch (e) {
      say(`Could not remove it: ${describeError(e)}`, true);
    }
    await renderList();
    $("photo-results").replaceChildren();
    await app.onProfileChanged();
  }

  // The photo of the form: the file input, or a photo dropped on its zone.
  const preview = $("item-preview");
  function showPreview() {
    const file = $("item-photo").files[0];
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.hidden = !file;
    if (file) preview.src = URL.createObjectURL(file);
    else preview.removeAttribute("src");
  }
  $("item-photo").addEventListener("change", showPreview);

  $("item-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const title = $("item-title").value.trim();
    if (!title) { say("Give your item a title.", true); $("item-title").focus(); return; }
    const file = $("item-photo").files[0];
    const genres = $("item-genres").value.split(",").map((g) => g.trim()).filter(Boolean);
    const year = $("item-year").valueAsNumber;
    const attributes = {
      ...(tagAttr && genres.length && { [tagAttr]: genres }),
      ...(yearAttr && Number.isFinite(year) && { [yearAttr]: year }),
    };
    const text = $("item-text").value.trim();
    $("item-add").disabled = true;
    try {
      if (file) await imageModel();
      say(`Adding “${title}”…`);
      const t0 = performance.now();
      const item = await rec.addItem({
        id: `mine-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`,
        title,
        ...(text && { text }),
        ...(Object.keys(attributes).length && { attributes }),
        ...(file && { photo: await bytesOf(file) }),
      });
      const ms = Math.round(performance.now() - t0);
      $("item-form").reset();
      showPreview();
      say(`Added “${item.title}” in ${ms} ms: embedded on this device${item.hasPhoto ? " (text and photo)" : ""} and kept in this browser.`);
      await renderList();
      await app.onProfileChanged();
    } catch (err) {
      say(`Could not add it: ${describeError(err)}`, true);
    } finally {
      $("item-add").disabled = false;
    }
  });

  async function searchByPhoto(file) {
    if (!file) return;
    try {
      await imageModel();
      const t0 = performance.now();
      const list = await rec.searchByPhoto(await bytesOf(file), { k: 8 });
      const ms = Math.round(performance.now() - t0);
      const records = await Promise.all(list.map((r) => rec.item(r.id)));
      $("photo-results").replaceChildren(...list.map((r, i) => {
        const record = records[i];
        const similar = Math.round(100 * (r.explanation.photoSimilarity ?? 0));
        return h("li", { dataset: { id: r.id } },
          thumbnail(rec, record),
          h("span", { class: "item-title" }, r.title),
          h("span", { class: "similar" }, `${similar} % similar`));
      }));
      say(list.length
        ? `Closest to ${file.name}: ${list[0].title} (searched the catalog's photos on this device in ${ms} ms).`
        : "No item in the catalog has a photo yet: add one first.");
    } catch (err) {
      say(`Could not search: ${describeError(err)}`, true);
    }
  }
  $("photo-query").addEventListener("change", () => searchByPhoto($("photo-query").files[0]));

  // Drag and drop: onto the form's photo field, or onto the search field.
  for (const [zone, onFile] of [
    ["item-drop", (files) => { $("item-photo").files = files; showPreview(); }],
    ["photo-drop", (files) => searchByPhoto(files[0])],
  ]) {
    const el = $(zone);
    el.addEventListener("dragover", (e) => { e.preventDefault(); el.classList.add("over"); });
    el.addEventListener("dragleave", () => el.classList.remove("over"));
    el.addEventListener("drop", (e) => {
      e.preventDefault();
      el.classList.remove("over");
      const files = e.dataTransfer?.files;
      if (files?.length && /^image\/(png|jpeg)$/.test(files[0].type)) onFile(files);
      else say("Drop a PNG or JPEG photo.", true);
    });
  }

  for (const id of ["item-title", "item-text", "item-genres", "item-year", "item-photo", "item-add", "photo-query"]) {
    $(id).disabled = false;
  }
  if (!tagAttr) $("item-genres").disabled = true;
  if (!yearAttr) $("item-year").disabled = true;
  await renderList();
  return {
    refresh: renderList,
    /** After "Forget everything" (the library removed the items): drop the page's copies. */
    async forgotten() {
      for (const id of [...urls.keys()]) forgetUrl(id);
      $("photo-results").replaceChildren();
      await renderList();
    },
  };
}
