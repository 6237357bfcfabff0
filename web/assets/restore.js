// The restoration panel: the shipped pretrained U-Net restores a damaged copy of the image,
// and its embedding finds the most similar sample.
import { GrayImage, Restorer } from "../genesis-web.js";
import { figure } from "./draw.js";

const $ = (id) => document.getElementById(id);
const WEIGHTS = "assets/model/restorer.bpk";

/** `+1.2` or `-0.3`. */
const signed = (v) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}`;

export class RestorePanel {
  constructor(preference) {
    this.image = null;
    this.seed = 0;
    this.busy = Promise.resolve();
    this.ready = this.load(preference);
    $("restore-button").addEventListener("click", () => { this.seed += 1; this.run(); });
  }

  async load(preference) {
    try {
      const response = await fetch(WEIGHTS);
      if (!response.ok) throw new Error(`${WEIGHTS}: HTTP ${response.status}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      this.restorer = await Restorer.create(preference, bytes);
      $("restore-status").textContent = `Model ready on ${this.restorer.backend}.`;
      await this.indexSamples();
    } catch (err) {
      $("restore-status").textContent = `The pretrained model could not be loaded: ${err.message ?? err}`;
    }
  }

  /** Embeds the built-in samples so a dropped image can be matched to its nearest one. */
  async indexSamples() {
    this.samples = [];
    for (const button of document.querySelectorAll("[data-sample]")) {
      const bytes = new Uint8Array(await (await fetch(button.dataset.sample)).arrayBuffer());
      const image = GrayImage.decode(button.dataset.sample, bytes, 224);
      this.samples.push({ name: button.textContent, embedding: await this.restorer.embed(image) });
      image.free();
    }
    for (let i = 0; i < 3; i++) {
      const image = GrayImage.phantom(BigInt(100 + i), 224);
      this.samples.push({ name: `phantom #${100 + i}`, embedding: await this.restorer.embed(image) });
      image.free();
    }
  }

  setImage(image, name) {
    this.image = GrayImage.fromPixels(image.width, image.height, image.pixels());
    this.name = name;
    this.run();
  }

  run() {
    this.busy = this.busy.then(() => this.restore()).catch((err) => {
      $("restore-status").textContent = `Restoration failed: ${err.message ?? err}`;
    });
  }

  async restore() {
    await this.ready;
    if (!this.restorer || !this.image) return;
    const t0 = performance.now();
    const result = await this.restorer.restore(this.image, BigInt(this.seed));
    const ms = performance.now() - t0;
    const titles = ["Damaged input", "Restoration", "Original"];
    const captions = [`${result.damage} · PSNR ${result.inputPsnr.toFixed(1)} dB`,
      `PSNR ${result.psnr.toFixed(1)} dB (${signed(result.psnr - result.inputPsnr)} dB) · MSE ${result.mse.toExponential(2)}`,
      this.name];
    window.genesisRestoration = { inputPsnr: result.inputPsnr, psnr: result.psnr };
    $("restore-view").replaceChildren(
      ...titles.map((t, i) => figure(result.width, result.height, result.rgba(i), t, captions[i])));
    $("restore-status").textContent = `Restored in ${ms.toFixed(0)} ms on ${this.restorer.backend}.`;
    result.free();
    const embedding = await this.restorer.embed(this.image);
    const ranked = this.samples
      .map((s) => ({ name: s.name, d: Math.hypot(...s.embedding.map((v, i) => v - embedding[i])) }))
      .sort((a, b) => a.d - b.d);
    $("restore-neighbours").textContent =
      `Nearest by embedding: ${ranked.slice(0, 3).map((r) => `${r.name} (${r.d.toFixed(3)})`).join(", ")}`;
  }
}
