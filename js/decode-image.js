// The browser's own PNG/JPEG decoders for the wasm module: photos given to
// addItem, searchByPhoto or ImageEmbedder.embedEncoded are decoded here
// (src/image_decoder.rs), so the module carries no image decoder. The Rust
// side has already read the header and checked the size against the limits.

/**
 * Decodes `bytes` (a PNG or JPEG, of MIME type `mime`) to RGBA pixels, with
 * the file's own colours (no colour-profile or gamma conversion) and alpha
 * not premultiplied, as the reference pipeline (Pillow) sees them.
 * Resolves to an `ImageData`; rejects when the browser cannot decode them.
 */
export async function decodeImage(bytes, mime) {
  const blob = new Blob([bytes], { type: mime });
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  try {
    const { width, height } = bitmap;
    const canvas =
      typeof OffscreenCanvas === "function"
        ? new OffscreenCanvas(width, height)
        : Object.assign(document.createElement("canvas"), { width, height });
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    return context.getImageData(0, 0, width, height);
  } finally {
    bitmap.close();
  }
}
