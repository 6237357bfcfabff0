// The transforms panel: the image, each transform alone and pipeline samples.
import { transformGallery } from "../genesis-web.js";
import { figure } from "./draw.js";

/** Renders the gallery of `image` for `preset` and `seed` into `container`. */
export function renderGallery(container, image, preset, seed) {
  const gallery = transformGallery(image, preset, BigInt(seed));
  const figures = [];
  for (let i = 0; i < gallery.length; i++) {
    const fig = figure(gallery.width, gallery.height, gallery.rgba(i), gallery.title(i), gallery.params(i));
    fig.dataset.kind = gallery.kind(i);
    figures.push(fig);
  }
  container.replaceChildren(...figures);
  gallery.free();
}
