// The transforms panel: the image, each transform alone and pipeline samples.
import { transformGallery } from "../genesis-web.js";
import { drawImage, figure } from "./draw.js";

/** Renders the gallery of `image` for `preset` and `seed` into `container`. A redraw with the
 * same tiles (a new seed) repaints the existing canvases: creating canvases costs more than
 * computing the transforms. */
export function renderGallery(container, image, preset, seed) {
  const gallery = transformGallery(image, preset, BigInt(seed));
  const kinds = Array.from({ length: gallery.length }, (_, i) => gallery.kind(i));
  const shown = [...container.children];
  if (shown.length === kinds.length && shown.every((fig, i) => fig.dataset.kind === kinds[i])) {
    shown.forEach((fig, i) => repaint(fig, gallery, i));
  } else {
    container.replaceChildren(...kinds.map((kind, i) => {
      const fig = figure(gallery.width, gallery.height, gallery.rgba(i), gallery.title(i), gallery.params(i));
      fig.dataset.kind = kind;
      return fig;
    }));
  }
  gallery.free();
}

/** Redraws tile `i` of `gallery` into the existing figure `fig`. */
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
