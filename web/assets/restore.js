// The restoration panel: a pretrained U-Net (the shipped one, or the visitor's own weights)
// restores a damaged copy of the image, and its embedding finds the most similar sample. The
// models live in a worker (models.js).
import { GrayImage } from "../genesis-web.js";
import { figure } from "./draw.js";

const $ = (id) => document.getElementById(id);

/** `+1.2` or `-0.3`. */
export const signed = (v) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}`;

/** Captions of a restoration's three images. */
export function captions(result, name) {
  return [`${result.damage} · PSNR ${result.inputPsnr.toFixed(1)} dB`,
    `PSNR ${result.psnr.toFixed(1)} dB (${signed(result.psnr - result.inputPsnr)} dB) · MSE ${result.mse.toExponential(2)}`,
    name];
}

export const TITLES = ["Damaged input", "Restoration", "Original"];

/** What the worker needs of a GrayImage: its size and pixels (a copy that outlives it). */
const pixelsOf = (image) => ({ width: image.width, height: image.height, pixels: image.pixels() });

export class RestorePanel {
  constructor(models) {
    this.models = models;
    this.image = null;
    this.seed = 0;
    this.busy = Promise.resolve();
    models.addEventListener("model", (e) => {
      if (e.detail.dims !== 2) return;
      this.indexed = this.indexSamples();
      this.run();
    });
    $("restore-button").addEventListener("click", () => { this.seed += 1; this.run(); });
  }

  /** Embeds the built-in samples so a dropped image can be matched to its nearest one. */
  async indexSamples() {
    const samples = [];
    for (const button of document.querySelectorAll("[data-sample]")) {
      const bytes = new Uint8Array(await (await fetch(button.dataset.sample)).arrayBuffer());
      const image = GrayImage.decode(button.dataset.sample, bytes, 224);
      samples.push({ name: button.textContent, embedding: await this.embed(pixelsOf(image)) });
      image.free();
    }
    for (let i = 0; i < 3; i++) {
      const image = GrayImage.phantom(BigInt(100 + i), 224);
      samples.push({ name: `phantom #${100 + i}`, embedding: await this.embed(pixelsOf(image)) });
      image.free();
    }
    return samples;
  }

  /** The embedding of `image` (`{ width, height, pixels }`), computed in the worker. */
  async embed(image) {
    return (await this.models.call("embed", image)).embedding;
  }

  setImage(image, name) {
    this.image = pixelsOf(image);
    this.name = name;
    this.run();
  }

  run() {
    this.busy = this.busy.then(() => this.restore()).catch((err) => {
      $("restore-status").textContent = `Restoration failed: ${err.message ?? err}`;
    });
  }

  async restore() {
    const model = this.models.get(2);
    if (!model || !this.image) return;
    const result = await this.models.call("restore", { ...this.image, seed: this.seed });
    const texts = captions(result, this.name);
    $("restore-view").replaceChildren(...TITLES.map((t, i) =>
      figure(result.width, result.height, result.images[i], t, texts[i])));
    $("restore-status").textContent =
      `Restored in ${result.ms.toFixed(0)} ms on ${model.backend} by ${model.name}: ${model.summary} (draw ${this.seed}).`;
    const embedding = await this.embed(this.image);
    const ranked = (await this.indexed)
      .map((s) => ({ name: s.name, d: Math.hypot(...s.embedding.map((v, i) => v - embedding[i])) }))
      .sort((a, b) => a.d - b.d);
    $("restore-neighbours").textContent =
      `Nearest by embedding: ${ranked.slice(0, 3).map((r) => `${r.name} (${r.d.toFixed(3)})`).join(", ")}`;
  }
}
