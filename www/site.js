// Live widgets of the static site (landing hero and tutorial): the real wasm engine of the
// demo transforms a sample radiograph in the visitor's browser.
import init, { GrayImage, transformGallery } from "./demo/genesis-web.js";
import { drawImage as draw } from "./demo/assets/draw.js";

const SAMPLE = "demo/assets/samples/00000001_000.png";
const SIZE = 224;

/** The tile of `kind` from a gallery of `image` drawn with `seed`. */
function tile(image, preset, kind, seed) {
  const gallery = transformGallery(image, preset, BigInt(seed));
  try {
    for (let i = 0; i < gallery.length; i++) {
      if (gallery.kind(i) === kind) {
        return { rgba: gallery.rgba(i), params: gallery.params(i), width: gallery.width, height: gallery.height };
      }
    }
    throw new Error(`no ${kind} tile`);
  } finally {
    gallery.free();
  }
}

/** A widget: one transform on the sample, redrawn by its "New draw" button. */
function transformWidget(el, image) {
  const kind = el.dataset.kind;
  const preset = el.dataset.preset ?? "models-genesis";
  const canvas = document.createElement("canvas");
  canvas.setAttribute("aria-label", `${kind} applied to a sample radiograph`);
  const params = document.createElement("p");
  params.className = "widget-params";
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "New draw";
  let seed = 1;
  const render = () => {
    const t = tile(image, preset, kind, seed);
    draw(canvas, t.width, t.height, t.rgba);
    params.textContent = `seed ${seed}: ${t.params}`;
    el.dataset.rendered = "true";
  };
  button.addEventListener("click", () => { seed += 1; render(); });
  el.replaceChildren(canvas, params, button);
  render();
}

/** The landing page's hero: the sample cycling through the transforms. */
function hero(el, image) {
  const canvas = document.createElement("canvas");
  canvas.setAttribute("aria-label", "A sample radiograph going through the Genesis transforms");
  const caption = document.createElement("p");
  caption.className = "widget-params";
  el.replaceChildren(canvas, caption);
  const kinds = ["original", "bezier", "shuffle", "inpaint", "outpaint", "elastic"];
  const names = { original: "original", bezier: "non-linear intensity", shuffle: "local pixel shuffling",
    inpaint: "in-painting", outpaint: "out-painting", elastic: "elastic warp (Semantic Genesis)" };
  let step = 0;
  const next = () => {
    const kind = kinds[step % kinds.length];
    const t = tile(image, "semantic-genesis", kind, Math.floor(step / kinds.length) + 1);
    draw(canvas, t.width, t.height, t.rgba);
    caption.textContent = names[kind];
    el.dataset.rendered = "true";
    step += 1;
  };
  next();
  setInterval(next, 1600);
}

async function main() {
  const widgets = document.querySelectorAll("[data-widget]");
  if (!widgets.length) return;
  try {
    await init({ module_or_path: "demo/genesis-web_bg.wasm" });
    const bytes = new Uint8Array(await (await fetch(SAMPLE)).arrayBuffer());
    const image = GrayImage.decode("00000001_000.png", bytes, SIZE);
    for (const el of widgets) {
      if (el.dataset.widget === "hero") hero(el, image);
      else transformWidget(el, image);
    }
  } catch (err) {
    for (const el of widgets) el.textContent = `The live widget could not start: ${err}`;
  }
}

main();
