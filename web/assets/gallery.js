// The transforms panel: the image, each transform alone and pipeline samples.
import { transformGallery } from "../genesis-web.js";
import { drawImage, figure } from "./draw.js";

/** Renders the gallery of `image` for `preset` and `seed` into `container`. A redraw with the
 * same tiles (a new seed) repaints the existing canvases: creating canvases costs more than
 * computing the transforms. */
export function renderGallery(container, image, preset, seed) {
  const gallery = transformGallery(image, preset, BigInt(seed));
  const kinds = Array.from({ length: gallery.length }, (_, i) => gallery.kind(i));
  const old = [...container.children];
  const reuse = old.length === kinds.length && old.every((fig, i) => fig.dataset.kind === kinds[i]);
  for (let i = 0; i < gallery.length; i++) {
    if (reuse) {
      repaint(old[i], gallery, i);
    } else {
      old[i] = figure(gallery.width, gallery.height, gallery.rgba(i), gallery.title(i), gallery.params(i));
      old[i].dataset.kind = kinds[i];
    }
  }
  if (!reuse) container.replaceChildren(...old.slice(0, kinds.length));
  gallery.free();
}

function repaint(fig, gallery, i) {
  drawImage(fig.querySelector("canvas"), gallery.width, gallery.height, gallery.rgba(i));
  fig.querySelector("canvas").setAttribute("aria-label", gallery.title(i));
  fig.querySelector("strong").textContent = gallery.title(i);
  const params = gallery.params(i);
  let small = fig.querySelector("small");
  if (params && !small) {
    small = document.createElement("small");
    fig.querySelector("figcaption").append(small);
  }
  if (small) small.textContent = params;
}
