// Search by photo: photos the user adds (with a title) are embedded on the
// device by the image encoder (ImageEmbedder, MobileNetV2, loaded on first
// use) and a query photo finds the closest ones by cosine similarity. The
// photos live in this page only (the catalog has no images to search).
import { ImageEmbedder } from "../pkg/recagent.js";
import { $, h, describeError, formatBytes } from "./dom.js";

const MODEL_URL = "./assets/mobilenetv2-embedding.onnx";

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

/** Wires the photo section; returns `{ forgotten }`. */
export function setupPhotos() {
  const photos = []; // { title, url, embedding }
  let embedder = null;
  const say = (text, isError = false) => {
    $("photo-status").textContent = text;
    $("photo-status").classList.toggle("error", isError);
  };

  /** The image encoder, downloaded and created on first use. */
  async function encoder() {
    if (embedder) return embedder;
    const res = await fetch(MODEL_URL);
    if (!res.ok) throw new Error(`${MODEL_URL}: HTTP ${res.status}`);
    const total = Number(res.headers.get("content-length")) || 0;
    const reader = res.body.getReader();
    const chunks = [];
    let loaded = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      say(`Loading the image model… ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ""}`);
    }
    const bytes = new Uint8Array(loaded);
    let offset = 0;
    for (const c of chunks) { bytes.set(c, offset); offset += c.length; }
    embedder = await ImageEmbedder.create(bytes);
    return embedder;
  }

  async function embedFile(file) {
    const model = await encoder();
    return model.embedEncoded(new Uint8Array(await file.arrayBuffer()));
  }

  function tile(photo, caption) {
    return h("li", { dataset: { title: photo.title } },
      h("img", { src: photo.url, alt: photo.title }), h("span", {}, caption));
  }

  function renderGallery() {
    $("photo-gallery").replaceChildren(...photos.map((p) => tile(p, p.title)));
  }

  $("photo-add-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("photo-file").files[0];
    const title = $("photo-title").value.trim() || file?.name;
    if (!file) { say("Choose a photo first.", true); return; }
    $("photo-add").disabled = true;
    try {
      const embedding = await embedFile(file);
      photos.push({ title, url: URL.createObjectURL(file), embedding });
      renderGallery();
      $("photo-add-form").reset();
      say(`Added “${title}” (${embedding.length}-d image embedding, computed on this device).`);
    } catch (err) {
      say(`Could not add the photo: ${describeError(err)}`, true);
    } finally {
      $("photo-add").disabled = false;
    }
  });

  $("photo-query").addEventListener("change", async () => {
    const file = $("photo-query").files[0];
    if (!file) return;
    if (!photos.length) { say("Add a few photos first, then search among them.", true); return; }
    try {
      const query = await embedFile(file);
      const ranked = photos.map((p) => ({ p, score: cosine(query, p.embedding) })).sort((a, b) => b.score - a.score);
      $("photo-results").replaceChildren(...ranked.map(({ p, score }) => tile(p, `${p.title} · ${score.toFixed(3)}`)));
      say(`Closest to ${file.name}: ${ranked[0].p.title}.`);
    } catch (err) {
      say(`Could not search: ${describeError(err)}`, true);
    }
  });

  return {
    forgotten() {
      for (const p of photos) URL.revokeObjectURL(p.url);
      photos.length = 0;
      renderGallery();
      $("photo-results").replaceChildren();
    },
  };
}
